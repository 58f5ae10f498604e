/** A real relay with its audit log, and the daemons and reads the audit tests drive it with. */
import { assert } from "@effect/vitest"
import { Effect, Layer } from "effect"
import * as path from "node:path"
import { AuditLive, type AuditOptions } from "../../../src/layers/audit/AuditLive.js"
import type { RelayOptions } from "../../../src/programs/relay/RelayContext.js"
import type { AuditPage, AuditRecord } from "../../../src/protocol/Audit.js"
import { Audit } from "../../../src/services/Audit.js"
import {
  fakeApp,
  makeCert,
  RelayServicesLayer,
  request,
  startRelay,
  tempDir,
  tunnelClient,
  waitConnected
} from "../harness.js"

/** The test CA and the relay's certificate. */
export const cert = makeCert(tempDir("rw-cert-"))

/** The relay's services and its audit log on `dataDir`, as `relay serve` composes them. */
export const relayLayers = (dataDir: string, audit: Partial<AuditOptions> = {}) =>
  AuditLive(dataDir, { flushMs: 10, intervalMs: 200, ...audit }).pipe(
    Layer.provideMerge(RelayServicesLayer(path.join(dataDir, "relay.db")))
  )

/** Runs `body` against a relay on `dataDir` (and `port`, 0 for any); closing it flushes and checkpoints. */
export const withRelay = <A, E, R>(
  dataDir: string,
  body: (relay: { url: string; port: number }) => Effect.Effect<A, E, R>,
  options: { port?: number; audit?: Partial<AuditOptions>; relay?: Partial<RelayOptions> } = {}
) =>
  Effect.gen(function*() {
    const relay = yield* startRelay(cert, { ...options.relay, port: options.port ?? 0 })
    return yield* body(relay)
  }).pipe(Effect.scoped, Effect.provide(relayLayers(dataDir, options.audit)))

export const daemon = (label: string, url: string, key: string, daemonId: string) =>
  Effect.gen(function*() {
    const ctx = yield* Layer.build(tunnelClient(fakeApp(label), { url, key, daemonId, ca: cert.cert }))
    yield* waitConnected().pipe(Effect.provide(ctx))
    return ctx
  })

export const register = (url: string) =>
  request(`${url}/api/register`, cert.cert, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: "{}"
  }).pipe(Effect.map((r) => JSON.parse(r.body) as { user_id: string; key_id: string; api_key: string }))

export const readAudit = (url: string, headers: Record<string, string>, since = 0) =>
  Effect.gen(function*() {
    yield* Effect.flatMap(Audit, (a) => a.flush)
    const reply = yield* request(`${url}/_relay/audit?since=${since}`, cert.cert, { headers })
    return { status: reply.status, page: reply.status === 200 ? JSON.parse(reply.body) as AuditPage : undefined }
  })

export const kinds = (records: ReadonlyArray<AuditRecord>) => records.map((r) => r.kind)

export const waitFor = (check: Effect.Effect<boolean, unknown, Audit>, what: string) =>
  Effect.gen(function*() {
    const deadline = Date.now() + 5000
    while (Date.now() < deadline) {
      if (yield* check) return
      yield* Effect.sleep("25 millis")
    }
    assert.fail(`timed out waiting for ${what}`)
  })
