import { HelpDoc, Options } from "@effect/cli"
import { Command } from "@effect/cli"
import { Config, Console, Effect, Either, Option, Redacted } from "effect"
import { createPrivateKey, createPublicKey } from "node:crypto"
import * as fs from "node:fs"
import * as path from "node:path"
import { fetchAudit } from "../../../layers/audit/AuditFetch.js"
import { AUDIT_KEY_FILE } from "../../../layers/audit/AuditKey.js"
import { readPin, writePin } from "../../../layers/audit/AuditPin.js"
import { readChains } from "../../../layers/audit/AuditStore.js"
import { verifyChain } from "../../../layers/audit/Verify.js"
import { loadConfig } from "../../../layers/ConfigLive.js"
import { relayStoreLayer } from "../../../layers/RelayStore.js"
import { type AuditBroken, type AuditRecord, userChain } from "../../../protocol/Audit.js"
import { resolvePaths } from "../../../protocol/HomeFiles.js"
import { relayApiBase } from "../../relay/RelayClient.js"

const UNITS: Record<string, number> = { s: 1000, m: 60_000, h: 3600_000, d: 86_400_000 }

/** "90d", "12h", "30m", "45s": how long audit records are kept. */
export const parseRetention = (text: string): number => {
  const match = /^(\d+)([smhd])$/.exec(text.trim())
  if (match === null || Number(match[1]) < 1) throw new Error(`${text}: give a duration like 90d, 12h, 30m`)
  return Number(match[1]) * UNITS[match[2]!]!
}

export const auditRetain = Options.text("audit-retain").pipe(
  Options.withDescription("Drop audit records older than this (e.g. 90d), behind a signed checkpoint marking the cut"),
  Options.mapTryCatch(parseRetention, (e) => HelpDoc.p((e as Error).message)),
  Options.optional
)

const line = (r: AuditRecord) => [r.seq, r.at, r.kind, r.user_id ?? "-", JSON.stringify(r.detail)].join("\t")

const brokenLine = (e: AuditBroken) => `audit chain ${e.chain} fails at seq ${e.seq} (${e.problem}): ${e.message}`

/** The relay's SQLite file in its data dir (what `relay serve --data-dir` writes). */
const RELAY_DB_FILE = "relay.db"

/** The chains from the relay's store: PostgreSQL with a database URL, else the SQLite file in the data dir. */
const chainsIn = (dataDir: string, databaseUrl: Redacted.Redacted | undefined, only: string | undefined) =>
  Effect.gen(function*() {
    const file = path.join(dataDir, RELAY_DB_FILE)
    if (databaseUrl === undefined && !fs.existsSync(file)) return yield* Effect.fail(`no audit log in ${dataDir}`)
    return yield* readChains(only).pipe(
      Effect.provide(relayStoreLayer({ databaseUrl, sqliteFile: Effect.succeed(file) })),
      Effect.mapError((e) => `cannot read the relay's store: ${e.message}`)
    )
  })

/** The relay host: every chain (or one user's) straight from the store, every hash and signature checked. */
const operator = (
  dataDir: string,
  o: { user?: string; since: number; json: boolean; verify: boolean; databaseUrl: Redacted.Redacted | undefined }
) =>
  Effect.gen(function*() {
    const chains = yield* chainsIn(dataDir, o.databaseUrl, o.user === undefined ? undefined : userChain(o.user))
    const keyFile = path.join(dataDir, AUDIT_KEY_FILE)
    const publicKey = yield* Effect.try({
      try: () => createPublicKey(createPrivateKey(fs.readFileSync(keyFile))).export({ format: "jwk" }).x!,
      catch: () => `cannot read the audit key ${keyFile}`
    })
    const results = chains.map((c) => ({ c, result: verifyChain({ ...c, publicKey }) }))
    const broken = results.flatMap(({ result }) => Either.isLeft(result) ? [result.left] : [])
    const shown = (c: (typeof chains)[number]) => (o.verify ? [] : c.records.filter((r) => r.seq > o.since))
    if (o.json) {
      yield* Console.log(JSON.stringify({
        ok: broken.length === 0,
        public_key: publicKey,
        chains: results.map(({ c, result }) =>
          Either.match(result, {
            onLeft: (e) => ({ chain: c.chain, ok: false, seq: e.seq, problem: e.problem, message: e.message }),
            onRight: (v) => ({ ok: true, ...v, ...(o.verify ? {} : { entries: shown(c) }) })
          })
        )
      }))
    } else {
      for (const { c, result } of results) {
        if (Either.isLeft(result)) {
          yield* Console.log(brokenLine(result.left))
          continue
        }
        const v = result.right
        yield* Console.log(
          `chain ${c.chain}: ${v.records} records${
            v.first_seq === null ? "" : ` (seq ${v.first_seq}..${v.last_seq})`
          }, ${v.checkpoint === null ? "no checkpoint yet" : `signed checkpoint at seq ${v.checkpoint.seq}`}: verified`
        )
        for (const r of shown(c)) yield* Console.log(line(r))
      }
    }
    if (chains.length === 0 && o.user !== undefined) return yield* Effect.fail(`no audit chain for user ${o.user}`)
    if (broken.length > 0) return yield* Effect.fail(broken.map(brokenLine).join("; "))
  })

/** The daemon's machine: its user's chain through the relay, checked against the checkpoint it verified last. */
const daemonSide = (o: { since: number; json: boolean; verify: boolean; ca: string | undefined }) =>
  Effect.gen(function*() {
    const config = yield* loadConfig(process.env)
    const { api_key, url } = config.values.relay
    if (url === null || api_key === null) {
      return yield* Effect.fail(
        "no relay is configured: run `repowire setup --relay URL`, or give --data-dir on the relay host"
      )
    }
    const caFile = o.ca ?? process.env.REPOWIRE_RELAY_CA_FILE
    const ca = caFile === undefined || caFile === "" ? undefined : fs.readFileSync(caFile)
    const base = relayApiBase(url)
    const home = resolvePaths(process.env).home
    const pin = yield* Effect.try({ try: () => readPin(home, base), catch: (e) => (e as Error).message })
    // Verified from the pinned checkpoint on; records shown from before it are verified from the start.
    const start = pin !== undefined && o.since >= pin.checkpoint.seq - 1 ? pin.checkpoint.seq - 1 : 0
    const fetched = yield* fetchAudit(base, api_key, start, ca)
    if (pin !== undefined && pin.public_key !== fetched.public_key) {
      return yield* Effect.fail(
        `audit chain ${fetched.chain} fails at seq ${pin.checkpoint.seq} (key_changed): the relay's audit key is not the one it signed with before`
      )
    }
    const result = verifyChain({
      chain: fetched.chain,
      records: fetched.records,
      checkpoints: fetched.checkpoints,
      publicKey: fetched.public_key,
      head: fetched.head,
      pin: pin?.checkpoint
    })
    if (Either.isLeft(result)) {
      const e = result.left
      if (o.json) {
        yield* Console.log(
          JSON.stringify({ ok: false, chain: e.chain, seq: e.seq, problem: e.problem, message: e.message })
        )
      }
      return yield* Effect.fail(brokenLine(e))
    }
    const verified = result.right
    const newest = verified.checkpoint
    if (newest !== null && (pin === undefined || newest.seq >= pin.checkpoint.seq)) {
      yield* Effect.try({
        try: () =>
          writePin(home, base, { user_id: fetched.user_id, public_key: fetched.public_key, checkpoint: newest }),
        catch: (e) => `cannot keep the verified checkpoint: ${(e as Error).message}`
      })
    }
    const shown = o.verify ? [] : fetched.records.filter((r) => r.seq > o.since)
    if (o.json) {
      return yield* Console.log(JSON.stringify({
        ok: true,
        user_id: fetched.user_id,
        chain: fetched.chain,
        head: fetched.head,
        verified,
        ...(o.verify ? {} : { entries: shown })
      }))
    }
    for (const r of shown) yield* Console.log(line(r))
    yield* Console.log(
      `chain ${fetched.chain}: verified up to seq ${fetched.head.seq}; ${
        newest === null ? "no signed checkpoint yet" : `signed checkpoint at seq ${newest.seq} kept in ${home}`
      }`
    )
  })

export const auditCommand = Command.make("audit", {
  since: Options.integer("since").pipe(
    Options.withDefault(0),
    Options.withDescription("Show records after this seq")
  ),
  json: Options.boolean("json").pipe(Options.withDescription("Print JSON")),
  verify: Options.boolean("verify").pipe(
    Options.withDescription("Only verify (hashes, links, signed checkpoints); exit 1 naming the first bad seq")
  ),
  dataDir: Options.directory("data-dir").pipe(
    Options.withDescription("On the relay host: read the relay's store directly and verify every chain"),
    Options.optional
  ),
  user: Options.text("user").pipe(Options.withDescription("With --data-dir: only this user's chain"), Options.optional),
  databaseUrl: Options.redacted("database-url").pipe(
    Options.withDescription(
      "With --data-dir: the relay's PostgreSQL store, postgres://… (the audit key stays in --data-dir)"
    ),
    Options.withFallbackConfig(Config.redacted("REPOWIRE_RELAY__DATABASE_URL")),
    Options.optional
  ),
  ca: Options.file("ca", { exists: "yes" }).pipe(
    Options.withDescription("Extra CA certificate to trust for the relay (self-signed relays)"),
    Options.optional
  )
}, (o) =>
  Option.match(o.dataDir, {
    onSome: (dir) =>
      operator(dir, {
        since: o.since,
        json: o.json,
        verify: o.verify,
        databaseUrl: Option.getOrUndefined(o.databaseUrl),
        ...Option.match(o.user, { onNone: () => ({}), onSome: (user) => ({ user }) })
      }),
    onNone: () => daemonSide({ since: o.since, json: o.json, verify: o.verify, ca: Option.getOrUndefined(o.ca) })
  })).pipe(Command.withDescription("Read and verify the relay's tamper-evident audit log"))
