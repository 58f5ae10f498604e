import { Option, Schema } from "effect"
import type { OutboxItem } from "../../protocol/MeshWire.js"
import type { Database } from "../../services/Database.js"

export const LinkRow = Schema.Struct({
  machine: Schema.String,
  daemon_id: Schema.String,
  public_key: Schema.String,
  fingerprint: Schema.String,
  created_at: Schema.Number,
  last_seen: Schema.NullOr(Schema.Number)
})
export type LinkRow = typeof LinkRow.Type

const CodeRow = Schema.Struct({ psk: Schema.String, expires_at: Schema.Number, used_at: Schema.NullOr(Schema.Number) })
const InboundRow = Schema.Struct({
  origin: Schema.String,
  message_id: Schema.String,
  local_message_id: Schema.NullOr(Schema.String),
  origin_correlation_id: Schema.NullOr(Schema.String),
  local_correlation_id: Schema.NullOr(Schema.String)
})
export type InboundRow = typeof InboundRow.Type
const OutboxRow = Schema.Struct({ id: Schema.Number, body: Schema.parseJson(Schema.Unknown) })
const Cursor = Schema.Struct({ event_id: Schema.Number })

/** The mesh's tables (migration 0005), as synchronous steps: every caller is synchronous anyway. */
export const makeMeshStore = (db: Database["Type"]) => {
  const { now } = db
  return {
    insertCode: (id: string, psk: string, at: number, expiresAt: number) => {
      now.run("INSERT INTO mesh_codes (id, psk, created_at, expires_at) VALUES (?, ?, ?, ?)", [id, psk, at, expiresAt])
      // Spent and expired codes are of no further use: cleared here rather than by a timer.
      now.run("DELETE FROM mesh_codes WHERE expires_at <= ?", [at - 86_400_000])
    },
    code: (id: string) => now.one(CodeRow, "SELECT psk, expires_at, used_at FROM mesh_codes WHERE id = ?", [id]),
    spendCode: (id: string, at: number) =>
      now.run("UPDATE mesh_codes SET used_at = ? WHERE id = ? AND used_at IS NULL", [at, id]).changes === 1,

    links: () => now.all(LinkRow, "SELECT * FROM mesh_links ORDER BY machine"),
    linkByKey: (publicKey: string) =>
      Option.getOrUndefined(now.one(LinkRow, "SELECT * FROM mesh_links WHERE public_key = ?", [publicKey])),
    linkByMachine: (machine: string) =>
      Option.getOrUndefined(now.one(LinkRow, "SELECT * FROM mesh_links WHERE machine = ?", [machine])),
    /** Pins a daemon's key under its machine name; the same key re-linking keeps one row. */
    pin: (row: LinkRow) => {
      now.run("DELETE FROM mesh_links WHERE public_key = ? OR machine = ?", [row.public_key, row.machine])
      now.run(
        "INSERT INTO mesh_links (machine, daemon_id, public_key, fingerprint, created_at, last_seen) VALUES (?, ?, ?, ?, ?, ?)",
        [row.machine, row.daemon_id, row.public_key, row.fingerprint, row.created_at, row.last_seen]
      )
    },
    unpin: (machine: string) => {
      now.run("DELETE FROM mesh_links WHERE machine = ?", [machine])
      now.run("DELETE FROM mesh_outbox WHERE machine = ?", [machine])
    },
    seen: (machine: string, at: number, daemonId: string) =>
      now.run("UPDATE mesh_links SET last_seen = ?, daemon_id = ? WHERE machine = ?", [at, daemonId, machine]),

    inbound: (origin: string, messageId: string) =>
      Option.getOrUndefined(
        now.one(InboundRow, "SELECT * FROM mesh_inbound WHERE origin = ? AND message_id = ?", [origin, messageId])
      ),
    /** The message that came over a link which a local delivery or ack event is about. */
    inboundOf: (localMessageId: string | null, localCorrelationId: string | null) =>
      Option.getOrUndefined(
        now.one(
          InboundRow,
          "SELECT * FROM mesh_inbound WHERE local_message_id = ? OR local_correlation_id = ? LIMIT 1",
          [localMessageId ?? "", localCorrelationId ?? ""]
        )
      ),
    insertInbound: (row: InboundRow) =>
      now.run(
        `INSERT INTO mesh_inbound (origin, message_id, local_message_id, origin_correlation_id, local_correlation_id)
         VALUES (?, ?, ?, ?, ?)`,
        [row.origin, row.message_id, row.local_message_id, row.origin_correlation_id, row.local_correlation_id]
      ),

    queueOut: (machine: string, key: string, item: OutboxItem, at: number) =>
      now.run("INSERT OR IGNORE INTO mesh_outbox (machine, key, body, created_at) VALUES (?, ?, ?, ?)", [
        machine,
        key,
        JSON.stringify(item),
        at
      ]),
    outbox: (machine: string) =>
      now.all(OutboxRow, "SELECT id, body FROM mesh_outbox WHERE machine = ? ORDER BY id LIMIT 500", [machine]),
    doneOut: (machine: string, id: number) =>
      now.run("DELETE FROM mesh_outbox WHERE machine = ? AND id = ?", [machine, id]),

    cursor: () =>
      Option.match(now.one(Cursor, "SELECT event_id FROM mesh_cursor WHERE name = 'events'"), {
        onNone: () => undefined,
        onSome: (c) => c.event_id
      }),
    setCursor: (eventId: number) =>
      now.run(
        "INSERT INTO mesh_cursor (name, event_id) VALUES ('events', ?) ON CONFLICT (name) DO UPDATE SET event_id = excluded.event_id",
        [eventId]
      )
  }
}

export type MeshStore = ReturnType<typeof makeMeshStore>
