import { assert, describe, it } from "@effect/vitest"
import { Effect, Either, Option, TestClock } from "effect"
import { makeSchedules } from "../../src/layers/schedules/Scheduler.js"
import { afterFire, checkCron, nextCronFire, parseAt } from "../../src/layers/schedules/When.js"
import { memoryScheduleStore } from "../../src/layers/SchedulesMemory.js"
import type { Registered } from "../../src/protocol/Peer.js"
import { Asks } from "../../src/services/Asks.js"
import { Deliveries } from "../../src/services/Deliveries.js"
import { PeerRegistry } from "../../src/services/PeerRegistry.js"
import { Schedules } from "../../src/services/Schedules.js"
import { meshLayer } from "../support/Layers.js"

const T0 = Date.parse("2026-03-28T12:00:00Z")
const MINUTE = 60_000
const HOUR = 60 * MINUTE

describe("schedule arithmetic (UTC)", () => {
  it("reads relative times and ISO 8601, with no offset meaning UTC", () => {
    assert.deepStrictEqual(parseAt("30s", T0), Either.right(T0 + 30_000))
    assert.deepStrictEqual(parseAt("10m", T0), Either.right(T0 + 10 * MINUTE))
    assert.deepStrictEqual(parseAt("2h", T0), Either.right(T0 + 2 * HOUR))
    assert.deepStrictEqual(parseAt("1d", T0), Either.right(T0 + 24 * HOUR))
    assert.deepStrictEqual(parseAt("2026-03-29T02:30:00", T0), Either.right(Date.parse("2026-03-29T02:30:00Z")))
    assert.deepStrictEqual(parseAt("2026-03-29T04:30:00+02:00", T0), Either.right(Date.parse("2026-03-29T02:30:00Z")))
    assert.isTrue(Either.isLeft(parseAt("tomorrow", T0)))
  })

  it("explains a bad cron expression and accepts five fields or a nickname", () => {
    const bad = checkCron("61 * * * *")
    assert.isTrue(Either.isLeft(bad))
    if (Either.isLeft(bad)) assert.include(bad.left, "bad cron expression `61 * * * *`")
    assert.isTrue(Either.isLeft(checkCron("* * * * * *")), "six fields (seconds) are refused")
    assert.isTrue(Either.isRight(checkCron("@hourly")))
    assert.isTrue(Either.isRight(checkCron("0 9 * * 1-5")))
  })

  it("fires a daily cron every 24 hours of UTC across DST changes, whatever the local zone", () => {
    const saved = process.env["TZ"]
    try {
      for (const zone of ["Europe/Berlin", "America/New_York", "UTC"]) {
        process.env["TZ"] = zone
        let at = Date.parse("2026-03-01T00:00:00Z")
        const fires: Array<number> = []
        for (let i = 0; i < 60; i++) fires.push(at = nextCronFire("30 2 * * *", at)!)
        for (let i = 1; i < fires.length; i++) assert.strictEqual(fires[i]! - fires[i - 1]!, 24 * HOUR, zone)
        assert.strictEqual(new Date(fires[27]!).toISOString(), "2026-03-28T02:30:00.000Z")
        assert.strictEqual(new Date(fires[28]!).toISOString(), "2026-03-29T02:30:00.000Z", "Berlin's missing hour")
      }
    } finally {
      if (saved === undefined) delete process.env["TZ"]
      else process.env["TZ"] = saved
    }
  })

  it("folds missed cron ticks into one fire: the next one lies after now", () => {
    const late = T0 + 5 * HOUR + 7 * MINUTE
    assert.strictEqual(afterFire("0 * * * *", late), T0 + 6 * HOUR)
    assert.strictEqual(afterFire(null, late), undefined)
  })
})

const register = (name: string, circle = "c") =>
  Effect.flatMap(PeerRegistry, (r) => r.register({ name, backend: "codex", circle }, undefined))
const peerOf = (registered: Registered) =>
  Effect.flatMap(PeerRegistry, (r) => Effect.map(r.get(registered.peer_id), Option.getOrThrow))
const inbox = (registered: Registered) => Effect.flatMap(Deliveries, (d) => d.pending(registered.peer_id))

describe("Schedules on the TestClock", () => {
  it.effect("sends a one-shot notify when it falls due, as its owner, then forgets it", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(T0)
      const schedules = yield* Schedules
      const owner = yield* register("owner")
      const target = yield* register("target")
      const made = yield* schedules.create(yield* peerOf(owner), {
        from_peer: "owner",
        to_peer: "target",
        text: "stand-up",
        at: "10m"
      })
      assert.strictEqual(made.next_fire_at, new Date(T0 + 10 * MINUTE).toISOString())
      yield* TestClock.adjust("9 minutes")
      assert.strictEqual((yield* inbox(target)).length, 0)
      yield* TestClock.adjust("1 minute")
      const [message] = yield* inbox(target)
      assert.strictEqual(message?.text, "stand-up")
      assert.strictEqual(message?.from_peer, owner.peer_id)
      assert.strictEqual(message?.kind, "notify")
      assert.deepStrictEqual(yield* schedules.list({}), [])
    }).pipe(Effect.provide(meshLayer())))

  it.effect("a cron ask fires on each tick and is an ordinary tracked ask", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(T0)
      const schedules = yield* Schedules
      const owner = yield* register("owner")
      const target = yield* register("target")
      yield* schedules.create(yield* peerOf(owner), {
        from_peer: owner.peer_id,
        to_peer: "target",
        text: "status?",
        cron: "*/15 * * * *",
        kind: "ask"
      })
      yield* TestClock.adjust("15 minutes")
      yield* TestClock.adjust("15 minutes")
      const asks = yield* Effect.flatMap(Asks, (a) => a.list({ peer: target.peer_id, direction: "inbound" }))
      assert.strictEqual(asks.length, 2)
      assert.strictEqual(asks[0]?.from_peer, owner.peer_id)
      const [listed] = yield* schedules.list({ owner: owner.peer_id })
      assert.strictEqual(listed?.last_fired_at, new Date(T0 + 30 * MINUTE).toISOString())
      assert.strictEqual(listed?.next_fire_at, new Date(T0 + 45 * MINUTE).toISOString())
    }).pipe(Effect.provide(meshLayer())))

  it.effect("a cron schedule down for five ticks fires once when the scheduler starts again", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(T0)
      const store = memoryScheduleStore()
      const owner = yield* register("owner")
      const target = yield* register("target")
      yield* Effect.scoped(Effect.gen(function*() {
        const first = yield* makeSchedules(store)
        yield* first.create(yield* peerOf(owner), {
          from_peer: "owner",
          to_peer: "target",
          text: "tick",
          cron: "@hourly"
        })
      }))
      yield* TestClock.adjust("5 hours")
      assert.strictEqual((yield* inbox(target)).length, 0, "nothing fires while the scheduler is down")
      yield* Effect.scoped(Effect.gen(function*() {
        const second = yield* makeSchedules(store)
        yield* TestClock.adjust("1 second")
        assert.strictEqual((yield* inbox(target)).length, 1, "the missed ticks fire once")
        const [row] = yield* second.list({})
        assert.strictEqual(row?.next_fire_at, new Date(T0 + 6 * HOUR).toISOString())
        yield* TestClock.adjust("1 hour")
        assert.strictEqual((yield* inbox(target)).length, 2)
      }))
    }).pipe(Effect.provide(meshLayer())))

  it.effect("refuses a bad cron, both or neither time, a past time and another sender", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(T0)
      const schedules = yield* Schedules
      const owner = yield* peerOf(yield* register("owner"))
      yield* register("target")
      const base = { from_peer: "owner", to_peer: "target", text: "x" }
      const badCron = yield* Effect.flip(schedules.create(owner, { ...base, cron: "61 * * * *" }))
      assert.strictEqual(badCron._tag, "BadRequest")
      assert.include(badCron.message, "bad cron expression")
      assert.strictEqual((yield* Effect.flip(schedules.create(owner, base)))._tag, "BadRequest")
      assert.strictEqual(
        (yield* Effect.flip(schedules.create(owner, { ...base, at: "1m", cron: "@daily" })))._tag,
        "BadRequest"
      )
      const past = yield* Effect.flip(schedules.create(owner, { ...base, at: "2020-01-01T00:00:00Z" }))
      assert.include(past.message, "in the past")
      assert.strictEqual(
        (yield* Effect.flip(schedules.create(owner, { ...base, from_peer: "target", at: "1m" })))._tag,
        "Forbidden"
      )
      assert.strictEqual(
        (yield* Effect.flip(schedules.create(owner, { ...base, to_peer: "nobody", at: "1m" })))._tag,
        "PeerNotFound"
      )
    }).pipe(Effect.provide(meshLayer())))

  it.effect("only its owner or a human deletes a schedule, and a deleted one never fires", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(T0)
      const schedules = yield* Schedules
      const owner = yield* peerOf(yield* register("owner"))
      const other = yield* peerOf(yield* register("other"))
      const target = yield* register("target")
      const made = yield* schedules.create(owner, { from_peer: "owner", to_peer: "target", text: "x", at: "5m" })
      assert.strictEqual((yield* Effect.flip(schedules.remove(other, made.id)))._tag, "Forbidden")
      yield* schedules.remove(owner, made.id)
      assert.strictEqual((yield* Effect.flip(schedules.remove(owner, made.id)))._tag, "ScheduleNotFound")
      yield* TestClock.adjust("10 minutes")
      assert.strictEqual((yield* inbox(target)).length, 0)
    }).pipe(Effect.provide(meshLayer())))
})
