/**
 * The OpenCode plugin setup writes (OpenCode has no command hooks; its plugins are JS modules
 * loaded from ~/.config/opencode/plugin/). It forwards OpenCode's events to `repowire hook`,
 * and on session.idle prompts the session with waiting messages, like a blocking Stop hook.
 */
export const openCodePlugin = (command: ReadonlyArray<string>) => `// repowire OpenCode plugin: added by \`repowire setup\`, removed by \`repowire uninstall\`.
import { spawn } from "node:child_process"

const COMMAND = ${JSON.stringify(command)}

const hook = (event, payload) =>
  new Promise((resolve) => {
    const child = spawn(COMMAND[0], [...COMMAND.slice(1), "hook", event, "--backend", "opencode"], {
      stdio: ["pipe", "pipe", "inherit"]
    })
    let out = ""
    child.stdout.on("data", (d) => (out += d))
    child.on("error", () => resolve({}))
    child.on("close", () => {
      try {
        resolve(JSON.parse(out || "{}"))
      } catch {
        resolve({})
      }
    })
    child.stdin.end(JSON.stringify(payload))
  })

const textOf = (parts) =>
  (parts ?? []).filter((p) => p && p.type === "text" && typeof p.text === "string").map((p) => p.text).join("\\n")

export const RepowirePlugin = async ({ client, directory }) => {
  await hook("session-start", { cwd: directory })
  return {
    event: async ({ event }) => {
      if (event.type === "session.idle") {
        const out = await hook("stop", { cwd: directory, stop_hook_active: false })
        const sessionID = event.properties && event.properties.sessionID
        if (out.decision === "block" && out.reason && sessionID) {
          await client.session.prompt({ path: { id: sessionID }, body: { parts: [{ type: "text", text: out.reason }] } })
        }
      } else if (event.type === "session.deleted") {
        await hook("session-end", { cwd: directory })
      }
    },
    "chat.message": async (_input, output) => {
      const prompt = textOf(output && output.parts)
      if (prompt) await hook("user-prompt-submit", { cwd: directory, prompt })
    },
    "tool.execute.after": async (input, output) => {
      // OpenCode 1.18 passes the call's arguments as input.args; output.metadata is the tool's result data.
      const args = (input && input.args) || (output && output.metadata) || {}
      await hook("post-tool-use", { cwd: directory, tool_name: input.tool, tool_input: args })
    }
  }
}
`
