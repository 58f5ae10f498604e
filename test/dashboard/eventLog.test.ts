import fc from "fast-check"
import { describe, expect, it } from "vitest"
import {
  appendEvents,
  backlogUrl,
  emptyLog,
  locateTail,
  parseEventData,
  streamUrl
} from "../../dashboard/src/state/eventLog.js"
import type { MeshEvent } from "../../dashboard/src/state/types.js"
import { chat, peer } from "./fixtures.js"

const api = peer("api")
const ev = (id: number): MeshEvent => chat(id, api, "user", `turn ${id}`)
const ids = (events: ReadonlyArray<MeshEvent>) => events.map((e) => e.id)

describe("event log", () => {
  it("appends in order and tracks the last id", () => {
    const log = appendEvents(emptyLog, [ev(1), ev(2), ev(3)])
    expect(ids(log.events)).toEqual([1, 2, 3])
    expect(log.lastId).toBe(3)
  })

  it("drops events it already has (a resumed stream overlapping the backlog)", () => {
    const log = appendEvents(appendEvents(emptyLog, [ev(1), ev(2), ev(3)]), [ev(2), ev(3), ev(4), ev(4)])
    expect(ids(log.events)).toEqual([1, 2, 3, 4])
  })

  it("returns the same log when a batch adds nothing", () => {
    const log = appendEvents(emptyLog, [ev(1)])
    expect(appendEvents(log, [ev(1)])).toBe(log)
    expect(appendEvents(log, [])).toBe(log)
  })

  it("sorts late arrivals into place", () => {
    const log = appendEvents(appendEvents(emptyLog, [ev(1), ev(5)]), [ev(3), ev(2)])
    expect(ids(log.events)).toEqual([1, 2, 3, 5])
    expect(log.lastId).toBe(5)
  })

  it("keeps only the newest events past the cap", () => {
    const log = appendEvents(emptyLog, Array.from({ length: 10 }, (_, i) => ev(i + 1)), 4)
    expect(ids(log.events)).toEqual([7, 8, 9, 10])
  })

  it("any interleaving of batches gives each id once, in order", () => {
    fc.assert(
      fc.property(
        fc.array(fc.array(fc.integer({ min: 1, max: 60 }), { maxLength: 20 }), { maxLength: 8 }),
        (batches) => {
          const log = batches.reduce((l, b) => appendEvents(l, b.map(ev)), emptyLog)
          const expected = [...new Set(batches.flat())].sort((a, b) => a - b)
          expect(ids(log.events)).toEqual(expected)
          expect(log.lastId).toBe(expected.length === 0 ? 0 : expected[expected.length - 1])
        }
      )
    )
  })

  it("resumes the stream after the last id, with relative URLs", () => {
    expect(streamUrl(0)).toBe("events/stream")
    expect(streamUrl(42)).toBe("events/stream?since=42")
    expect(backlogUrl(0, 500)).toBe("events?limit=500")
    expect(backlogUrl(7, 500)).toBe("events?since=7&limit=500")
  })

  it("parses SSE data and ignores what is not an event", () => {
    expect(parseEventData(JSON.stringify(ev(9)))?.id).toBe(9)
    expect(parseEventData("not json")).toBeUndefined()
    expect(parseEventData("{\"type\":\"chat\"}")).toBeUndefined()
    expect(parseEventData("null")).toBeUndefined()
  })
})

describe("locating the newest event of a long log", () => {
  it("finds the last id with few probes", async () => {
    for (const last of [0, 1, 4999, 5000, 5001, 12_345, 100_000, 1_234_567]) {
      let probes = 0
      const hasAfter = async (id: number) => {
        probes++
        return id < last
      }
      expect(await locateTail(Math.min(last, 5000), hasAfter)).toBe(last)
      expect(probes).toBeLessThan(50)
    }
  })
})
