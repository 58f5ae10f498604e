import { NodeContext } from "@effect/platform-node"
import { Migrator, SqlClient } from "@effect/sql"
import { SqliteClient, SqliteMigrator } from "@effect/sql-sqlite-node"
import { Effect, Layer } from "effect"
import { GLOBAL_CHAIN } from "../protocol/Audit.js"
import { CLUSTER_CHANNEL } from "../protocol/ClusterSignal.js"

/**
 * A PostgreSQL trigger on a directory table (`tunnel_directory`, `mesh_directory`) that tells
 * every replica (ClusterSignalsPg) when a row comes, goes or changes replica, as signal `tag`.
 */
const movedSignal = (sql: SqlClient.SqlClient, table: string, tag: string) => {
  const fn = `repowire_${table.replace("_directory", "")}_moved`
  return Effect.all([
    sql.unsafe(`CREATE FUNCTION ${fn}() RETURNS trigger LANGUAGE plpgsql AS $$
      DECLARE row ${table};
      BEGIN
        IF TG_OP = 'DELETE' THEN row := OLD; ELSE row := NEW; END IF;
        PERFORM pg_notify('${CLUSTER_CHANNEL}', json_build_object('_tag', '${tag}',
          'user_id', row.user_id, 'daemon_id', row.daemon_id,
          'replica_id', CASE WHEN TG_OP = 'DELETE' THEN NULL ELSE row.replica_id END)::text);
        RETURN NULL;
      END $$`),
    sql.unsafe(`CREATE TRIGGER ${table}_moved AFTER INSERT OR DELETE OR UPDATE OF replica_id ON ${table}
      FOR EACH ROW EXECUTE FUNCTION ${fn}()`)
  ], { discard: true })
}

/**
 * The relay's schema, portable: the same migrations run on SQLite and on PostgreSQL
 * (RelayStorePg). Epoch milliseconds are BIGINT: 64-bit in PostgreSQL, INTEGER affinity in SQLite.
 */
export const relayMigrations = Migrator.fromRecord({
  "0001_relay": Effect.flatMap(SqlClient.SqlClient, (sql) =>
    Effect.all([
      sql`CREATE TABLE users (user_id TEXT PRIMARY KEY, created_at TEXT NOT NULL)`,
      sql`CREATE TABLE api_keys (
        key_id TEXT PRIMARY KEY,
        digest TEXT NOT NULL UNIQUE,
        user_id TEXT NOT NULL REFERENCES users(user_id),
        label TEXT,
        created_at TEXT NOT NULL,
        revoked_at TEXT
      )`,
      sql`CREATE TABLE sessions (
        digest TEXT PRIMARY KEY,
        user_id TEXT NOT NULL,
        key_id TEXT NOT NULL,
        daemon_id TEXT,
        expires_at BIGINT NOT NULL
      )`,
      sql`CREATE INDEX sessions_key ON sessions(key_id)`,
      sql`CREATE TABLE daemons (
        user_id TEXT NOT NULL,
        daemon_id TEXT NOT NULL,
        last_seen TEXT NOT NULL,
        PRIMARY KEY (user_id, daemon_id)
      )`
    ], { discard: true })),
  // Forgetting daemon ids past their TTL scans by last_seen.
  "0002_daemons_last_seen": Effect.flatMap(
    SqlClient.SqlClient,
    (sql) => sql`CREATE INDEX daemons_last_seen ON daemons(last_seen)`
  ),
  // Rate limits shared by every process on the store (RateLimitsLive); expired windows are pruned by window_end.
  "0003_rate_limits": Effect.flatMap(SqlClient.SqlClient, (sql) =>
    Effect.all([
      sql`CREATE TABLE rate_limits (
        bucket TEXT NOT NULL,
        client TEXT NOT NULL,
        window_end BIGINT NOT NULL,
        hits INTEGER NOT NULL,
        PRIMARY KEY (bucket, client)
      )`,
      sql`CREATE INDEX rate_limits_window_end ON rate_limits(window_end)`
    ], { discard: true })),
  // The audit chains (layers/audit): every record on its chain, each chain's head, the signed checkpoints.
  // No index on `at`: retention scans hourly, and every append would pay for one. On SQLite the
  // records are clustered on their key (WITHOUT ROWID): one B-tree insert per record, not two.
  "0004_audit": Effect.flatMap(SqlClient.SqlClient, (sql) =>
    Effect.all([
      sql`CREATE TABLE audit_records (
        chain TEXT NOT NULL,
        seq BIGINT NOT NULL,
        at TEXT NOT NULL,
        kind TEXT NOT NULL,
        user_id TEXT,
        detail TEXT NOT NULL,
        prev_hash TEXT NOT NULL,
        hash TEXT NOT NULL,
        PRIMARY KEY (chain, seq)
      ) ${sql.onDialectOrElse({ sqlite: () => sql.literal("WITHOUT ROWID"), orElse: () => sql.literal("") })}`,
      sql`CREATE TABLE audit_chains (
        chain TEXT PRIMARY KEY,
        seq BIGINT NOT NULL,
        hash TEXT NOT NULL,
        checkpoint_seq BIGINT NOT NULL,
        checkpoint_ms BIGINT NOT NULL
      )`,
      sql`CREATE TABLE audit_checkpoints (
        chain TEXT NOT NULL,
        seq BIGINT NOT NULL,
        hash TEXT NOT NULL,
        at TEXT NOT NULL,
        cut INTEGER NOT NULL,
        signature TEXT NOT NULL,
        PRIMARY KEY (chain, seq, cut)
      )`
    ], { discard: true })),
  // Which replica holds which tunnel (TunnelDirectoryLive); a holder renews its rows by replica_id.
  "0005_tunnel_directory": Effect.flatMap(SqlClient.SqlClient, (sql) =>
    Effect.all([
      sql`CREATE TABLE tunnel_directory (
        user_id TEXT NOT NULL,
        daemon_id TEXT NOT NULL,
        replica_id TEXT NOT NULL,
        internal_url TEXT NOT NULL,
        expires_at BIGINT NOT NULL,
        PRIMARY KEY (user_id, daemon_id)
      )`,
      sql`CREATE INDEX tunnel_directory_replica ON tunnel_directory(replica_id)`
    ], { discard: true })),
  // PostgreSQL tells every replica at once (ClusterSignalsPg) when a key is revoked, by any
  // writer, and when a tunnel's row changes hands; renewals touch only expires_at and say nothing.
  "0006_cluster_signals": Effect.flatMap(SqlClient.SqlClient, (sql) =>
    sql.onDialectOrElse({
      pg: () =>
        Effect.all([
          sql.unsafe(`CREATE FUNCTION repowire_key_revoked() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
              PERFORM pg_notify('${CLUSTER_CHANNEL}', json_build_object('_tag', 'KeyRevoked', 'key_id', NEW.key_id)::text);
              RETURN NULL;
            END $$`),
          sql.unsafe(`CREATE TRIGGER api_keys_revoked AFTER UPDATE OF revoked_at ON api_keys FOR EACH ROW
            WHEN (OLD.revoked_at IS NULL AND NEW.revoked_at IS NOT NULL) EXECUTE FUNCTION repowire_key_revoked()`),
          movedSignal(sql, "tunnel_directory", "TunnelMoved")
        ], { discard: true }),
      orElse: () => Effect.void
    })),
  // Which replica holds which daemon's /mesh socket (MeshDirectoryLive), as the tunnel directory
  // does for tunnels; on PostgreSQL every replica hears at once when one comes or goes.
  "0007_mesh_directory": Effect.flatMap(SqlClient.SqlClient, (sql) =>
    Effect.all([
      sql`CREATE TABLE mesh_directory (
        user_id TEXT NOT NULL,
        daemon_id TEXT NOT NULL,
        replica_id TEXT NOT NULL,
        internal_url TEXT NOT NULL,
        expires_at BIGINT NOT NULL,
        PRIMARY KEY (user_id, daemon_id)
      )`,
      sql`CREATE INDEX mesh_directory_replica ON mesh_directory(replica_id)`,
      sql.onDialectOrElse({
        pg: () => movedSignal(sql, "mesh_directory", "MeshMoved"),
        orElse: () => Effect.void
      })
    ], { discard: true })),
  // One row per audit event instead of one per chain position: the event's global record and its
  // user's record side by side (Batch.linkBatch, EventRow), so an append writes half the rows. On
  // SQLite the global seq is the rowid (INTEGER PRIMARY KEY: rows land at the end of the table).
  // Records of 0004 stay where they were (renamed), and the view `audit_records` shows both as
  // the records they always were, one per chain position, for every reader.
  "0008_audit_events": Effect.flatMap(SqlClient.SqlClient, (sql) =>
    Effect.all([
      sql`ALTER TABLE audit_records RENAME TO audit_records_legacy`,
      sql`CREATE TABLE audit_events (
        seq ${sql.onDialectOrElse({ sqlite: () => sql.literal("INTEGER"), orElse: () => sql.literal("BIGINT") })}
          PRIMARY KEY,
        at TEXT NOT NULL,
        kind TEXT NOT NULL,
        user_id TEXT,
        detail TEXT NOT NULL,
        prev_hash TEXT NOT NULL,
        hash TEXT NOT NULL,
        user_chain TEXT,
        user_seq BIGINT,
        user_prev_hash TEXT,
        user_hash TEXT
      )`,
      // Unique, as (chain, seq) was: a stale head of a user's chain fails the batch, never forks it.
      sql`CREATE UNIQUE INDEX audit_events_user ON audit_events (user_chain, user_seq)`,
      sql`CREATE VIEW audit_records AS
        SELECT chain, seq, at, kind, user_id, detail, prev_hash, hash FROM audit_records_legacy
        UNION ALL
        SELECT ${
        sql.literal(`'${GLOBAL_CHAIN}'`)
      } AS chain, seq, at, kind, user_id, detail, prev_hash, hash FROM audit_events
        UNION ALL
        SELECT user_chain AS chain, user_seq AS seq, at, kind, user_id, detail, user_prev_hash AS prev_hash,
          user_hash AS hash
        FROM audit_events WHERE user_chain IS NOT NULL`
    ], { discard: true }))
})

/** The relay's SQLite file (users, key digests, sessions, daemons seen), migrated on open. */
export const RelayStoreLive = (filename: string) =>
  SqliteMigrator.layer({ loader: relayMigrations }).pipe(
    Layer.provideMerge(SqliteClient.layer({ filename })),
    Layer.provide(NodeContext.layer)
  )

/** The same store in memory, for tests. */
export const RelayStoreMemory = RelayStoreLive(":memory:")
