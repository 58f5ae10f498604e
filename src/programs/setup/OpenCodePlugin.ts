/**
 * The OpenCode plugin setup writes (OpenCode has no command hooks; its plugins are JS modules
 * loaded from ~/.config/opencode/plugin/). It forwards OpenCode's events to `repowire hook`,
 * adds the session-start intro to the system prompt, reports the last answer of a turn, and on
 * session.idle prompts the session with waiting messages, like a blocking Stop hook: they are
 * confirmed delivered only once OpenCode ran a turn on that prompt.
 */
export const openCodePlugin = (command: ReadonlyArray<string>) =>
  `// repowire OpenCode plugin: added by \`repowire setup\`, removed by \`repowire uninstall\`.
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
  (parts ?? []).filter((p) => p && p.type === "text" && typeof p.text === "string" && !p.synthetic).map((p) => p.text).join("\\n")

/** The newest assistant message of the session's last turn that has text: its id and text. */
const lastAnswer = async (client, sessionID) => {
  try {
    const res = await client.session.messages({ path: { id: sessionID } })
    const all = Array.isArray(res && res.data) ? res.data : []
    for (let i = all.length - 1; i >= 0; i--) {
      const info = all[i] && all[i].info
      if (!info || info.role === "user") break
      const text = textOf(all[i].parts)
      if (info.role === "assistant" && text.trim() !== "") return { id: info.id, text }
    }
  } catch {
    // no answer to report
  }
  return undefined
}

/** The id of the session's newest assistant message, if any. */
const lastAssistantId = async (client, sessionID) => {
  try {
    const res = await client.session.messages({ path: { id: sessionID } })
    const all = Array.isArray(res && res.data) ? res.data : []
    for (let i = all.length - 1; i >= 0; i--) if (all[i] && all[i].info && all[i].info.role === "assistant") return all[i].info.id
  } catch {
    // none
  }
  return undefined
}

export const RepowirePlugin = async ({ client, directory }) => {
  const started = await hook("session-start", { cwd: directory })
  // OpenCode drops a hook's context: the intro (mesh name, tools) joins the system prompt instead.
  const intro = started && started.hookSpecificOutput && started.hookSpecificOutput.additionalContext
  const reported = new Set() // assistant messages already reported
  const handOvers = new Set() // the texts of this plugin's own prompts
  const busy = new Set() // sessions with a hand-over prompt running
  const again = new Set() // sessions that went idle while it ran

  // Queued messages are only peeked by the hooks; they are delivered once the agent has them.
  const confirm = async (ids) => {
    if (Array.isArray(ids) && ids.length > 0) await hook("delivered", { cwd: directory, message_ids: ids })
  }

  const idle = async (sessionID) => {
    const answer = await lastAnswer(client, sessionID)
    const fresh = answer && !reported.has(answer.id) ? answer : undefined
    if (fresh) reported.add(fresh.id)
    const handing = busy.has(sessionID)
    // While its own hand-over runs, the plugin only reports (stop_hook_active): no second hand-over.
    const out = await hook("stop", {
      cwd: directory,
      stop_hook_active: handing,
      ...(fresh ? { last_assistant_message: fresh.text } : {})
    })
    if (handing) {
      again.add(sessionID)
      return
    }
    if (out.decision !== "block" || !out.reason) return
    const before = await lastAssistantId(client, sessionID)
    busy.add(sessionID)
    handOvers.add(out.reason)
    let ran = false
    try {
      const res = await client.session.prompt({ path: { id: sessionID }, body: { parts: [{ type: "text", text: out.reason }] } })
      const reply = res && !res.error && res.data && res.data.info
      // Accepted only when OpenCode ran a turn on it: a new assistant message without an error.
      // An \`opencode run\` that is exiting answers with the turn before, and the messages stay queued.
      ran = Boolean(reply && reply.role === "assistant" && !reply.error && reply.id !== before)
    } catch {
      ran = false
    } finally {
      busy.delete(sessionID)
      handOvers.delete(out.reason)
    }
    if (ran) await confirm(out.message_ids)
    if (again.delete(sessionID) && ran) await idle(sessionID)
  }

  return {
    event: async ({ event }) => {
      if (event.type === "session.idle") {
        const sessionID = event.properties && event.properties.sessionID
        if (sessionID) await idle(sessionID)
      } else if (event.type === "session.deleted") {
        await hook("session-end", { cwd: directory })
      }
    },
    "experimental.chat.system.transform": async (_input, output) => {
      if (intro && output && Array.isArray(output.system) && !output.system.some((s) => typeof s === "string" && s.includes(intro))) {
        output.system.push(intro)
      }
    },
    "chat.message": async (_input, output) => {
      const parts = output && output.parts
      const prompt = textOf(parts)
      if (!prompt || handOvers.has(prompt)) return
      const out = await hook("user-prompt-submit", { cwd: directory, prompt })
      const context = out && out.hookSpecificOutput && out.hookSpecificOutput.additionalContext
      const part = Array.isArray(parts) ? parts.find((p) => p && p.type === "text" && typeof p.text === "string" && !p.synthetic) : undefined
      if (context && part) {
        // Waiting messages join the prompt OpenCode is about to send: the agent has them.
        part.text = \`\${part.text}\\n\\n\${context}\`
        await confirm(out.message_ids)
      }
    },
    "tool.execute.after": async (input, output) => {
      // OpenCode 1.18 passes the call's arguments as input.args; output.metadata is the tool's result data.
      const args = (input && input.args) || (output && output.metadata) || {}
      await hook("post-tool-use", { cwd: directory, tool_name: input.tool, tool_input: args })
    }
  }
}
`
