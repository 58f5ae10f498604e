import { describe, expect, it } from "vitest"
import { describeEvent, formatBytes } from "../../dashboard/src/state/format.js"
import { peerTimeline, summarizeTools } from "../../dashboard/src/state/timeline.js"
import { backoffMs, isAtBottom, visibleRange } from "../../dashboard/src/state/windowing.js"
import { ack, ask, chat, peer, tool } from "./fixtures.js"

const api = peer("api")
const web = peer("web")

describe("peer timeline", () => {
  it("keeps turns in order and collapses runs of tool calls", () => {
    const events = [
      chat(1, api, "user", "fix it"),
      tool(2, api, "Read"),
      tool(3, web, "Bash"),
      tool(4, api, "Edit"),
      tool(5, api, "Edit"),
      chat(6, api, "assistant", "fixed"),
      chat(7, web, "user", "other peer")
    ]
    const timeline = peerTimeline(events, api.peer_id)
    expect(timeline.map((e) => e.kind)).toEqual(["chat", "tools", "chat"])
    const tools = timeline[1]!
    expect(tools.kind === "tools" && summarizeTools(tools.calls)).toBe("Read, Edit ×2")
  })
})

describe("event lines", () => {
  it("describes asks and acks in one line", () => {
    expect(describeEvent(ask(1, "ask-aaaaaaaa", web, api, "which\nendpoints?"))).toEqual({
      label: "ask",
      who: "web → api",
      text: "which endpoints?"
    })
    expect(describeEvent(ack(2, "ask-aaaaaaaa", api, web, null)).text).toBe("(seen)")
    expect(formatBytes(2048)).toBe("2.0 KiB")
  })
})

describe("virtualised list windowing", () => {
  it("renders only the rows in view plus overscan", () => {
    const r = visibleRange({ count: 10_000, rowHeight: 28, scrollTop: 28 * 5000, viewportHeight: 560, overscan: 10 })
    expect(r.start).toBe(4990)
    expect(r.end).toBe(5031)
    expect(r.offset).toBe(4990 * 28)
    expect(r.totalHeight).toBe(280_000)
  })

  it("clamps at both ends and handles an empty list", () => {
    expect(visibleRange({ count: 0, rowHeight: 28, scrollTop: 100, viewportHeight: 500, overscan: 5 })).toEqual({
      start: 0,
      end: 0,
      offset: 0,
      totalHeight: 0
    })
    const top = visibleRange({ count: 100, rowHeight: 20, scrollTop: -50, viewportHeight: 200, overscan: 5 })
    expect([top.start, top.end]).toEqual([0, 16])
    const bottom = visibleRange({ count: 100, rowHeight: 20, scrollTop: 99_999, viewportHeight: 200, overscan: 5 })
    expect(bottom.end).toBe(100)
    expect(bottom.start).toBe(85)
  })

  it("knows when the view follows the newest row, and backs off reconnects", () => {
    expect(isAtBottom(800, 200, 1000)).toBe(true)
    expect(isAtBottom(700, 200, 1000)).toBe(false)
    expect([0, 1, 2, 10].map(backoffMs)).toEqual([500, 1000, 2000, 10_000])
  })
})
