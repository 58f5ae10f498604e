import {
  decodeHookPayload,
  HOOK_EVENTS,
  parseEventName,
  resolveUpstreamSession,
  UPSTREAM_NOOP_EVENTS
} from "../../protocol/HookPayload.js"
import { parseJsonBounded } from "../../protocol/JsonDepth.js"
import { type AgentBackend, isAgentBackend, resolveIdentity } from "../agent/Identity.js"
import { runEvent } from "./Actions.js"
import { DaemonUnreachableError } from "./DaemonHttp.js"

/**
 * `repowire hook <event> [--backend B]`: loaded by bin.ts without the CLI tree, so a hook
 * starts in about the time of a bare node. A hook never breaks the agent: it exits 0 after a
 * bounded time whatever happens, and says on stderr why it could not reach the daemon.
 */
const DEADLINE_MS: Record<string, number> = { "session-start": 12_000, stop: 4000, "user-prompt-submit": 3000 }
const DEFAULT_DEADLINE_MS = 2000

const USAGE = `usage: repowire hook <event> [--backend claude-code|codex|gemini|opencode]
events: ${HOOK_EVENTS.join(", ")} (also the runtimes' own names: SessionStart, BeforeAgent, AfterTool, AfterAgent, ...,
and upstream repowire's: session, prompt, notification)
reads the agent's hook JSON on stdin`

const readStdin = (timeoutMs: number): Promise<string> =>
  new Promise((resolve) => {
    if (process.stdin.isTTY) return resolve("")
    const chunks: Array<Buffer> = []
    const done = () => {
      clearTimeout(timer)
      resolve(Buffer.concat(chunks).toString("utf8"))
    }
    const timer = setTimeout(done, timeoutMs)
    process.stdin.on("data", (c: Buffer) => chunks.push(c))
    process.stdin.on("end", done)
    process.stdin.on("error", done)
  })

const flag = (args: ReadonlyArray<string>, name: string): string | undefined => {
  const i = args.indexOf(name)
  if (i >= 0) return args[i + 1]
  const inline = args.find((a) => a.startsWith(`${name}=`))
  return inline?.slice(name.length + 1)
}

const say = (message: string) => process.stderr.write(`repowire: ${message}\n`)

export const runHook = async (args: ReadonlyArray<string>, env: NodeJS.ProcessEnv = process.env): Promise<number> => {
  const [eventArg] = args
  if (eventArg === undefined || eventArg === "--help" || eventArg === "-h") {
    process.stdout.write(USAGE + "\n")
    return eventArg === undefined ? 1 : 0
  }
  if (eventArg === "deliver") {
    const { runDelivery } = await import("./Delivery.js")
    return runDelivery(flag(args, "--key") ?? "", env)
  }
  if (eventArg === "pane-exited") {
    const { runPaneExited } = await import("./PaneExited.js")
    return runPaneExited(flag(args, "--pane"), flag(args, "--socket"), env)
  }
  if (UPSTREAM_NOOP_EVENTS.includes(eventArg.toLowerCase())) return 0
  const named = parseEventName(eventArg)
  if (named === undefined) {
    say(`unknown hook event "${eventArg}"\n${USAGE}`)
    return 1
  }
  const backendArg = flag(args, "--backend") ?? env.REPOWIRE_BACKEND ?? "claude-code"
  if (!isAgentBackend(backendArg)) {
    say(`unknown backend "${backendArg}"`)
    return 1
  }
  const backend: AgentBackend = backendArg
  let event = named
  const deadline = DEADLINE_MS[event] ?? DEFAULT_DEADLINE_MS
  const timer = setTimeout(() => {
    say(`hook ${event} gave up after ${deadline}ms; the agent carries on`)
    process.exit(0)
  }, deadline)
  timer.unref()
  const raw = await readStdin(Math.min(1000, deadline / 2))
  const parsed = raw.trim() === "" ? { ok: true as const, value: {} } : parseJsonBounded(raw)
  if (!parsed.ok) {
    say(`hook ${event}: stdin is not JSON (${parsed.reason}); ignored`)
    return 0
  }
  event = resolveUpstreamSession(eventArg, event, parsed.value)
  const decoded = decodeHookPayload(event, parsed.value)
  if (!decoded.ok) {
    say(`hook ${event}: ${decoded.error}; ignored`)
    return 0
  }
  const identity = resolveIdentity(backend, env, decoded.value.cwd ?? process.cwd())
  try {
    const out = await runEvent(identity, decoded.value, env)
    process.stdout.write(JSON.stringify(out) + "\n")
  } catch (e) {
    say(
      e instanceof DaemonUnreachableError
        ? `${e.message}; the agent carries on`
        : `hook ${event}: ${e instanceof Error ? e.message : String(e)}`
    )
  }
  return 0
}
