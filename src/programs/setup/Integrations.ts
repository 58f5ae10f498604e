import * as fs from "node:fs"
import * as path from "node:path"
import type { AgentBackend } from "../agent/Identity.js"
import { codexConfigFile } from "./CodexConfig.js"
import {
  addHooks,
  getEntry,
  hasHooks,
  type HookCommand,
  type Json,
  jsonEqual,
  parseJsonConfig,
  removeEntry,
  removeHooks,
  serializeJson,
  setEntry
} from "./JsonEdit.js"
import { openCodePlugin } from "./OpenCodePlugin.js"
import {
  foreignEntries,
  foreignHooks,
  stripForeignEntries,
  stripForeignHooks,
  upstreamPluginFiles
} from "./Upstream.js"

/** What another managed file will hold once the plan is applied (its current text when unchanged). */
export type PlannedText = (file: string) => string | null

/** One file setup manages: how to add its entries, remove them, and tell whether they are there. */
export interface ManagedFile {
  readonly path: string
  /** null: setup moves the file away (upstream's own file, kept in setup-state for uninstall). */
  readonly add: (text: string, planned: PlannedText) => string | null
  readonly remove: (text: string) => string
  readonly installed: (text: string) => boolean
  /** Checks the file can be edited; throws ConfigParseError / TomlParseError. */
  readonly check: (text: string) => void
  /** The whole file is setup's: created by add, deleted by remove. */
  readonly owned?: boolean
  /** Upstream's file: setup removes it, uninstall puts it back. */
  readonly displaced?: boolean
  /** Entries of another repowire (upstream, or an older setup) that add replaces. */
  readonly foreign?: (text: string) => ReadonlyArray<string>
}

export interface Integration {
  readonly backend: AgentBackend
  readonly label: string
  readonly binary: string
  readonly configDir: string
  readonly files: ReadonlyArray<ManagedFile>
  /** What works for this runtime, for status and the README. */
  readonly support: string
}

const shellQuote = (s: string) => (/^[A-Za-z0-9_./:=@%+-]+$/.test(s) ? s : `'${s.replace(/'/g, "'\\''")}'`)

const hookCommands = (
  command: ReadonlyArray<string>,
  backend: AgentBackend,
  events: ReadonlyArray<{ event: string; arg: string; timeout?: number; matcher?: string }>,
  extra: { readonly name?: string } = {}
): ReadonlyArray<HookCommand> =>
  events.map((e) => ({
    event: e.event,
    command: [...command, "hook", e.arg, "--backend", backend].map(shellQuote).join(" "),
    ...(e.timeout !== undefined ? { timeout: e.timeout } : {}),
    ...(e.matcher !== undefined ? { matcher: e.matcher } : {}),
    ...extra
  }))

const jsonFile = (
  file: string,
  edits: {
    readonly hooks?: ReadonlyArray<HookCommand>
    readonly entry?: { readonly section: string; readonly name: string; readonly value: Json }
  }
): ManagedFile => {
  const ours = (edits.hooks ?? []).map((h) => h.command)
  const foreign = (doc: ReturnType<typeof parseJsonConfig>): ReadonlyArray<string> => {
    const entry = edits.entry
    const current = entry ? getEntry(doc, entry.section, entry.name) : undefined
    return [
      ...foreignHooks(doc, ours),
      ...(entry ? foreignEntries(doc, entry.section) : []),
      ...(entry && current !== undefined && !jsonEqual(current, entry.value)
        ? [`${entry.section}.${entry.name}: ${JSON.stringify(current)}`]
        : [])
    ]
  }
  return {
    path: file,
    check: (text) => void parseJsonConfig(file, text),
    // Another repowire's hooks go first, so there is only ever one set.
    add: (text) => {
      let doc = stripForeignHooks(parseJsonConfig(file, text), ours)
      if (edits.hooks) doc = addHooks(doc, edits.hooks)
      if (edits.entry) {
        doc = stripForeignEntries(doc, edits.entry.section)
        doc = setEntry(doc, edits.entry.section, edits.entry.name, edits.entry.value)
      }
      return serializeJson(doc, text)
    },
    remove: (text) => {
      let doc = parseJsonConfig(file, text)
      if (edits.hooks) doc = removeHooks(doc, edits.hooks)
      if (edits.entry) doc = removeEntry(doc, edits.entry.section, edits.entry.name)
      return serializeJson(doc, text)
    },
    installed: (text) => {
      try {
        const doc = parseJsonConfig(file, text)
        return (!edits.hooks || hasHooks(doc, edits.hooks)) &&
          (!edits.entry || getEntry(doc, edits.entry.section, edits.entry.name) !== undefined) &&
          foreign(doc).length === 0
      } catch {
        return false
      }
    },
    foreign: (text) => {
      try {
        const doc = parseJsonConfig(file, text)
        return foreign(doc)
      } catch {
        return []
      }
    }
  }
}

/** Upstream's plugin file: moved away by setup, put back by uninstall. */
const displacedFile = (file: string): ManagedFile => ({
  path: file,
  displaced: true,
  check: () => undefined,
  add: () => null,
  remove: (text) => text,
  installed: () => false,
  foreign: () => [`${path.basename(file)} (upstream's OpenCode plugin)`]
})

const ownedFile = (file: string, content: string): ManagedFile => ({
  path: file,
  owned: true,
  check: () => undefined,
  add: () => content,
  remove: () => "",
  installed: (text) => text === content
})

export const integrations = (home: string, command: ReadonlyArray<string>): ReadonlyArray<Integration> => {
  const [bin, ...binArgs] = command
  const mcpArgs = (backend: AgentBackend) => [...binArgs, "mcp", "--backend", backend]
  const claudeDir = path.join(home, ".claude")
  const codexDir = path.join(home, ".codex")
  const geminiDir = path.join(home, ".gemini")
  const openCodeDir = path.join(home, ".config", "opencode")
  const codexHooksPath = path.join(codexDir, "hooks.json")
  const codexHooks = hookCommands(command, "codex", [
    { event: "SessionStart", arg: "session-start", timeout: 15 },
    { event: "UserPromptSubmit", arg: "user-prompt-submit", timeout: 5 },
    { event: "PostToolUse", arg: "post-tool-use", timeout: 5 },
    { event: "Stop", arg: "stop", timeout: 5 }
  ])
  return [
    {
      backend: "claude-code",
      label: "Claude Code",
      binary: "claude",
      configDir: claudeDir,
      support:
        "MCP tools; hooks SessionStart, UserPromptSubmit, PostToolUse, Stop (blocks with waiting messages), SessionEnd; tmux live delivery",
      files: [
        jsonFile(path.join(claudeDir, "settings.json"), {
          hooks: hookCommands(command, "claude-code", [
            { event: "SessionStart", arg: "session-start", timeout: 15 },
            { event: "UserPromptSubmit", arg: "user-prompt-submit", timeout: 5 },
            { event: "PostToolUse", arg: "post-tool-use", timeout: 5, matcher: "*" },
            { event: "Stop", arg: "stop", timeout: 5 },
            { event: "SessionEnd", arg: "session-end", timeout: 5 }
          ])
        }),
        jsonFile(path.join(home, ".claude.json"), {
          entry: {
            section: "mcpServers",
            name: "repowire",
            value: { type: "stdio", command: bin!, args: mcpArgs("claude-code") }
          }
        })
      ]
    },
    {
      backend: "codex",
      label: "Codex CLI",
      binary: "codex",
      configDir: codexDir,
      support:
        "MCP tools; hooks.json SessionStart, UserPromptSubmit, PostToolUse, Stop (blocks with waiting messages; [features] hooks and each hook's trust recorded in config.toml); no SessionEnd hook (peer goes offline by idle timeout); tmux live delivery",
      files: [
        jsonFile(codexHooksPath, { hooks: codexHooks }),
        codexConfigFile(path.join(codexDir, "config.toml"), {
          path: codexHooksPath,
          commands: codexHooks.map((h) => h.command)
        }, { command: bin!, args: mcpArgs("codex") })
      ]
    },
    {
      backend: "gemini",
      label: "Gemini CLI",
      binary: "gemini",
      configDir: geminiDir,
      support:
        "MCP tools; hooks SessionStart, BeforeAgent (prompt), AfterTool, AfterAgent (denies the turn end with waiting messages, so the agent acts on them), SessionEnd; tmux live delivery",
      files: [
        jsonFile(path.join(geminiDir, "settings.json"), {
          hooks: hookCommands(command, "gemini", [
            { event: "SessionStart", arg: "session-start", timeout: 15_000 },
            { event: "BeforeAgent", arg: "user-prompt-submit", timeout: 5000 },
            { event: "AfterTool", arg: "post-tool-use", timeout: 5000, matcher: ".*" },
            { event: "AfterAgent", arg: "stop", timeout: 5000 },
            { event: "SessionEnd", arg: "session-end", timeout: 5000 }
          ], { name: "repowire" }),
          entry: { section: "mcpServers", name: "repowire", value: { command: bin!, args: mcpArgs("gemini") } }
        })
      ]
    },
    {
      backend: "opencode",
      label: "OpenCode",
      binary: "opencode",
      configDir: openCodeDir,
      support:
        "MCP tools (opencode.json mcp); a plugin adds the mesh intro to the system prompt and forwards session start, chat messages, tool calls, session.idle (reports the answer, prompts the session with waiting messages and confirms them once that turn ran) and session.deleted; tmux live delivery",
      files: [
        jsonFile(path.join(openCodeDir, "opencode.json"), {
          entry: {
            section: "mcp",
            name: "repowire",
            value: { type: "local", command: [bin!, ...mcpArgs("opencode")], enabled: true }
          }
        }),
        ownedFile(path.join(openCodeDir, "plugin", "repowire.js"), openCodePlugin(command)),
        ...upstreamPluginFiles(home).map(displacedFile)
      ]
    }
  ]
}

const onPath = (binary: string, env: NodeJS.ProcessEnv) =>
  (env.PATH ?? "").split(path.delimiter).some((dir) => dir !== "" && fs.existsSync(path.join(dir, binary)))

/** Installed when its binary is on PATH or its config folder exists. */
export const detect = (integration: Integration, env: NodeJS.ProcessEnv = process.env) =>
  onPath(integration.binary, env) || fs.existsSync(integration.configDir)
