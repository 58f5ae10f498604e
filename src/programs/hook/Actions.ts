import { AsksAnswer, ConfirmedAnswer, DeliveriesAnswer, type QueuedMessage } from "../../protocol/DaemonAnswers.js"
import { repowireHome } from "../../protocol/HomeFiles.js"
import type { HookEvent } from "../../protocol/HookPayload.js"
import * as S from "../../protocol/MiniSchema.js"
import { formatIncoming, incomingFromMessage } from "../agent/DeliveryText.js"
import type { AgentIdentity } from "../agent/Identity.js"
import { readSession, type SessionRecord, withSessionLock, writeSession } from "../agent/Sessions.js"
import { startDelivery, stopDelivery } from "./DeliveryProcess.js"
import { addContext, blockStop } from "./Output.js"
import { callAsPeer } from "./PeerLink.js"
import { registerSession } from "./Register.js"
import { lastAssistantText } from "./Transcript.js"

type Out = Record<string, unknown>

/** A prompt makes the peer busy and its turn working; the assistant's turn ending, idle and awaiting input. */
const turnOf = { busy: "working", online: "awaiting_input" } as const

const report = (identity: AgentIdentity, report: unknown, status?: "online" | "busy") =>
  callAsPeer(identity, (s) => ({
    method: "POST",
    path: "/events/chat",
    body: { peer: s.peer_id, report, ...(status ? { status, turn_state: turnOf[status] } : {}) }
  }))

const setStatus = (identity: AgentIdentity, status: "online" | "offline", env: NodeJS.ProcessEnv) =>
  callAsPeer(
    identity,
    (s) => ({ method: "POST", path: `/peers/${encodeURIComponent(s.peer_id)}/status`, body: { status } }),
    env
  )

/**
 * Messages waiting for this peer. The OpenCode plugin hands them over with a prompt that may
 * never run (\`opencode run\` can exit first), so for it they are only peeked, and confirmed by
 * the \`delivered\` event once the prompt ran; the other runtimes take them from the hook's
 * output at once, so they are drained.
 */
const waiting = async (identity: AgentIdentity) => {
  const peek = identity.backend === "opencode" ? "&peek=true" : ""
  const { response, session } = await callAsPeer(identity, (s) => ({
    method: "GET",
    path: `/deliveries?peer=${encodeURIComponent(s.peer_id)}${peek}`
  }))
  return { session, messages: S.decodeOr(DeliveriesAnswer, response.body, { messages: [] }).messages }
}

/** What the OpenCode plugin confirms once the agent has the messages. */
const withIds = (identity: AgentIdentity, out: Out, messages: ReadonlyArray<QueuedMessage>): Out =>
  identity.backend === "opencode" && messages.length > 0 ? { ...out, message_ids: messages.map((m) => m.id) } : out

const confirmDelivered = async (identity: AgentIdentity, ids: ReadonlyArray<string>): Promise<Out> => {
  if (ids.length === 0) return { delivered: [] }
  const { response } = await callAsPeer(identity, (s) => ({
    method: "POST",
    path: "/deliveries/ack",
    body: { peer: s.peer_id, message_ids: ids }
  }))
  return { delivered: S.decodeOr(ConfirmedAnswer, response.body, { delivered: [] }).delivered }
}

const openInboundAsks = async (identity: AgentIdentity) => {
  const { response } = await callAsPeer(identity, (s) => ({
    method: "GET",
    path: `/asks?peer=${encodeURIComponent(s.peer_id)}&direction=inbound&open=true`
  }))
  return S.decodeOr(AsksAnswer, response.body, { asks: [] }).asks
}

const sessionIntro = (s: SessionRecord) =>
  `You are on the repowire mesh as "${s.display_name}" (circle ${s.circle}). Other agents can ask you ` +
  `questions; answer an ask with the repowire ack tool (correlation id + message). Use list_peers to see ` +
  `who is there, and ask / notify_peer / broadcast to reach them.`

const sessionStart = async (identity: AgentIdentity, env: NodeJS.ProcessEnv): Promise<Out> => {
  const [{ loadConfig }, { ensureDaemon }, { Effect }] = await Promise.all([
    import("../../layers/ConfigLive.js"),
    import("../daemon/Launcher.js"),
    import("effect")
  ])
  const config = await Effect.runPromise(loadConfig(env))
  const { baseUrl } = await ensureDaemon(config.paths, config.values)
  const target = { baseUrl, authToken: config.values.daemon.auth_token }
  const session = await withSessionLock(identity.key, env, () => registerSession(identity, target, env))
  startDelivery(session, env)
  if (identity.pane !== null) {
    // The peer goes offline the moment its pane exits, not after daemon.peers.idle_timeout.
    const { installPaneExitedHook } = await import("./PaneExitedHook.js")
    const failed = await installPaneExitedHook(identity.tmuxSocket, {
      home: repowireHome(env),
      node: process.execPath,
      bin: process.argv[1]!
    })
    if (failed !== undefined) process.stderr.write(`repowire: no tmux pane-exited hook: ${failed}\n`)
  }
  return addContext(identity.backend, "SessionStart", sessionIntro(session))
}

const queuedText = (messages: ReadonlyArray<QueuedMessage>) =>
  messages.map((m) => formatIncoming(incomingFromMessage(m))).join("\n\n")

/** Remembers asks the agent has been shown, so a Stop hook does not hand them over again. */
const markShown = (
  identity: AgentIdentity,
  session: SessionRecord,
  ids: ReadonlyArray<string>,
  env: NodeJS.ProcessEnv
) => {
  if (ids.length === 0) return
  const current = readSession(identity.key, env) ?? session
  writeSession({ ...current, reminded: [...new Set([...(current.reminded ?? []), ...ids])].slice(-200) }, env)
}

const askIds = (messages: ReadonlyArray<QueuedMessage>) =>
  messages.flatMap((m) => (m.kind === "ask" && m.correlation_id ? [m.correlation_id] : []))

const userPrompt = async (identity: AgentIdentity, prompt: string, env: NodeJS.ProcessEnv): Promise<Out> => {
  if (prompt !== "") await report(identity, { kind: "chat", role: "user", text: prompt.slice(0, 65_536) }, "busy")
  const { messages, session } = await waiting(identity)
  markShown(identity, session, askIds(messages), env)
  return messages.length > 0
    ? withIds(identity, addContext(identity.backend, "UserPromptSubmit", queuedText(messages)), messages)
    : {}
}

/**
 * What of this turn's answer was not reported yet: on a continued turn Gemini CLI's AfterAgent
 * payload holds the earlier answer followed by the new one.
 */
const newPart = (identity: AgentIdentity, full: string, env: NodeJS.ProcessEnv): string => {
  const current = readSession(identity.key, env)
  if (current === null) return full
  const previous = current.last_assistant
  writeSession({ ...current, last_assistant: full.slice(-65_536) }, env)
  return previous !== undefined && previous !== "" && full.startsWith(previous)
    ? full.slice(previous.length).trim()
    : full
}

/**
 * Idle again: report the assistant's turn, then hand waiting messages and open asks to the agent
 * by blocking the stop. Messages are drained (each shown once; OpenCode's are peeked and
 * confirmed after the hand-over) and each open ask is reminded once, so the agent cannot be
 * held in a loop.
 */
const stop = async (
  identity: AgentIdentity,
  event: Extract<HookEvent, { kind: "stop" }>,
  env: NodeJS.ProcessEnv
): Promise<Out> => {
  const full = event.assistantText ?? (event.transcriptPath ? lastAssistantText(event.transcriptPath) : undefined)
  const text = full === undefined ? undefined : newPart(identity, full, env)
  if (text !== undefined && text.trim() !== "") {
    await report(identity, { kind: "chat", role: "assistant", text: text.slice(0, 65_536) }, "online")
  } else {
    await setStatus(identity, "online", env)
  }
  // The OpenCode plugin's own hand-over prompt is still running: report only, hand nothing over twice.
  if (identity.backend === "opencode" && event.stopHookActive) return {}
  const { messages, session } = await waiting(identity)
  const asks = await openInboundAsks(identity)
  const seen = new Set([...(readSession(identity.key, env) ?? session).reminded ?? [], ...askIds(messages)])
  const fresh = asks.filter((a) => !seen.has(a.correlation_id))
  if (messages.length === 0 && fresh.length === 0) return {}
  markShown(identity, session, [...askIds(messages), ...fresh.map((a) => a.correlation_id)], env)
  const parts = [
    ...(messages.length > 0 ? [`Messages arrived on the repowire mesh:\n\n${queuedText(messages)}`] : []),
    ...(fresh.length > 0
      ? [
        `Open asks wait for your answer (reply with the repowire ack tool):\n` +
        fresh.map((a) => `- ${a.correlation_id} from ${a.from_name}: ${a.text.slice(0, 500)}`).join("\n")
      ]
      : [])
  ]
  return withIds(identity, blockStop(identity.backend, parts.join("\n\n")), messages)
}

const sessionEnd = async (identity: AgentIdentity, env: NodeJS.ProcessEnv): Promise<Out> => {
  const session = readSession(identity.key, env)
  if (session !== null) stopDelivery(session)
  await setStatus(identity, "offline", env)
  return {}
}

export const runEvent = async (identity: AgentIdentity, event: HookEvent, env: NodeJS.ProcessEnv): Promise<Out> => {
  switch (event.kind) {
    case "session-start":
      return sessionStart(identity, env)
    case "user-prompt-submit":
      return userPrompt(identity, event.prompt, env)
    case "post-tool-use":
      await report(identity, { kind: "tool_call", tool: event.tool.slice(0, 256), summary: event.summary })
      return {}
    case "stop":
      return stop(identity, event, env)
    case "session-end":
      return sessionEnd(identity, env)
    case "delivered":
      return confirmDelivered(identity, event.messageIds)
  }
}
