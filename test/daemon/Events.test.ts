import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import * as http from "node:http"
import WebSocket from "ws"
import { startDaemon, type TestDaemon } from "../support/Daemon.js"
import { as, register, type Registered, request } from "../support/Http.js"

let daemon: TestDaemon
let a: Registered
beforeAll(async () => {
  daemon = await startDaemon()
  a = await register(daemon.url, { name: "a", backend: "codex", circle: "ev" })
  await register(daemon.url, { name: "b", backend: "codex", circle: "ev" })
})
afterAll(() => daemon.close())

const notify = (text: string) =>
  request(daemon.url, "POST", "/notify", { body: { from_peer: "a", to_peer: "b", text }, headers: as(a) })

/** Reads SSE events until `count` have arrived. */
const readSse = (headers: Record<string, string>, query: string, count: number) =>
  new Promise<Array<{ id: number; data: any }>>((resolve, reject) => {
    const req = http.get(new URL(`/events/stream${query}`, daemon.url), { headers }, (res) => {
      assert.strictEqual(res.headers["content-type"], "text/event-stream")
      let buffer = ""
      const events: Array<{ id: number; data: any }> = []
      res.setEncoding("utf8")
      res.on("data", (chunk: string) => {
        buffer += chunk
        let end: number
        while ((end = buffer.indexOf("\n\n")) >= 0) {
          const block = buffer.slice(0, end)
          buffer = buffer.slice(end + 2)
          const id = /^id: (\d+)$/m.exec(block)?.[1]
          const data = /^data: (.*)$/m.exec(block)?.[1]
          if (id !== undefined && data !== undefined) events.push({ id: Number(id), data: JSON.parse(data) })
          if (events.length >= count) {
            req.destroy()
            resolve(events)
          }
        }
      })
    })
    req.on(
      "error",
      (e) => (e.message.includes("aborted") || e.message.includes("socket hang up") ? undefined : reject(e))
    )
    setTimeout(() => reject(new Error("SSE timed out")), 5000)
  })

describe("the event log", () => {
  it("gives every event a monotonically increasing id and resumes from `since`", async () => {
    for (const n of [1, 2, 3]) await notify(`n${n}`)
    const all = (await request(daemon.url, "GET", "/events?since=0&limit=1000")).body.events as Array<any>
    const ids = all.map((e) => e.id)
    assert.deepStrictEqual(ids, [...ids].sort((x, y) => x - y))
    assert.strictEqual(new Set(ids).size, ids.length)
    const notifies = all.filter((e) => e.type === "notify")
    const cut = notifies[0].id
    const resumed = (await request(daemon.url, "GET", `/events?since=${cut}`)).body.events as Array<any>
    assert.isTrue(resumed.every((e) => e.id > cut))
    assert.deepStrictEqual(resumed.filter((e) => e.type === "notify").map((e) => e.text), ["n2", "n3"])
    const byPeer = (await request(daemon.url, "GET", `/events?peer=${a.peer_id}`)).body.events as Array<any>
    assert.isTrue(byPeer.length > 0 && byPeer.every((e) => JSON.stringify(e).includes(a.peer_id)))
  })

  it("SSE replays from Last-Event-ID, then streams live events without gaps or duplicates", async () => {
    const before = (await request(daemon.url, "GET", "/events?since=0&limit=5000")).body.events as Array<any>
    const last = before[before.length - 1].id
    const reading = readSse({ "last-event-id": String(last - 2) }, "", 5)
    await new Promise((r) => setTimeout(r, 100))
    await notify("live 1")
    await notify("live 2")
    await notify("live 3")
    const events = await reading
    assert.deepStrictEqual(events.map((e) => e.id), [last - 1, last, last + 1, last + 2, last + 3])
    assert.deepStrictEqual(events.slice(2).map((e) => e.data.text), ["live 1", "live 2", "live 3"])
  })

  it("SSE delivers the first live event at once (no buffering)", async () => {
    const top = ((await request(daemon.url, "GET", "/events?since=0&limit=5000")).body.events as Array<any>).at(-1).id
    const reading = readSse({}, `?since=${top}`, 1)
    await new Promise((r) => setTimeout(r, 100))
    const sentAt = Date.now()
    await notify("first")
    const [event] = await reading
    assert.strictEqual(event!.data.text, "first")
    assert.isBelow(Date.now() - sentAt, 2000)
  })

  it("the WebSocket stream carries the same events from ?since=", async () => {
    const top = ((await request(daemon.url, "GET", "/events?since=0&limit=5000")).body.events as Array<any>).at(-1).id
    const socket = new WebSocket(`${daemon.url.replace("http", "ws")}/events/ws?since=${top - 1}`)
    const got: Array<any> = []
    const done = new Promise<void>((resolve) =>
      socket.on("message", (data) => {
        got.push(JSON.parse(String(data)))
        if (got.length === 2) resolve()
      })
    )
    await new Promise((r) => socket.on("open", r))
    await notify("over ws")
    await done
    assert.deepStrictEqual(got.map((e) => e.id), [top, top + 1])
    assert.strictEqual(got[1].text, "over ws")
    socket.close()
  })
})
