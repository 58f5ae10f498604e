import { Socket } from "@effect/platform"
import { NodeSocket } from "@effect/platform-node"
import { Data, Duration, Effect, Queue, Schedule, Schema } from "effect"
import { PaneInjectorTmux } from "../../layers/PaneInjectorTmux.js"
import { CloseCode, type DeliveryFrame, type ServerFrame, ServerFrameJson } from "../../protocol/AgentFrame.js"
import { resolvePaths, runningDaemonUrl } from "../../protocol/HomeFiles.js"
import { PaneInjector, type PaneTarget } from "../../services/PaneInjector.js"
import { formatIncoming, type Incoming } from "../agent/DeliveryText.js"
import { type AgentBackend, peerNameFor } from "../agent/Identity.js"
import { readSession, type SessionRecord } from "../agent/Sessions.js"
import { quickDaemonTarget } from "./QuickConfig.js"
import { renewSession } from "./Register.js"

/**
 * The delivery process of an agent in tmux: holds the peer's /ws connection, types each
 * delivered message into the pane (one at a time, in order) and answers delivery_ack; answers
 * ping with pong; reconnects with capped, jittered backoff. Ends when the pane is gone, the
 * peer is removed, or a newer delivery process replaced it.
 */
class Stop extends Data.TaggedError("Stop")<{ readonly reason: string }> {}
class Reconnect extends Data.TaggedError("Reconnect")<{ readonly reason: string; readonly reRegister: boolean }> {}

const decodeFrame = Schema.decodeUnknown(ServerFrameJson)
const textDecoder = new TextDecoder()

export const incomingOf = (frame: DeliveryFrame): Incoming => {
  switch (frame.type) {
    case "ask":
      return {
        kind: "ask",
        from_name: frame.from_name,
        text: frame.text,
        correlation_id: frame.correlation_id,
        attachments: frame.attachments
      }
    case "notify":
      return frame.in_reply_to === null
        ? {
          kind: "notify",
          from_name: frame.from_name,
          text: frame.text,
          correlation_id: null,
          attachments: frame.attachments
        }
        : {
          kind: "reply",
          from_name: frame.from_name,
          text: frame.text,
          correlation_id: frame.in_reply_to,
          attachments: frame.attachments
        }
    case "broadcast":
      return {
        kind: "broadcast",
        from_name: frame.from_name,
        text: frame.text,
        correlation_id: null,
        attachments: frame.attachments
      }
  }
}

const log = (message: string) => Effect.sync(() => process.stderr.write(`${new Date().toISOString()} ${message}\n`))

const wsUrl = (baseUrl: string) => `${baseUrl.replace(/^http/, "ws")}/ws`

const connectOnce = (session: SessionRecord, pane: PaneTarget) =>
  Effect.gen(function*() {
    const injector = yield* PaneInjector
    const socket = yield* Socket.makeWebSocket(wsUrl(session.base_url), {
      openTimeout: "3 seconds",
      closeCodeIsError: () => true
    })
    const write = yield* socket.writer
    const send = (frame: unknown) => write(JSON.stringify(frame))
    const inbox = yield* Queue.unbounded<DeliveryFrame>()
    // One consumer: messages reach the pane one by one, in the order the daemon sent them.
    yield* Effect.forever(
      Effect.gen(function*() {
        const frame = yield* Queue.take(inbox)
        const outcome = yield* injector.inject(pane, formatIncoming(incomingOf(frame))).pipe(
          Effect.as({ outcome: "injected" as const }),
          Effect.catchAll((e) =>
            log(`inject failed: ${e.message}`).pipe(Effect.as({ outcome: "failed" as const, detail: e.message }))
          )
        )
        yield* send({ type: "delivery_ack", message_id: frame.message_id, ...outcome })
      })
    ).pipe(Effect.forkScoped)
    const onFrame = (frame: ServerFrame) => {
      switch (frame.type) {
        case "ping":
          return send({ type: "pong", nonce: frame.nonce })
        case "connected":
          return log(`connected as ${frame.display_name} (${frame.peer_id})`)
        case "error":
          return log(`daemon error ${frame.code}: ${frame.reason}`)
        default:
          return Queue.offer(inbox, frame)
      }
    }
    const connect = {
      type: "connect",
      peer_id: session.peer_id,
      token: session.token,
      ...(session.auth_token ? { auth_token: session.auth_token } : {})
    }
    // The read loop; `connect` goes once the socket is open (a write before that would wait
    // on the open forever when the daemon is down).
    yield* socket.runRaw(
      (data) =>
        decodeFrame(typeof data === "string" ? data : textDecoder.decode(data)).pipe(
          Effect.flatMap(onFrame),
          Effect.catchTag("ParseError", (e) => log(`ignored a frame: ${e.message.split("\n")[0]}`))
        ),
      { onOpen: send(connect).pipe(Effect.ignore) }
    )
  }).pipe(
    Effect.scoped,
    Effect.catchAll((e): Effect.Effect<never, Stop | Reconnect> => {
      if (Socket.SocketCloseError.is(e)) {
        if (e.code === CloseCode.Replaced || e.code === CloseCode.PeerRemoved) {
          return Effect.fail(new Stop({ reason: `closed by the daemon (${e.code} ${e.closeReason ?? ""})` }))
        }
        const reRegister = e.code === CloseCode.Unauthorized || e.code === CloseCode.UnknownPeer
        return Effect.fail(new Reconnect({ reason: `closed ${e.code} ${e.closeReason ?? ""}`, reRegister }))
      }
      return Effect.fail(new Reconnect({ reason: e.message, reRegister: false }))
    })
  )

const reRegister = (session: SessionRecord) =>
  Effect.tryPromise(async () => {
    const target = await quickDaemonTarget()
    const identity = {
      backend: session.backend as AgentBackend,
      path: session.path,
      name: peerNameFor(session.path),
      pane: session.pane,
      tmuxSocket: session.tmux_socket,
      key: session.key
    }
    return renewSession(identity, target, process.env, session.peer_id)
  })

const program = (key: string) =>
  Effect.gen(function*() {
    const injector = yield* PaneInjector
    const first = readSession(key)
    if (first === null || first.pane === null) return yield* new Stop({ reason: `no tmux session recorded for ${key}` })
    const pane: PaneTarget = { pane: first.pane, socket: first.tmux_socket }
    const backoff = Schedule.exponential("500 millis", 2).pipe(
      Schedule.jittered,
      Schedule.modifyDelay((d) => Duration.min(d, Duration.seconds(10)))
    )
    const attempt = Effect.gen(function*() {
      if (!(yield* injector.exists(pane))) return yield* new Stop({ reason: `pane ${pane.pane} is gone` })
      const stored = readSession(key) ?? first
      // A daemon restarted on another port: follow it (registering again, same peer if it can).
      const running = runningDaemonUrl(resolvePaths())
      const session = running !== undefined && running !== stored.base_url
        ? yield* reRegister(stored).pipe(Effect.orElseSucceed(() => stored))
        : stored
      return yield* connectOnce(session, pane).pipe(
        Effect.tapError((e) =>
          e._tag === "Reconnect"
            ? log(`disconnected: ${e.reason}`).pipe(
              Effect.zipRight(e.reRegister ? reRegister(session).pipe(Effect.ignore) : Effect.void)
            )
            : Effect.void
        )
      )
    })
    return yield* attempt.pipe(Effect.retry({ schedule: backoff, while: (e) => e._tag === "Reconnect" }))
  })

export const runDelivery = (key: string, _env: NodeJS.ProcessEnv): Promise<number> =>
  Effect.runPromise(
    program(key).pipe(
      Effect.as(0),
      Effect.catchAll((e) => log(`delivery ends: ${e._tag === "Stop" ? e.reason : String(e)}`).pipe(Effect.as(0))),
      Effect.provide([PaneInjectorTmux, NodeSocket.layerWebSocketConstructor])
    )
  )
