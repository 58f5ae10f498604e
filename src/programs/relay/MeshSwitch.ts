// node:http + ws here, like the tunnel: the switch only moves opaque frames between sockets.
import type { IncomingMessage } from "node:http"
import type { Duplex } from "node:stream"
import WebSocket, { type WebSocketServer } from "ws"
import { decodeMeshFrame, encodeMeshFrame, type MeshNote } from "../../protocol/MeshRelayWire.js"
import { TunnelClose } from "../../protocol/TunnelClose.js"
import { admitDaemon } from "./DaemonUpgrade.js"
import type { RelayContext } from "./RelayContext.js"

/** Bytes a daemon may leave unread before frames to it are dropped (its sealed session then restarts). */
const MAX_BUFFERED = 8 * 1024 * 1024

/**
 * Where the daemons of a user are when this relay is one replica of several: their sockets may
 * be held by other replicas (MeshReplicas), which this switch forwards frames to.
 */
export interface MeshElsewhere {
  /** This replica now holds the daemon's socket, or no longer does. */
  readonly attached: (userId: string, daemonId: string) => void
  readonly detached: (userId: string, daemonId: string) => void
  /** The user's daemons whose sockets some replica holds (this one's too). */
  readonly present: (userId: string) => Promise<ReadonlyArray<string>>
  /** A frame for a daemon of the user that this replica does not hold; in order per sender. */
  readonly forward: (userId: string, from: string, to: string, payload: Uint8Array) => void
}

/**
 * The daemon-to-daemon switch: each daemon of a user holds one `/mesh` socket, and a frame is
 * passed only to another daemon of the same user, with the sender's id put in place of the
 * target's. What the frames carry is sealed between the daemons' identity keys. With several
 * replicas, a frame for a daemon held by another replica goes there (`elsewhere`).
 */
export class MeshSwitch {
  private readonly users = new Map<string, Map<string, WebSocket>>()
  /** The relay key each socket signed in with: revoking it closes the socket, as it does a tunnel. */
  private readonly keys = new Map<WebSocket, string>()
  private elsewhere: MeshElsewhere | undefined

  /** This relay is one replica of several. */
  inCluster(elsewhere: MeshElsewhere) {
    this.elsewhere = elsewhere
  }

  private note(ws: WebSocket, note: MeshNote) {
    if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(note))
  }

  attach(userId: string, daemonId: string, ws: WebSocket, keyId: string) {
    this.keys.set(ws, keyId)
    const daemons = this.users.get(userId) ?? new Map<string, WebSocket>()
    this.users.set(userId, daemons)
    daemons.get(daemonId)?.close(4009, "a newer connection of this daemon replaced this one")
    daemons.set(daemonId, ws)
    const here = () => [...daemons.keys()].filter((id) => id !== daemonId)
    const elsewhere = this.elsewhere
    if (elsewhere === undefined) this.note(ws, { present: here() })
    else {
      elsewhere.attached(userId, daemonId)
      elsewhere.present(userId).then(
        (ids) => this.note(ws, { present: [...new Set([...here(), ...ids.filter((id) => id !== daemonId)])] }),
        () => this.note(ws, { present: here() })
      )
    }
    for (const [id, other] of daemons) if (id !== daemonId) this.note(other, { joined: daemonId })
    ws.on("message", (data: Buffer, isBinary) => {
      if (!isBinary) return
      const frame = decodeMeshFrame(data)
      if (frame === undefined) return ws.close(4400, "malformed mesh frame")
      const target = daemons.get(frame.id)
      if (target === undefined && this.elsewhere !== undefined && frame.id !== daemonId) {
        return this.elsewhere.forward(userId, daemonId, frame.id, frame.payload)
      }
      if (target === undefined || target.readyState !== WebSocket.OPEN || target.bufferedAmount > MAX_BUFFERED) {
        return this.note(ws, { unreachable: frame.id })
      }
      target.send(encodeMeshFrame(daemonId, frame.payload))
    })
    ws.on("close", () => {
      this.keys.delete(ws)
      if (daemons.get(daemonId) !== ws) return
      daemons.delete(daemonId)
      this.elsewhere?.detached(userId, daemonId)
      for (const other of daemons.values()) this.note(other, { left: daemonId })
      if (daemons.size === 0) this.users.delete(userId)
    })
  }

  active(): boolean {
    return this.keys.size > 0
  }

  /** Closes every socket that signed in with the key (revoked or rotated). */
  closeKey(keyId: string, reason: string) {
    for (const [ws, key] of this.keys) if (key === keyId) ws.close(TunnelClose.revoked, reason)
  }

  /** A frame that another replica forwarded from `from` to `to`, both of `userId`; false when `to` is not here. */
  deliver(userId: string, from: string, to: string, payload: Uint8Array): boolean {
    const target = this.users.get(userId)?.get(to)
    if (target === undefined || target.readyState !== WebSocket.OPEN || target.bufferedAmount > MAX_BUFFERED) {
      return false
    }
    target.send(encodeMeshFrame(from, payload))
    return true
  }

  /** Tells daemon `daemonId` of `userId`, if it is here, that `to` could not be reached. */
  unreachable(userId: string, daemonId: string, to: string) {
    const ws = this.users.get(userId)?.get(daemonId)
    if (ws !== undefined) this.note(ws, { unreachable: to })
  }

  /**
   * Daemon `daemonId` of `userId` now holds its socket on another replica (`moved`), or none
   * (`gone`): the user's daemons here hear it joined or left. A socket of it still held here is
   * stale (the daemon reconnected elsewhere) and is closed.
   */
  movedElsewhere(userId: string, daemonId: string, where: "moved" | "gone") {
    const daemons = this.users.get(userId)
    if (daemons === undefined) return
    const stale = daemons.get(daemonId)
    if (where === "gone" && stale !== undefined) return
    if (stale !== undefined) {
      daemons.delete(daemonId)
      stale.close(4009, "a newer connection of this daemon replaced this one")
    }
    const note: MeshNote = where === "moved" ? { joined: daemonId } : { left: daemonId }
    for (const ws of daemons.values()) this.note(ws, note)
  }

  closeAll() {
    for (const daemons of this.users.values()) for (const ws of daemons.values()) ws.terminate()
    this.users.clear()
  }
}

/** `GET /mesh` from a daemon: its relay key and daemon id, as on `/tunnel`. */
export const acceptMesh = async (
  ctx: RelayContext,
  mesh: { readonly switch: MeshSwitch; readonly sockets: WebSocketServer },
  req: IncomingMessage,
  socket: Duplex,
  head: Buffer
) => {
  const admitted = await admitDaemon(ctx, req, socket, "mesh")
  if (admitted === undefined) return
  mesh.sockets.handleUpgrade(
    req,
    socket,
    head,
    (ws) => mesh.switch.attach(admitted.record.user_id, admitted.daemonId, ws, admitted.record.key_id)
  )
}
