import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { request, tempDir } from "../harness.js"
import { cert, daemon, register, withRelay } from "./auditRelay.js"

/** `GET /_relay/audit` with a query it cannot read: a typed 400 for the owner, 401 before that for anyone else. */
describe("the relay's audit read refuses a bad query (real relay)", () => {
  it.live("since and limit out of range or not numbers: 400 with the rule; without credentials still 401", () =>
    Effect.gen(function*() {
      yield* withRelay(tempDir("rw-audit-query-"), (relay) =>
        Effect.gen(function*() {
          const alice = yield* register(relay.url)
          yield* daemon("A", relay.url, alice.api_key, "laptop")
          const read = (
            query: string,
            headers: Record<string, string> = { authorization: `Bearer ${alice.api_key}` }
          ) => request(`${relay.url}/_relay/audit?${query}`, cert.cert, { headers })

          const good = yield* read("since=0&limit=10")
          assert.strictEqual(good.status, 200, good.body)
          const records = (JSON.parse(good.body) as { records: Array<unknown> }).records.length
          assert.isAbove(records, 0)

          for (const bad of ["since=-1", "since=abc", "since=1.5", "limit=0", "limit=1001", "limit=ten"]) {
            const reply = yield* read(bad)
            assert.strictEqual(reply.status, 400, `${bad}: ${reply.body}`)
            assert.include(reply.body, "since must be a seq (0 or more), limit 1 to 1000.", bad)
            assert.strictEqual((yield* read(bad, {})).status, 401, `${bad} without credentials`)
          }

          // Refused reads changed nothing: the same page as before.
          const again = yield* read("since=0&limit=10")
          assert.strictEqual(again.status, 200)
          assert.strictEqual((JSON.parse(again.body) as { records: Array<unknown> }).records.length, records)
        }))
    }))
})
