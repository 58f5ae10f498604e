import { Migrator, SqlClient } from "@effect/sql"
import { Effect } from "effect"

/** The daemon's schema migrations, applied once each in key order by the SQLite migrator. */
export const migrations = Migrator.fromRecord({
  "0001_mesh": Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    yield* sql`CREATE TABLE peers (
      peer_id TEXT PRIMARY KEY,
      display_name TEXT NOT NULL,
      base_name TEXT NOT NULL,
      path TEXT,
      machine TEXT NOT NULL,
      backend TEXT NOT NULL,
      circle TEXT NOT NULL,
      role TEXT NOT NULL,
      status TEXT NOT NULL,
      description TEXT NOT NULL DEFAULT '',
      metadata TEXT NOT NULL DEFAULT '{}',
      token_digest TEXT NOT NULL,
      last_seen INTEGER NOT NULL,
      created_at INTEGER NOT NULL
    )`
    yield* sql`CREATE INDEX peers_by_name ON peers (display_name)`
    yield* sql`CREATE INDEX peers_by_circle ON peers (circle)`
    yield* sql`CREATE UNIQUE INDEX peers_by_token ON peers (token_digest)`
    yield* sql`CREATE TABLE messages (
      id TEXT PRIMARY KEY,
      kind TEXT NOT NULL,
      from_peer TEXT NOT NULL,
      from_name TEXT NOT NULL,
      to_peer TEXT NOT NULL,
      to_name TEXT NOT NULL,
      circle TEXT NOT NULL,
      text TEXT NOT NULL,
      correlation_id TEXT,
      reply_to TEXT,
      attachments TEXT NOT NULL DEFAULT '[]',
      state TEXT NOT NULL,
      created_at INTEGER NOT NULL,
      expires_at INTEGER NOT NULL
    )`
    yield* sql`CREATE INDEX messages_pending ON messages (to_peer, state, created_at)`
    yield* sql`CREATE TABLE asks (
      correlation_id TEXT PRIMARY KEY,
      message_id TEXT NOT NULL,
      from_peer TEXT NOT NULL,
      from_name TEXT NOT NULL,
      to_peer TEXT NOT NULL,
      to_name TEXT NOT NULL,
      circle TEXT NOT NULL,
      text TEXT NOT NULL,
      reply_to TEXT,
      attachments TEXT NOT NULL DEFAULT '[]',
      state TEXT NOT NULL,
      reply TEXT,
      reply_attachments TEXT NOT NULL DEFAULT '[]',
      created_at INTEGER NOT NULL,
      acked_at INTEGER
    )`
    yield* sql`CREATE INDEX asks_inbound ON asks (to_peer, state)`
    yield* sql`CREATE INDEX asks_outbound ON asks (from_peer, state)`
    yield* sql`CREATE TABLE events (
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      type TEXT NOT NULL,
      circle TEXT NOT NULL,
      peer_a TEXT,
      peer_b TEXT,
      at INTEGER NOT NULL,
      body TEXT NOT NULL
    )`
    yield* sql`CREATE INDEX events_by_peer_a ON events (peer_a, id)`
    yield* sql`CREATE INDEX events_by_peer_b ON events (peer_b, id)`
  }),
  // IF NOT EXISTS: databases from before this migration made the table on open.
  "0002_attachments": Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    yield* sql`CREATE TABLE IF NOT EXISTS attachments (
      id           TEXT PRIMARY KEY,
      name         TEXT NOT NULL,
      size         INTEGER NOT NULL,
      content_type TEXT NOT NULL,
      path         TEXT NOT NULL,
      created_at   INTEGER NOT NULL,
      expires_at   INTEGER NOT NULL
    )`
    yield* sql`CREATE INDEX IF NOT EXISTS attachments_expires ON attachments (expires_at)`
  }),
  "0003_lifecycle": Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    yield* sql`CREATE TABLE schedules (
      id            TEXT PRIMARY KEY,
      owner_peer    TEXT NOT NULL,
      owner_name    TEXT NOT NULL,
      to_peer       TEXT NOT NULL,
      to_name       TEXT NOT NULL,
      circle        TEXT,
      kind          TEXT NOT NULL,
      text          TEXT NOT NULL,
      at            INTEGER,
      cron          TEXT,
      next_fire_at  INTEGER NOT NULL,
      last_fired_at INTEGER,
      last_error    TEXT,
      created_at    INTEGER NOT NULL
    )`
    yield* sql`CREATE INDEX schedules_due ON schedules (next_fire_at)`
    yield* sql`ALTER TABLE peers ADD COLUMN turn_state TEXT`
    // Windows this daemon opened: only these may be closed by kill_peer, across restarts.
    yield* sql`CREATE TABLE spawned (
      peer_id     TEXT PRIMARY KEY,
      tmux_socket TEXT,
      session     TEXT NOT NULL,
      window_id   TEXT NOT NULL,
      pane_id     TEXT NOT NULL,
      pane_pid    INTEGER NOT NULL,
      spawned_by  TEXT NOT NULL,
      command     TEXT NOT NULL,
      path        TEXT NOT NULL,
      created_at  INTEGER NOT NULL
    )`
  }),
  // The sealed tunnel: one-time pairing secrets (their Noise psk, not the link's key) and the
  // browsers paired through them, by static public key.
  "0004_sealed": Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    yield* sql`CREATE TABLE pairing_secrets (
      id         TEXT PRIMARY KEY,
      psk        TEXT NOT NULL,
      created_at INTEGER NOT NULL,
      expires_at INTEGER NOT NULL,
      used_at    INTEGER
    )`
    yield* sql`CREATE TABLE devices (
      id          TEXT PRIMARY KEY,
      public_key  TEXT NOT NULL UNIQUE,
      fingerprint TEXT NOT NULL,
      label       TEXT NOT NULL,
      created_at  INTEGER NOT NULL,
      last_seen   INTEGER NOT NULL,
      revoked_at  INTEGER
    )`
  }),
  // One mesh across machines: single-use join codes, the linked daemons by pinned identity key,
  // remote peers as rows marked with their link, messages that came over a link (so each is
  // taken once), and what must still reach a linked daemon (receipts and acks).
  "0005_mesh_links": Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    yield* sql`CREATE TABLE mesh_codes (
      id         TEXT PRIMARY KEY,
      psk        TEXT NOT NULL,
      created_at INTEGER NOT NULL,
      expires_at INTEGER NOT NULL,
      used_at    INTEGER
    )`
    yield* sql`CREATE TABLE mesh_links (
      machine     TEXT PRIMARY KEY,
      daemon_id   TEXT NOT NULL,
      public_key  TEXT NOT NULL UNIQUE,
      fingerprint TEXT NOT NULL,
      created_at  INTEGER NOT NULL,
      last_seen   INTEGER
    )`
    yield* sql`ALTER TABLE peers ADD COLUMN link TEXT`
    yield* sql`CREATE TABLE mesh_inbound (
      origin                TEXT NOT NULL,
      message_id            TEXT NOT NULL,
      local_message_id      TEXT,
      origin_correlation_id TEXT,
      local_correlation_id  TEXT,
      PRIMARY KEY (origin, message_id)
    )`
    yield* sql`CREATE INDEX mesh_inbound_local ON mesh_inbound (local_message_id)`
    yield* sql`CREATE INDEX mesh_inbound_ask ON mesh_inbound (local_correlation_id)`
    yield* sql`CREATE TABLE mesh_outbox (
      id         INTEGER PRIMARY KEY AUTOINCREMENT,
      machine    TEXT NOT NULL,
      key        TEXT NOT NULL,
      body       TEXT NOT NULL,
      created_at INTEGER NOT NULL,
      UNIQUE (machine, key)
    )`
    yield* sql`CREATE TABLE mesh_cursor (name TEXT PRIMARY KEY, event_id INTEGER NOT NULL)`
  }),
  // A message another machine refused for good fails (never retried); its ask says why.
  "0006_failed_messages": Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    yield* sql`ALTER TABLE asks ADD COLUMN failure TEXT`
  })
})
