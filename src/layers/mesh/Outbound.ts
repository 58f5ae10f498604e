import { Effect, Schema } from "effect"
import type { DeliveryFrame, ServerFrame } from "../../protocol/AgentFrame.js"
import type { MeshEvent } from "../../protocol/MeshEvent.js"
import {
  type AckOwed,
  ackWithoutFiles,
  MAX_REMOTE_PEERS,
  type OutboxItem,
  RemotePeer,
  replyFilesId
} from "../../protocol/MeshWire.js"
import type { Attachments } from "../../services/Attachments.js"
import type { Deliveries } from "../../services/Deliveries.js"
import type { MessageRouter } from "../../services/MessageRouter.js"
import type { PeerRegistry } from "../../services/PeerRegistry.js"
import type { Transport, Transports } from "../../services/Transports.js"
import { sendFiles, sendWithFiles } from "./FilesOut.js"
import type { MeshStore } from "./MeshStore.js"
import type { SealedPipe } from "./SealedPipe.js"

export interface OutboundDeps {
  readonly store: MeshStore
  readonly registry: PeerRegistry["Type"]
  readonly transports: Transports["Type"]
  readonly router: MessageRouter["Type"]
  readonly deliveries: Deliveries["Type"]
  readonly machine: string
  readonly attachments: Attachments["Type"]
  readonly pipeOf: (machine: string) => SealedPipe | undefined
  /** Bytes still waiting in the relay socket's send buffer: files are sent no faster than it drains. */
  readonly backlog: () => number
  readonly transaction: <A>(body: () => A) => A
  readonly fork: (effect: Effect.Effect<void>) => void
}

const isRemotePeer = Schema.is(RemotePeer)
const isDelivery = (frame: ServerFrame): frame is DeliveryFrame =>
  frame.type === "ask" || frame.type === "notify" || frame.type === "broadcast"

/** Transport ids far above the /ws ones, so a remote peer's transport is never mistaken for a socket's. */
let nextTransportId = 1_000_000_000

/**
 * What this daemon sends over its links: each remote peer that is online gets a transport that
 * hands its messages to the link (the message stays queued here until a receipt comes back),
 * this daemon's peer list whenever it changes, and the receipts and acks it owes.
 */
export const makeOutbound = (deps: OutboundDeps) => {
  const { deliveries, registry, router, store, transports } = deps
  const attached = new Map<string, { readonly machine: string; readonly transport: Transport }>()
  const lastPeers = new Map<string, string>()
  const inFlight = new Map<string, Set<number>>()
  /** The own peers each linked machine was last told of: a message from another is preceded by the list. */
  const announced = new Map<string, ReadonlySet<string>>()
  /** Messages whose files are on their way now, and in which session: a flush meanwhile does not start them again. */
  const sending = new Map<string, SealedPipe>()

  /** Sends `frame` (after its files, if it has any); false when the link is down. */
  const deliver = (machine: string, peerId: string, frame: DeliveryFrame): boolean => {
    const pipe = deps.pipeOf(machine)
    if (pipe === undefined) return false
    // A peer that joined a moment ago: the other side must know it before a message of its arrives.
    // (The list is sent only if it changed: the dashboard and the CLI are never on it.)
    if (announced.get(machine)?.has(frame.from_peer) !== true) Effect.runSync(sendPeers(machine, false))
    if (frame.attachments.length === 0) {
      return pipe.send({ t: "deliver", to_peer: peerId as RemotePeer["peer_id"], frame })
    }
    // An attempt in a session that has since broken is ending: this session starts its own.
    if (sending.get(frame.message_id) === pipe) return true
    sending.set(frame.message_id, pipe)
    deps.fork(
      sendWithFiles(pipe, deps.attachments, deps.backlog, peerId, frame).pipe(
        Effect.asVoid,
        // The file expired here before its message could leave: it can never be delivered.
        Effect.catchTag("AttachmentNotFound", (e) => router.fail(peerId, frame.message_id, e.message)),
        Effect.ensuring(Effect.sync(() => {
          if (sending.get(frame.message_id) === pipe) sending.delete(frame.message_id)
        }))
      )
    )
    return true
  }

  const transportFor = (machine: string, peerId: string): Transport => ({
    id: nextTransportId++,
    send: (frame) => {
      if (!isDelivery(frame)) return true
      // The answer to an ask that came over the link: its ack (an outbox item) carries it there.
      if (frame.type === "notify" && frame.in_reply_to !== null) {
        deliveries.markDeliveredNow(frame.message_id, peerId)
        return true
      }
      return deliver(machine, peerId, frame)
    },
    close: () => Effect.void
  })

  /** Remote peers that are online get a transport (and their queued messages); the others lose it. */
  const refresh = (machine: string) =>
    Effect.gen(function*() {
      const up = deps.pipeOf(machine) !== undefined
      for (const peerId of yield* registry.remoteIds(machine)) {
        const peer = yield* registry.get(peerId)
        const online = up && peer._tag === "Some" && peer.value.status !== "offline"
        const current = attached.get(peerId)
        if (online && current === undefined) {
          const transport = transportFor(machine, peerId)
          attached.set(peerId, { machine, transport })
          yield* transports.attach(peerId, transport)
          yield* router.flush(peerId)
        } else if (!online && current !== undefined) {
          attached.delete(peerId)
          yield* transports.detach(peerId, current.transport)
        }
      }
      for (const [peerId, entry] of attached) {
        if (entry.machine !== machine || up) continue
        attached.delete(peerId)
        yield* transports.detach(peerId, entry.transport)
      }
    })

  /** This daemon's own peers as linked daemons see them (its dashboard and CLI stay home). */
  const ownPeers = Effect.map(registry.localPeers, (peers) =>
    peers
      .filter((p) => p.backend !== "dashboard" && p.backend !== "cli")
      .map((p) => ({
        peer_id: p.peer_id,
        display_name: p.display_name,
        path: p.path,
        backend: p.backend,
        circle: p.circle,
        role: p.role,
        status: p.status,
        description: p.description
      }))
      .filter(isRemotePeer)
      .slice(0, MAX_REMOTE_PEERS))

  const sendPeers = (machine: string, always: boolean) =>
    Effect.gen(function*() {
      const pipe = deps.pipeOf(machine)
      if (pipe === undefined) return
      const peers = yield* ownPeers
      const text = JSON.stringify(peers)
      if (!always && lastPeers.get(machine) === text) return
      if (pipe.send({ t: "peers", machine: deps.machine, peers })) {
        lastPeers.set(machine, text)
        announced.set(machine, new Set(peers.map((p) => p.peer_id)))
      }
    })

  const sendOwed = (machine: string) =>
    Effect.sync(() => {
      const pipe = deps.pipeOf(machine)
      if (pipe === undefined) return
      const sent = inFlight.get(machine) ?? new Set<number>()
      inFlight.set(machine, sent)
      for (const row of store.outbox(machine)) {
        if (sent.has(row.id)) continue
        const item = row.body as OutboxItem
        if (item.k === "ack" && (item.attachments?.length ?? 0) > 0) {
          // Counted as sent at once: the files take a while, and a flush meanwhile must not start them again.
          sent.add(row.id)
          deps.fork(sendAckWithFiles(pipe, row.id, item))
        } else if (pipe.send({ t: "out", id: row.id, item })) {
          sent.add(row.id)
        }
      }
    })

  /** A reply's files go ahead of its ack; a broken session sends them all again in the next. */
  const sendAckWithFiles = (pipe: SealedPipe, id: number, item: AckOwed) =>
    sendFiles(pipe, deps.attachments, deps.backlog, replyFilesId(item.correlation_id), item.attachments ?? []).pipe(
      Effect.map((outcome) => outcome === "sent" && pipe.send({ t: "out", id, item })),
      // A file expired here before the ack could leave: the answer goes on, saying so.
      Effect.catchTag(
        "AttachmentNotFound",
        (e) =>
          Effect.sync(() => pipe.send({ t: "out", id, item: ackWithoutFiles(item, `${e.message} on ${deps.machine}`) }))
      ),
      Effect.asVoid
    )

  const done = (machine: string, id: number) =>
    Effect.sync(() => {
      store.doneOut(machine, id)
      inFlight.get(machine)?.delete(id)
    })

  const up = (machine: string) =>
    Effect.gen(function*() {
      inFlight.delete(machine)
      yield* sendPeers(machine, true)
      yield* sendOwed(machine)
      yield* refresh(machine)
    })

  /** A local event that linked daemons must hear of: a peer change, a receipt, or an ack owed. */
  const onEvent = (event: MeshEvent, links: () => ReadonlyArray<string>) =>
    Effect.gen(function*() {
      if (
        event.type === "peer_joined" || event.type === "peer_left" || event.type === "peer_status" ||
        event.type === "peer_updated"
      ) {
        for (const machine of links()) yield* sendPeers(machine, false)
        return
      }
      if (event.type === "delivery" && event.state === "delivered") {
        const row = store.inboundOf(event.message_id, event.correlation_id)
        if (row !== undefined) sendReceipt(row.origin, row.message_id, event.to_peer)
        return
      }
      if (event.type !== "ack") return
      // The cursor moves only with what is owed: a restart re-reads the rest, and each item is keyed once.
      // Most events owe nothing (local messages): they cost a read, and no write of any kind.
      const owed = ackOwed(event)
      if (owed === undefined) return
      deps.transaction(() => {
        store.queueOut(owed.origin, owed.key, owed.item, Date.now())
        store.setCursor(event.id)
      })
      yield* sendOwed(owed.origin)
    })

  /**
   * A message from `origin` reached its agent here. Sent as it happens, not kept: were it lost
   * (the link down, this daemon stopped), the sender sends the message again in its next session
   * and `Inbound` answers one taken already with its receipt.
   */
  const sendReceipt = (origin: string, messageId: string, toPeer: string) =>
    void deps.pipeOf(origin)?.send({ t: "receipt", message_id: messageId, to_peer: toPeer as RemotePeer["peer_id"] })

  /** The ack `event` makes this daemon owe a linked one: to whom, under which key. */
  const ackOwed = (event: Extract<MeshEvent, { type: "ack" }>) => {
    const row = store.inboundOf(null, event.correlation_id)
    if (row === undefined || row.origin_correlation_id === null) return undefined
    return {
      origin: row.origin,
      key: `ack:${row.origin_correlation_id}`,
      item: {
        k: "ack",
        correlation_id: row.origin_correlation_id,
        from_peer: event.from_peer as RemotePeer["peer_id"],
        reply: event.reply,
        ...(event.attachments.length === 0 ? {} : {
          attachments: event.attachments.map(({ content_type, id, name, size }) => ({ id, name, size, content_type }))
        })
      } satisfies OutboxItem
    }
  }

  return { refresh, up, done, onEvent, sendOwed, sendReceipt }
}
