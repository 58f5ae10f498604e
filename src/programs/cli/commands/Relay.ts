import { Args, Command, Options } from "@effect/cli"
import { Config, Console, Effect, Layer, Option, Redacted } from "effect"
import * as fs from "node:fs"
import { AuditLive } from "../../../layers/audit/AuditLive.js"
import { RelayLiveOn } from "../../../layers/RelayLive.js"
import { relayStoreLayer } from "../../../layers/RelayStore.js"
import { ApiKeys } from "../../../services/ApiKeys.js"
import { Audit } from "../../../services/Audit.js"
import { RelaySessions } from "../../../services/RelaySessions.js"
import { enableRelay, rotateKey } from "../../relay/Enable.js"
import { relayDatabase, serveRelay } from "../../relay/RelayMain.js"
import { auditCommand, auditRetain } from "./RelayAudit.js"
import { devicesCommand, pairCommand } from "./RelayPair.js"

const dataDir = Options.directory("data-dir").pipe(
  Options.withDescription("Where the relay keeps its SQLite file (default $REPOWIRE_HOME/relay)"),
  Options.optional
)
const databaseUrl = Options.redacted("database-url").pipe(
  Options.withDescription("The relay's PostgreSQL store, postgres://… (default: the SQLite file under --data-dir)"),
  Options.withFallbackConfig(Config.redacted("REPOWIRE_RELAY__DATABASE_URL")),
  Options.optional
)
const json = Options.boolean("json").pipe(Options.withDescription("Print JSON"))
const caFile = Options.file("ca", { exists: "yes" }).pipe(
  Options.withDescription("Extra CA certificate to trust for the relay (self-signed relays)"),
  Options.optional
)
const seconds = (name: string, fallback: number, description: string) =>
  Options.integer(name).pipe(Options.withDefault(fallback), Options.withDescription(description))
const readCa = (ca: Option.Option<string>) => Option.getOrUndefined(Option.map(ca, (f) => fs.readFileSync(f)))

const serve = Command.make("serve", {
  host: Options.text("host").pipe(Options.withDefault("0.0.0.0"), Options.withDescription("Address to listen on")),
  port: Options.integer("port").pipe(Options.withDefault(8443)),
  tlsCert: Options.file("tls-cert", { exists: "yes" }).pipe(Options.optional),
  tlsKey: Options.file("tls-key", { exists: "yes" }).pipe(Options.optional),
  behindProxy: Options.boolean("behind-proxy").pipe(
    Options.withDescription("Plain HTTP behind a TLS proxy; forwarded headers are trusted only from --trusted-proxy")
  ),
  trustedProxy: Options.text("trusted-proxy").pipe(
    Options.repeated,
    Options.withDescription("Address (or IPv4 CIDR) of the TLS proxy; default loopback")
  ),
  closedRegistration: Options.boolean("closed-registration").pipe(
    Options.withDescription("Refuse `setup --relay` registrations; keys come only from `relay keys create`")
  ),
  headersTimeout: seconds("headers-timeout", 10, "Seconds a client has to send a request's head"),
  bodyTimeout: seconds("body-timeout", 10, "Seconds a client without a session has to send a request's body"),
  responseTimeout: seconds(
    "response-timeout",
    15,
    "Seconds a daemon has to start answering before the browser gets 504"
  ),
  maxUnauthenticated: Options.integer("max-unauthenticated").pipe(
    Options.withDefault(32),
    Options.withDescription("Connections one client address may hold before it signs in")
  ),
  maxTunnelsPerKey: Options.integer("max-tunnels-per-key").pipe(
    Options.withDefault(8),
    Options.withDescription("Tunnels one key may hold open at once")
  ),
  tunnelBufferMib: Options.integer("tunnel-buffer-mib").pipe(
    Options.withDefault(16),
    Options.withDescription("MiB one tunnel may hold for browsers that are not reading")
  ),
  daemonTtlDays: Options.integer("daemon-ttl-days").pipe(
    Options.withDefault(30),
    Options.withDescription("Days after which a daemon id not seen is forgotten")
  ),
  auditRetain,
  dataDir,
  databaseUrl,
  clusterSecret: Options.redacted("cluster-secret").pipe(
    Options.withDescription("Secret shared by the relay's replicas, signing their internal hops (with --internal-url)"),
    Options.withFallbackConfig(Config.redacted("REPOWIRE_RELAY__CLUSTER_SECRET")),
    Options.optional
  ),
  internalUrl: Options.text("internal-url").pipe(
    Options.withDescription("How the other replicas reach this one, e.g. http://10.0.0.5:8443 (the same port)"),
    Options.withFallbackConfig(Config.string("REPOWIRE_RELAY__INTERNAL_URL")),
    Options.optional
  )
}, (o) =>
  Effect.gen(function*() {
    const cert = Option.getOrUndefined(o.tlsCert)
    const key = Option.getOrUndefined(o.tlsKey)
    if ((cert === undefined) !== (key === undefined)) return yield* Effect.fail("give both --tls-cert and --tls-key")
    if (cert === undefined && !o.behindProxy) {
      return yield* Effect.fail("the relay needs TLS: give --tls-cert and --tls-key, or run --behind-proxy a TLS proxy")
    }
    if (cert !== undefined && o.behindProxy) {
      return yield* Effect.fail("--behind-proxy and --tls-cert exclude each other")
    }
    if (
      Math.min(
        o.headersTimeout,
        o.bodyTimeout,
        o.responseTimeout,
        o.maxUnauthenticated,
        o.maxTunnelsPerKey,
        o.tunnelBufferMib,
        o.daemonTtlDays
      ) < 1
    ) {
      return yield* Effect.fail("timeouts and limits must be at least 1")
    }
    const secret = Option.getOrUndefined(o.clusterSecret)
    const internalUrl = Option.getOrUndefined(o.internalUrl)
    if ((secret === undefined) !== (internalUrl === undefined)) {
      return yield* Effect.fail("a replica needs both --cluster-secret and --internal-url")
    }
    if (secret !== undefined && Option.isNone(o.databaseUrl)) {
      return yield* Effect.fail("replicas share their state in PostgreSQL: give --database-url")
    }
    if (secret !== undefined && Redacted.value(secret).length < 16) {
      return yield* Effect.fail("--cluster-secret must be at least 16 characters")
    }
    if (internalUrl !== undefined && !/^https?:\/\/\S+$/.test(internalUrl)) {
      return yield* Effect.fail("--internal-url must be an http:// or https:// URL")
    }
    return yield* serveRelay({
      host: o.host,
      port: o.port,
      tls: cert === undefined || key === undefined
        ? undefined
        : { cert: fs.readFileSync(cert), key: fs.readFileSync(key) },
      trustedProxies: o.behindProxy ? (o.trustedProxy.length > 0 ? o.trustedProxy : ["127.0.0.1", "::1"]) : [],
      registration: !o.closedRegistration,
      headersTimeoutMs: o.headersTimeout * 1000,
      bodyTimeoutMs: o.bodyTimeout * 1000,
      responseTimeoutMs: o.responseTimeout * 1000,
      maxUnauthenticatedPerClient: o.maxUnauthenticated,
      maxTunnelsPerKey: o.maxTunnelsPerKey,
      tunnelBufferBytes: o.tunnelBufferMib * 1024 * 1024,
      daemonTtlMs: o.daemonTtlDays * 86_400_000,
      dataDir: Option.getOrUndefined(o.dataDir),
      databaseUrl: Option.getOrUndefined(o.databaseUrl),
      cluster: secret === undefined ? undefined : { secret },
      internalUrl,
      auditRetainMs: Option.getOrUndefined(o.auditRetain)
    })
  })).pipe(Command.withDescription("Run the relay: HTTPS for browsers, WSS tunnels for daemons"))

/**
 * The key commands on the relay's store. On SQLite (the data dir) they append their audit
 * records beside the relay's; with a database URL everything goes to PostgreSQL, and no file
 * is made under the data dir (the audit key stays where each replica has it, its --data-dir).
 */
const withKeys = <A, E>(
  store: { readonly dataDir: Option.Option<string>; readonly databaseUrl: Option.Option<Redacted.Redacted> },
  f: Effect.Effect<A, E, ApiKeys | RelaySessions | Audit>
) => {
  const databaseUrl = Option.getOrUndefined(store.databaseUrl)
  const sqliteFile = relayDatabase(Option.getOrUndefined(store.dataDir))
  const relay = RelayLiveOn(relayStoreLayer({ databaseUrl, sqliteFile }))
  // No key dir: these commands never sign (the relay signs their records on its next tick).
  return f.pipe(Effect.provide(AuditLive(undefined).pipe(Layer.provideMerge(relay))), Effect.scoped)
}

/** `key_revoked` for each key, under the user it belonged to. */
const auditRevoked = (keyIds: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const audit = yield* Audit
    const owners = new Map((yield* Effect.flatMap(ApiKeys, (k) => k.list)).map((k) => [k.key_id, k.user_id]))
    keyIds.forEach((keyId) =>
      audit.record({ kind: "key_revoked", user_id: owners.get(keyId) ?? null, detail: { key_id: keyId, via: "cli" } })
    )
  })

const create = Command.make("create", {
  user: Options.text("user").pipe(Options.withDescription("User id the key belongs to")),
  label: Options.text("label").pipe(Options.optional),
  dataDir,
  databaseUrl
}, ({ dataDir, databaseUrl, label, user }) =>
  withKeys(
    { dataDir, databaseUrl },
    Effect.gen(function*() {
      const minted = yield* Effect.flatMap(ApiKeys, (k) => k.create(user, Option.getOrUndefined(label)))
      yield* Effect.map(Audit, (a) =>
        a.record({ kind: "key_minted", user_id: user, detail: { key_id: minted.record.key_id, via: "cli" } }))
      yield* Console.error(
        `key ${minted.record.key_id} for user ${user} (shown once; the relay keeps only its digest):`
      )
      yield* Console.log(Redacted.value(minted.key))
    })
  )).pipe(Command.withDescription("Mint a key for a user id and print it once"))

const list = Command.make("list", { json, dataDir, databaseUrl }, ({ dataDir, databaseUrl, json }) =>
  withKeys(
    { dataDir, databaseUrl },
    Effect.gen(function*() {
      const keys = yield* Effect.flatMap(ApiKeys, (k) => k.list)
      if (json) return yield* Console.log(JSON.stringify({ keys }))
      yield* Console.log(["key_id", "user_id", "label", "created_at", "revoked_at"].join("\t"))
      for (const k of keys) {
        yield* Console.log([k.key_id, k.user_id, k.label ?? "", k.created_at, k.revoked_at ?? ""].join("\t"))
      }
    })
  )).pipe(Command.withDescription("List keys (ids and owners, never the keys)"))

const revoke = Command.make(
  "revoke",
  { id: Args.text({ name: "key-id-or-user-id" }), dataDir, databaseUrl },
  ({ dataDir, databaseUrl, id }) =>
    withKeys(
      { dataDir, databaseUrl },
      Effect.gen(function*() {
        const revoked = yield* Effect.flatMap(ApiKeys, (k) => k.revoke(id))
        if (revoked.length === 0) return yield* Effect.fail(`no active key matches ${id}`)
        yield* auditRevoked(revoked)
        yield* Effect.forEach(revoked, (keyId) => Effect.flatMap(RelaySessions, (s) => s.removeByKey(keyId)))
        yield* Console.log(`revoked ${revoked.join(", ")}; their sessions ended, their tunnels close within seconds`)
      })
    )
).pipe(Command.withDescription("Revoke a key (or every key of a user)"))

const keys = Command.make("keys").pipe(
  Command.withSubcommands([create, list, revoke]),
  Command.withDescription("Manage relay keys on the relay host")
)

const rotate = Command.make("rotate-key", { ca: caFile }, ({ ca }) =>
  Effect.gen(function*() {
    const result = yield* rotateKey({ ca: readCa(ca) })
    yield* Console.log(
      `new relay key ${result.key_id} saved to config.yaml; ${result.revoked_key_id ?? "the old key"} revoked`
    )
    yield* Console.log(
      result.daemon_notified
        ? "the daemon reconnected with it"
        : "no running daemon answered; it will use the new key when it starts"
    )
  })).pipe(Command.withDescription("Mint a new relay key, revoke the old one, reconnect the daemon"))

const register = Command.make("register", {
  url: Options.text("url").pipe(Options.withDescription("The relay, e.g. https://relay.example.com")),
  label: Options.text("label").pipe(Options.optional),
  ca: caFile
}, ({ ca, label, url }) =>
  Effect.gen(function*() {
    const result = yield* enableRelay({ url, label: Option.getOrUndefined(label), ca: readCa(ca) })
    yield* Console.log(
      `registered at ${url} as ${result.user_id} (daemon ${result.daemon_id}); key saved to config.yaml`
    )
  })).pipe(Command.withDescription("Register this daemon at a relay (what `setup --relay URL` does)"))

export const relayCommand = Command.make("relay").pipe(
  Command.withSubcommands([serve, keys, rotate, register, pairCommand, devicesCommand, auditCommand]),
  Command.withDescription("The relay server, its keys, and this daemon's link to it")
)
