// node:http + ws here, like the switch: replicas pass the daemons' opaque frames to each other.
import { Effect, Option } from "effect"
import type { IncomingMessage } from "node:http"
import type { Duplex } from "node:stream"
import WebSocket, { type WebSocketServer } from "ws"
import { HOP_HEADER, HOP_PREFIX, signHop, verifyHop } from "../../layers/tunnel/relay/HopAuth.js"
import { rawError } from "../../layers/tunnel/relay/TunnelStreams.js"
import type { ClusterSignal } from "../../protocol/ClusterSignal.js"
import { Unauthorized } from "../../protocol/Errors.js"
import { decodeMeshFrame, encodeMeshFrame, MAX_MESH_FRAME, MESH_PATH } from "../../protocol/MeshRelayWire.js"
import type { ReplicaDirectory } from "../../services/TunnelDirectory.js"
import type { MeshElsewhere, MeshSwitch } from "./MeshSwitch.js"

/** Where a replica opens its one mesh connection to another (with a signed hop header). */
export const MESH_HOP_PATH = `${HOP_PREFIX}${MESH_PATH}`

/**
 * Between replicas, binary messages carry one daemon frame each: the user's id, the sender's
 * id, the target's id (each as a mesh frame's id, nested), then the payload. The holder answers
 * a frame it cannot deliver with a text message `{"unreachable": [user, from, to]}`.
 */
const encodeHopFrame = (userId: string, from: string, to: string, payload: Uint8Array) =>
  encodeMeshFrame(userId, encodeMeshFrame(from, encodeMeshFrame(to, payload)))

const decodeHopFrame = (data: Uint8Array) => {
  const user = decodeMeshFrame(data)
  const from = user === undefined ? undefined : decodeMeshFrame(user.payload)
  const to = from === undefined ? undefined : decodeMeshFrame(from.payload)
  return to === undefined ? undefined : { userId: user!.id, from: from!.id, to: to.id, payload: to.payload }
}

const PING_MS = 5_000
/** As the switch does for a daemon's socket: past this unsent to another replica, frames are refused. */
const MAX_BUFFERED = 8 * 1024 * 1024
/** A daemon's largest frame, and the three ids (at most 255 bytes each, with their lengths) around it. */
export const MAX_HOP_FRAME = MAX_MESH_FRAME + 3 * 256

const isIdTriple = (value: unknown): value is [string, string, string] =>
  Array.isArray(value) && value.length === 3 && value.every((s) => typeof s === "string")

/** The mesh connection to one other replica: frames wait while it opens, and are refused if it fails. */
class ReplicaLink {
  readonly ws: WebSocket
  private pending: Array<{ readonly userId: string; readonly from: string; readonly to: string; bytes: Uint8Array }> =
    []
  private pinger: ReturnType<typeof setInterval> | undefined

  constructor(
    url: string,
    hop: string,
    private readonly refused: (userId: string, from: string, to: string) => void,
    onClose: () => void
  ) {
    // Only `unreachable` notes come back on it.
    this.ws = new WebSocket(url, { headers: { [HOP_HEADER]: hop }, perMessageDeflate: false, maxPayload: 64 * 1024 })
    let alive = true
    this.ws.on("open", () => {
      for (const frame of this.pending) this.ws.send(frame.bytes)
      this.pending = []
      this.pinger = setInterval(() => {
        if (!alive) return this.ws.terminate()
        alive = false
        this.ws.ping()
      }, PING_MS)
    })
    this.ws.on("pong", () => (alive = true))
    this.ws.on("message", (data: Buffer, isBinary) => {
      alive = true
      if (isBinary) return
      try {
        const { unreachable } = JSON.parse(data.toString("utf8")) as { unreachable?: unknown }
        if (isIdTriple(unreachable)) this.refused(...unreachable)
      } catch {
        // Not from a replica of this version: nothing to do.
      }
    })
    this.ws.on("error", () => undefined)
    this.ws.on("close", () => {
      if (this.pinger !== undefined) clearInterval(this.pinger)
      for (const frame of this.pending) this.refused(frame.userId, frame.from, frame.to)
      this.pending = []
      onClose()
    })
  }

  send(userId: string, from: string, to: string, payload: Uint8Array) {
    const bytes = encodeHopFrame(userId, from, to, payload)
    if (this.ws.readyState === WebSocket.OPEN && this.ws.bufferedAmount <= MAX_BUFFERED) this.ws.send(bytes)
    else if (this.ws.readyState === WebSocket.CONNECTING) this.pending.push({ userId, from, to, bytes })
    else this.refused(userId, from, to)
  }
}

/**
 * The mesh across replicas: which replica holds each daemon's `/mesh` socket is in the mesh
 * directory; a frame for a daemon held elsewhere goes over this replica's one connection to
 * that replica (opened with a hop signed by the cluster secret), which hands it to the daemon.
 * Frames carry the sender's user as the switch authenticated it, and the holder delivers them
 * only to a daemon of that user: the switch's rule holds across replicas.
 */
export class MeshReplicas implements MeshElsewhere {
  private readonly links = new Map<string, ReplicaLink>()
  /** The other replicas' connections to this one. */
  private readonly accepted = new Set<WebSocket>()
  /** Each sender's forwards, in order: a directory lookup must not let a later frame overtake. */
  private readonly tails = new Map<string, Promise<void>>()

  constructor(
    private readonly directory: ReplicaDirectory,
    private readonly secret: string,
    private readonly mesh: MeshSwitch,
    private readonly run: <A>(effect: Effect.Effect<A>) => Promise<A>
  ) {
    mesh.inCluster(this)
  }

  attached(userId: string, daemonId: string) {
    void this.run(this.directory.claim(userId, daemonId).pipe(Effect.catchAllCause(Effect.logWarning)))
  }

  detached(userId: string, daemonId: string) {
    void this.run(this.directory.release(userId, daemonId).pipe(Effect.catchAllCause(Effect.logWarning)))
  }

  present(userId: string) {
    return this.run(this.directory.held(userId))
  }

  forward(userId: string, from: string, to: string, payload: Uint8Array) {
    const key = `${userId}\u0000${from}`
    const tail = (this.tails.get(key) ?? Promise.resolve()).then(async () => {
      const holder = await this.run(this.directory.holder(userId, to))
      if (Option.isNone(holder) || holder.value.replicaId === this.directory.self.replicaId) {
        return this.refused(userId, from, to)
      }
      this.linkTo(holder.value.internalUrl).send(userId, from, to, payload)
    }).catch(() => this.refused(userId, from, to))
    this.tails.set(key, tail)
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key)
    })
  }

  /** The store's word that a daemon's socket moved to another replica, or is held by none. */
  onSignal(signal: ClusterSignal) {
    if (signal._tag !== "MeshMoved" || signal.replica_id === this.directory.self.replicaId) return
    this.mesh.movedElsewhere(signal.user_id, signal.daemon_id, signal.replica_id === null ? "gone" : "moved")
  }

  /** `GET /_relay/hop/mesh` from another replica: its hop must be signed by the cluster secret. */
  accept(sockets: WebSocketServer, req: IncomingMessage, socket: Duplex, head: Buffer, trusted: () => void) {
    if (verifyHop(this.secret, "GET", MESH_PATH, req.headers[HOP_HEADER]) === undefined) {
      return rawError(socket, new Unauthorized({ message: "Internal relay endpoint." }))
    }
    trusted()
    sockets.handleUpgrade(req, socket, head, (ws) => {
      this.accepted.add(ws)
      ws.on("close", () => this.accepted.delete(ws))
      ws.on("message", (data: Buffer, isBinary) => {
        const frame = isBinary ? decodeHopFrame(data) : undefined
        if (frame === undefined) return
        if (!this.mesh.deliver(frame.userId, frame.from, frame.to, frame.payload)) {
          ws.send(JSON.stringify({ unreachable: [frame.userId, frame.from, frame.to] }))
        }
      })
      ws.on("error", () => undefined)
    })
  }

  closeAll() {
    for (const link of this.links.values()) link.ws.terminate()
    this.links.clear()
    for (const ws of this.accepted) ws.terminate()
    this.accepted.clear()
  }

  private refused(userId: string, from: string, to: string) {
    this.directory.forget(userId, to)
    this.mesh.unreachable(userId, from, to)
  }

  private linkTo(internalUrl: string): ReplicaLink {
    const known = this.links.get(internalUrl)
    if (known !== undefined) return known
    const url = `${internalUrl.replace(/\/+$/, "").replace(/^http/, "ws")}${MESH_HOP_PATH}`
    const hop = signHop(this.secret, "GET", MESH_PATH, { userId: "", daemonId: this.directory.self.replicaId })
    const link: ReplicaLink = new ReplicaLink(
      url,
      hop,
      (userId, from, to) => this.refused(userId, from, to),
      () => {
        if (this.links.get(internalUrl) === link) this.links.delete(internalUrl)
      }
    )
    this.links.set(internalUrl, link)
    return link
  }
}
