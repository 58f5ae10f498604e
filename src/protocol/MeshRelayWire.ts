import { Schema } from "effect"

/**
 * The relay's daemon-to-daemon switch (`GET /mesh`, key in Authorization, daemon id in a header).
 * The relay routes opaque bytes between daemons of one user; it never reads them.
 *
 * Binary frames, both ways: 1 byte id length, the id (UTF-8), then the payload. From a daemon the
 * id names the daemon to reach; from the relay it names the daemon that sent it.
 * Text frames, relay → daemon only: JSON presence notes (which daemons of the user are connected).
 */
export const MESH_PATH = "/mesh"

/** The most a daemon may put in one frame: a sealed record of 64 KiB plus its headers. */
export const MAX_MESH_FRAME = 80 * 1024

export const MeshNote = Schema.Union(
  Schema.Struct({ present: Schema.Array(Schema.String) }),
  Schema.Struct({ joined: Schema.String }),
  Schema.Struct({ left: Schema.String }),
  Schema.Struct({ unreachable: Schema.String })
)
export type MeshNote = typeof MeshNote.Type
export const MeshNoteJson = Schema.parseJson(MeshNote)

const encoder = new TextEncoder()
const decoder = new TextDecoder("utf-8", { fatal: true })

export const encodeMeshFrame = (id: string, payload: Uint8Array): Uint8Array => {
  const idBytes = encoder.encode(id)
  const out = new Uint8Array(1 + idBytes.length + payload.length)
  out[0] = idBytes.length
  out.set(idBytes, 1)
  out.set(payload, 1 + idBytes.length)
  return out
}

/** The id and payload of a frame, or undefined when it is malformed. */
export const decodeMeshFrame = (frame: Uint8Array): { id: string; payload: Uint8Array } | undefined => {
  if (frame.length < 2) return undefined
  const length = frame[0]!
  if (length === 0 || frame.length < 1 + length) return undefined
  try {
    return { id: decoder.decode(frame.subarray(1, 1 + length)), payload: frame.subarray(1 + length) }
  } catch {
    return undefined
  }
}
