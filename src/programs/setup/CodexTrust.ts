import { createHash } from "node:crypto"

/**
 * Codex (0.13x+) runs a hooks.json hook only once the user trusted it: config.toml holds
 * `[hooks.state."<hooks.json path>:<event>:<group>:<handler>"] trusted_hash = "sha256:…"`, and
 * a hook whose hash differs (or that has none) is skipped silently. The hash is Codex's
 * `command_hook_hash`: sha256 of the compact, key-sorted JSON of the normalized identity
 * `{event_name, matcher?, hooks: [{type, command, timeout, async, statusMessage?}]}`.
 */
export interface TrustEntry {
  readonly key: string
  readonly hash: string
}

const EVENT_LABELS: Record<string, string> = {
  PreToolUse: "pre_tool_use",
  PermissionRequest: "permission_request",
  PostToolUse: "post_tool_use",
  PreCompact: "pre_compact",
  PostCompact: "post_compact",
  SessionStart: "session_start",
  SessionEnd: "session_end",
  UserPromptSubmit: "user_prompt_submit",
  SubagentStart: "subagent_start",
  SubagentStop: "subagent_stop",
  Stop: "stop"
}

/** Events whose matcher Codex ignores (and leaves out of the identity). */
const NO_MATCHER = new Set(["UserPromptSubmit", "Stop"])

const canonical = (value: unknown): unknown => {
  if (Array.isArray(value)) return value.map(canonical)
  if (typeof value !== "object" || value === null) return value
  return Object.fromEntries(Object.keys(value).sort().map((k) => [k, canonical((value as Record<string, unknown>)[k])]))
}

type Obj = Record<string, unknown>
const isObj = (u: unknown): u is Obj => typeof u === "object" && u !== null && !Array.isArray(u)

export const hookHash = (event: string, group: Obj, handler: Obj): string => {
  const timeoutRaw = typeof handler.timeout === "number" ? handler.timeout : undefined
  const timeout = event === "SessionEnd" ? Math.min(3, Math.max(1, timeoutRaw ?? 1)) : Math.max(1, timeoutRaw ?? 600)
  const identity = {
    event_name: EVENT_LABELS[event],
    ...(!NO_MATCHER.has(event) && typeof group.matcher === "string" ? { matcher: group.matcher } : {}),
    hooks: [{
      type: "command",
      command: handler.command,
      timeout,
      async: handler.async === true,
      ...(typeof handler.statusMessage === "string" ? { statusMessage: handler.statusMessage } : {})
    }]
  }
  return `sha256:${createHash("sha256").update(JSON.stringify(canonical(identity))).digest("hex")}`
}

/** The trust entries for the handlers in `hooksJson` (the file at `hooksPath`) whose command is one of `commands`. */
export const trustEntries = (
  hooksPath: string,
  hooksJson: string,
  commands: ReadonlyArray<string>
): ReadonlyArray<TrustEntry> => {
  let doc: unknown
  try {
    doc = JSON.parse(hooksJson)
  } catch {
    return []
  }
  if (!isObj(doc) || !isObj(doc.hooks)) return []
  const out: Array<TrustEntry> = []
  for (const [event, groups] of Object.entries(doc.hooks)) {
    if (!(event in EVENT_LABELS) || !Array.isArray(groups)) continue
    groups.forEach((group, g) => {
      if (!isObj(group) || !Array.isArray(group.hooks)) return
      group.hooks.forEach((handler, h) => {
        if (!isObj(handler) || typeof handler.command !== "string" || !commands.includes(handler.command)) return
        out.push({ key: `${hooksPath}:${EVENT_LABELS[event]}:${g}:${h}`, hash: hookHash(event, group, handler) })
      })
    })
  }
  return out
}
