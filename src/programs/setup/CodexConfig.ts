import { trustEntries } from "./CodexTrust.js"
import type { ManagedFile } from "./Integrations.js"
import { addBlock, checkToml, hasBlock, parseToml, removeBlock, removeTables, TomlParseError } from "./TomlBlock.js"

const tomlString = (s: string) => JSON.stringify(s)

/** What the MCP server needs from the session's environment: Codex starts it with a cleared one. */
export const CODEX_MCP_ENV_VARS = [
  "REPOWIRE_HOME",
  "REPOWIRE_DAEMON__HOST",
  "REPOWIRE_DAEMON__PORT",
  "REPOWIRE_DAEMON__AUTH_TOKEN",
  "REPOWIRE_PEER_NAME",
  "TMUX",
  "TMUX_PANE"
]

/**
 * ~/.codex/config.toml: `[mcp_servers.repowire]`, `[features] hooks = true`, and the trust of
 * each repowire hook in hooks.json (without it Codex skips them). A repowire table already in
 * the file (an older setup, upstream repowire) is replaced, so there is exactly one.
 */
export const codexConfigFile = (
  file: string,
  hooks: { readonly path: string; readonly commands: ReadonlyArray<string> },
  mcp: { readonly command: string; readonly args: ReadonlyArray<string> }
): ManagedFile => ({
  path: file,
  check: (text) => checkToml(file, text),
  add: (text, planned) => {
    parseToml(file, text)
    const trust = trustEntries(hooks.path, planned(hooks.path) ?? "", hooks.commands)
    const body = [
      "[mcp_servers.repowire]",
      `command = ${tomlString(mcp.command)}`,
      `args = [${mcp.args.map(tomlString).join(", ")}]`,
      `env_vars = [${CODEX_MCP_ENV_VARS.map(tomlString).join(", ")}]`,
      // The mesh tools only message peers: without this, `codex exec` (approval never) refuses every call.
      `default_tools_approval_mode = "approve"`,
      ...trust.flatMap((t) => ["", `[hooks.state.${tomlString(t.key)}]`, `trusted_hash = ${tomlString(t.hash)}`])
    ].join("\n")
    const base = removeTables(removeBlock(text), [
      ["mcp_servers", "repowire"],
      ...trust.map((t) => ["hooks", "state", t.key])
    ])
    const out = addBlock(base, body, "hooks = true")
    try {
      parseToml(file, out)
    } catch (e) {
      throw new TomlParseError(
        `${file}: setup would make it invalid TOML (${
          (e as Error).message.replace(/^.*is not valid TOML: /, "")
        }); left untouched`
      )
    }
    return out
  },
  remove: (text) => removeBlock(text),
  installed: hasBlock
})
