import { describe, expect, it } from "vitest"
import { applyAskEvents, buildThreads, mergeAsks, openAsksOf } from "../../dashboard/src/state/asks.js"
import type { Ask } from "../../dashboard/src/state/types.js"
import { ack, ask, delivered, peer } from "./fixtures.js"

const web = peer("web")
const api = peer("api")

describe("ask threads", () => {
  it("follows an ask through delivery, ack and the reply's delivery", () => {
    let index = applyAskEvents(new Map(), [ask(1, "ask-11111111", web, api, "endpoints?")])
    expect(index.get("ask-11111111")?.state).toBe("queued")
    index = applyAskEvents(index, [delivered(2, "ask-11111111", api)])
    expect(index.get("ask-11111111")?.state).toBe("delivered")
    index = applyAskEvents(index, [ack(3, "ask-11111111", api, web, "GET /users"), delivered(4, "ask-11111111", web)])
    const item = index.get("ask-11111111")!
    expect(item.state).toBe("acked")
    expect(item.reply).toBe("GET /users")
    expect(item.reply_state).toBe("delivered")
    expect(openAsksOf(index, api.peer_id)).toEqual([])
  })

  it("chains follow-ups into one thread and puts open threads first", () => {
    const index = applyAskEvents(new Map(), [
      ask(1, "ask-aaaaaaaa", web, api, "q1"),
      ack(2, "ask-aaaaaaaa", api, web, "a1"),
      ask(3, "ask-bbbbbbbb", web, api, "q2 follow-up", "ask-aaaaaaaa"),
      ask(4, "ask-cccccccc", api, web, "other"),
      ack(5, "ask-cccccccc", web, api, null),
      ask(6, "ask-dddddddd", web, api, "q3", "ask-bbbbbbbb")
    ])
    const threads = buildThreads(index)
    expect(threads.map((t) => t.root)).toEqual(["ask-aaaaaaaa", "ask-cccccccc"])
    expect(threads[0]!.items.map((i) => i.correlation_id)).toEqual(["ask-aaaaaaaa", "ask-bbbbbbbb", "ask-dddddddd"])
    expect(threads[0]!.open).toBe(true)
    expect(threads[1]!.open).toBe(false)
    expect(openAsksOf(index, api.peer_id).map((i) => i.correlation_id)).toEqual(["ask-bbbbbbbb", "ask-dddddddd"])
  })

  it("merges a GET /asks snapshot without moving state backwards", () => {
    const snapshot: Ask = {
      correlation_id: "ask-eeeeeeee",
      from_peer: web.peer_id,
      from_name: "web",
      to_peer: api.peer_id,
      to_name: "api",
      circle: "default",
      text: "old",
      reply_to: null,
      attachments: [],
      state: "delivered",
      reply: null,
      reply_attachments: [],
      failure: null,
      created_at: "2026-11-28T10:00:00.000Z",
      acked_at: null
    }
    let index = mergeAsks(new Map(), [snapshot])
    index = applyAskEvents(index, [ack(9, "ask-eeeeeeee", api, web, "late")])
    index = mergeAsks(index, [snapshot])
    expect(index.get("ask-eeeeeeee")?.state).toBe("acked")
    expect(index.get("ask-eeeeeeee")?.reply).toBe("late")
  })

  it("survives a reply_to cycle", () => {
    const index = applyAskEvents(new Map(), [
      ask(1, "ask-xxxxxxxx", web, api, "x", "ask-yyyyyyyy"),
      ask(2, "ask-yyyyyyyy", web, api, "y", "ask-xxxxxxxx")
    ])
    expect(buildThreads(index).flatMap((t) => t.items).length).toBe(2)
  })

  it("records a failed delivery", () => {
    const index = applyAskEvents(new Map(), [
      ask(1, "ask-ffffffff", web, api, "x"),
      delivered(2, "ask-ffffffff", api, "failed")
    ])
    expect(index.get("ask-ffffffff")?.state).toBe("queued")
    expect(index.get("ask-ffffffff")?.delivery_detail).toBe("failed")
  })
})
