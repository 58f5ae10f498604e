import { array, boolean, decode, type Decoded, optional, string, struct, unknown } from "./MiniSchema.js"

/**
 * Hook stdin of each runtime, normalised. Claude Code and Codex share one shape (Codex's
 * hooks.json mirrors Claude's, adding turn_id/model); Gemini CLI names its events
 * BeforeAgent/AfterTool/AfterAgent; the OpenCode plugin sends the Claude shape itself, and
 * `delivered` (its own event) once a hand-over it was given reached the agent.
 */
export type HookEventName =
  | "session-start"
  | "user-prompt-submit"
  | "post-tool-use"
  | "stop"
  | "session-end"
  | "delivered"

export type HookEvent =
  | { readonly kind: "session-start"; readonly cwd: string | undefined }
  | { readonly kind: "user-prompt-submit"; readonly cwd: string | undefined; readonly prompt: string }
  | {
    readonly kind: "post-tool-use"
    readonly cwd: string | undefined
    readonly tool: string
    readonly summary: string
  }
  | {
    readonly kind: "stop"
    readonly cwd: string | undefined
    readonly stopHookActive: boolean
    readonly assistantText: string | undefined
    readonly transcriptPath: string | undefined
  }
  | { readonly kind: "session-end"; readonly cwd: string | undefined }
  | { readonly kind: "delivered"; readonly cwd: string | undefined; readonly messageIds: ReadonlyArray<string> }

/** CLI event argument → event; each runtime's own event name is accepted too. */
const eventAliases: Record<string, HookEventName> = {
  "session-start": "session-start",
  sessionstart: "session-start",
  "user-prompt-submit": "user-prompt-submit",
  userpromptsubmit: "user-prompt-submit",
  "before-agent": "user-prompt-submit",
  beforeagent: "user-prompt-submit",
  "post-tool-use": "post-tool-use",
  posttooluse: "post-tool-use",
  "after-tool": "post-tool-use",
  aftertool: "post-tool-use",
  stop: "stop",
  "after-agent": "stop",
  afteragent: "stop",
  "session-end": "session-end",
  sessionend: "session-end",
  delivered: "delivered",
  // upstream repowire's names (`repowire hook prompt`, `repowire hook session`)
  prompt: "user-prompt-submit",
  session: "session-start"
}

/** Upstream's `repowire hook session` serves SessionStart and SessionEnd: the payload says which. */
export const resolveUpstreamSession = (arg: string, event: HookEventName, payload: unknown): HookEventName =>
  arg.toLowerCase() === "session" && typeof payload === "object" && payload !== null &&
    /^session-?end$/i.test(String((payload as { hook_event_name?: unknown }).hook_event_name ?? ""))
    ? "session-end"
    : event

/** Upstream hooks this repowire has no use for (Claude Code's Notification, opt-in PreToolUse): accepted, no-ops. */
export const UPSTREAM_NOOP_EVENTS: ReadonlyArray<string> = ["notification", "pretooluse", "pre-tool-use"]

export const HOOK_EVENTS: ReadonlyArray<HookEventName> = [
  "session-start",
  "user-prompt-submit",
  "post-tool-use",
  "stop",
  "session-end",
  "delivered"
]

export const parseEventName = (arg: string): HookEventName | undefined => eventAliases[arg.toLowerCase()]

const base = { session_id: optional(string), cwd: optional(string), hook_event_name: optional(string) }

const SessionStart = struct({ ...base, source: optional(string) })
const UserPrompt = struct({ ...base, prompt: string })
const PostToolUse = struct({
  ...base,
  tool_name: string,
  tool_input: optional(unknown),
  tool_response: optional(unknown)
})
const Stop = struct({
  ...base,
  stop_hook_active: optional(boolean),
  transcript_path: optional(string),
  /** Codex */
  last_assistant_message: optional(string),
  /** Gemini CLI AfterAgent */
  prompt_response: optional(string)
})
const SessionEnd = struct({ ...base, reason: optional(string) })
const Delivered = struct({ ...base, message_ids: array(string) })

/**
 * Gemini CLI hands a SessionStart hook's context back inside the next prompt, as
 * `<hook_context>…</hook_context>`: that is not what the user typed.
 */
export const stripHookContext = (prompt: string): string =>
  prompt.replace(/<hook_context>[\s\S]*?<\/hook_context>/g, "").trim()

const oneLine = (s: string, max: number) => {
  const flat = s.replace(/\s+/g, " ").trim()
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat
}

/** A short, human summary of a tool call for the event log. */
export const summarizeTool = (tool: string, input: unknown): string => {
  if (typeof input !== "object" || input === null) return tool
  const i = input as Record<string, unknown>
  const pick = ["command", "file_path", "filePath", "path", "absolute_path", "pattern", "url", "query", "description"]
    .map((k) => i[k])
    .find((v): v is string => typeof v === "string" && v !== "")
  return oneLine(pick ?? JSON.stringify(input) ?? tool, 300)
}

export const decodeHookPayload = (event: HookEventName, payload: unknown): Decoded<HookEvent> => {
  switch (event) {
    case "session-start": {
      const r = decode(SessionStart, payload)
      return r.ok ? { ok: true, value: { kind: event, cwd: r.value.cwd } } : r
    }
    case "user-prompt-submit": {
      const r = decode(UserPrompt, payload)
      return r.ok ? { ok: true, value: { kind: event, cwd: r.value.cwd, prompt: stripHookContext(r.value.prompt) } } : r
    }
    case "post-tool-use": {
      const r = decode(PostToolUse, payload)
      return r.ok
        ? {
          ok: true,
          value: {
            kind: event,
            cwd: r.value.cwd,
            tool: r.value.tool_name,
            summary: summarizeTool(r.value.tool_name, r.value.tool_input)
          }
        }
        : r
    }
    case "stop": {
      const r = decode(Stop, payload)
      return r.ok
        ? {
          ok: true,
          value: {
            kind: event,
            cwd: r.value.cwd,
            stopHookActive: r.value.stop_hook_active ?? false,
            assistantText: r.value.last_assistant_message ?? r.value.prompt_response,
            transcriptPath: r.value.transcript_path
          }
        }
        : r
    }
    case "session-end": {
      const r = decode(SessionEnd, payload)
      return r.ok ? { ok: true, value: { kind: event, cwd: r.value.cwd } } : r
    }
    case "delivered": {
      const r = decode(Delivered, payload)
      return r.ok ? { ok: true, value: { kind: event, cwd: r.value.cwd, messageIds: r.value.message_ids } } : r
    }
  }
}
