import { assert, describe, it } from "@effect/vitest"
import BetterSqlite from "better-sqlite3"
import { Effect } from "effect"
import * as path from "node:path"
import { makeCert, mintKey, RelayServicesLayer, startRelay, tempDir } from "../relay/harness.js"
import { cliAsync as cli, linked, meshDaemon, peersOf, register, until } from "./meshHarness.js"

const cert = makeCert(tempDir("rw-cert-"))
process.env.REPOWIRE_RELAY_CA_FILE = cert.certFile

describe("repowire mesh pair / join / list / remove", () => {
  it.live("link two daemons from the CLI, list them, broadcast to the mesh, and unlink", () =>
    Effect.gen(function*() {
      const relay = yield* startRelay(cert)
      const key = yield* mintKey("alice")
      yield* Effect.promise(async () => {
        const laptop = await meshDaemon(relay.url, key, "laptop")
        const server = await meshDaemon(relay.url, key, "server")
        try {
          const paired = await cli(laptop.home, ["mesh", "pair", "--json"])
          assert.strictEqual(paired.code, 0, paired.stderr)
          const ticket = JSON.parse(paired.stdout) as { code: string; expires_at: string }
          const minutes = (Date.parse(ticket.expires_at) - Date.now()) / 60_000
          assert.isTrue(minutes > 9 && minutes <= 10, ticket.expires_at)

          const joined = await cli(server.home, ["mesh", "join", ticket.code])
          assert.strictEqual(joined.code, 0, joined.stderr)
          assert.include(joined.stdout, "linked with laptop")
          const reused = await cli(server.home, ["mesh", "join", ticket.code])
          assert.notStrictEqual(reused.code, 0)
          assert.include(reused.stderr, "already used")
          const damaged = await cli(server.home, ["mesh", "join", "rwm1.not-a-code"])
          assert.notStrictEqual(damaged.code, 0)
          assert.include(damaged.stderr, "damaged")

          await linked(laptop, "server")
          const listed = await cli(laptop.home, ["mesh", "list", "--json"])
          assert.strictEqual(listed.code, 0, listed.stderr)
          const [link] = JSON.parse(listed.stdout).links
          assert.strictEqual(link.machine, "server")
          assert.strictEqual(link.status, "linked")
          assert.match(link.fingerprint, /^[0-9a-f]{64}$/)
          assert.include((await cli(laptop.home, ["mesh", "list"])).stdout, "server")

          await register(server.url, { name: "api", backend: "codex" })
          await until("api on the laptop", async () => (await peersOf(laptop)).find((p) => p.display_name === "api"))
          const wide = await cli(laptop.home, ["broadcast", "--mesh", "--json", "hello all"])
          assert.strictEqual(wide.code, 0, wide.stderr)
          const reached = JSON.parse(wide.stdout) as { delivered: Array<string>; queued: Array<string> }
          assert.include([...reached.delivered, ...reached.queued], "api")
          const near = await cli(laptop.home, ["broadcast", "--json", "hello here"])
          const home = JSON.parse(near.stdout) as { delivered: Array<string>; queued: Array<string> }
          assert.notInclude([...home.delivered, ...home.queued], "api")

          const removed = await cli(server.home, ["mesh", "remove", "laptop"])
          assert.strictEqual(removed.code, 0, removed.stderr)
          await until("the laptop forgets the server", async () =>
            JSON.parse((await cli(laptop.home, ["mesh", "list", "--json"])).stdout).links.length === 0
              ? true
              : undefined)
          assert.isFalse((await peersOf(laptop)).some((p) =>
            p.machine === "server"
          ))
          const again = await cli(server.home, ["mesh", "remove", "laptop"])
          assert.notStrictEqual(again.code, 0)
          assert.include(again.stderr, "no linked machine named laptop")
        } finally {
          await laptop.close()
          await server.close()
        }
      })
    }).pipe(Effect.scoped, Effect.provide(RelayServicesLayer(":memory:"))), 90_000)
  it.live("an expired code fails clearly and pins nothing on either daemon", () =>
    Effect.gen(function*() {
      const relay = yield* startRelay(cert)
      const key = yield* mintKey("alice")
      yield* Effect.promise(async () => {
        let laptop = await meshDaemon(relay.url, key, "laptop")
        const server = await meshDaemon(relay.url, key, "server")
        try {
          const paired = await cli(laptop.home, ["mesh", "pair", "--json"])
          assert.strictEqual(paired.code, 0, paired.stderr)
          const { code } = JSON.parse(paired.stdout) as { code: string }
          // Ten minutes pass: the pairer's record of the code says it ended a moment ago (the daemon
          // holds its database exclusively, so it is stopped for the edit and started again).
          await laptop.close()
          const db = new BetterSqlite(path.join(laptop.home, "state.db"))
          try {
            assert.strictEqual(db.prepare("UPDATE mesh_codes SET expires_at = ?").run(Date.now() - 1).changes, 1)
          } finally {
            db.close()
          }
          laptop = await meshDaemon(relay.url, key, "laptop", laptop.home)

          const joined = await cli(server.home, ["mesh", "join", code])
          assert.notStrictEqual(joined.code, 0)
          assert.include(joined.stderr, "expired")
          for (const d of [laptop, server]) {
            const listed = await cli(d.home, ["mesh", "list", "--json"])
            assert.strictEqual(listed.code, 0, listed.stderr)
            assert.deepStrictEqual(JSON.parse(listed.stdout).links, [])
          }
        } finally {
          await laptop.close()
          await server.close()
        }
      })
    }).pipe(Effect.scoped, Effect.provide(RelayServicesLayer(":memory:"))), 60_000)
})
