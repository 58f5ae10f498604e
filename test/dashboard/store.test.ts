import { afterEach, assert, describe, it, vi } from "vitest"
import type { MeshEvent } from "../../dashboard/src/state/types.js"
import { Store } from "../../dashboard/src/store.js"
import { ask, chat, joined, peer } from "./fixtures.js"

// The page's store with the browser's fetch and EventSource replaced by fakes: what it asks
// the daemon for, and how it resumes the stream.

class FakeEventSource {
  static readonly CONNECTING = 0
  static readonly OPEN = 1
  static readonly CLOSED = 2
  static opened: Array<FakeEventSource> = []
  readyState = FakeEventSource.CONNECTING
  private readonly listeners = new Map<string, Array<(e: unknown) => void>>()
  constructor(readonly url: string) {
    FakeEventSource.opened.push(this)
  }
  addEventListener(type: string, f: (e: unknown) => void) {
    this.listeners.set(type, [...(this.listeners.get(type) ?? []), f])
  }
  close() {
    this.readyState = FakeEventSource.CLOSED
  }
  fire(type: string, event: unknown = {}) {
    for (const f of this.listeners.get(type) ?? []) f(event)
  }
  open() {
    this.readyState = FakeEventSource.OPEN
    this.fire("open")
  }
  send(event: MeshEvent, name = "mesh") {
    this.fire(name, { data: JSON.stringify(event) })
  }
}

const api = peer("api")
const web = peer("web")

const fakeDaemon = (events: ReadonlyArray<MeshEvent>) => {
  const requested: Array<string> = []
  const respond = (url: string): unknown => {
    if (url === "health") {
      return {
        ok: true,
        version: "t",
        uptime_s: 1,
        peers: { online: 2, busy: 0, offline: 0 },
        relay: { status: "disabled", url: null, last_error: null, last_connected_at: null }
      }
    }
    if (url.startsWith("peers")) return { peers: [api, web] }
    if (url.startsWith("asks")) return { asks: [] }
    const query = new URLSearchParams(url.split("?")[1] ?? "")
    const since = Number(query.get("since") ?? 0)
    const limit = Number(query.get("limit") ?? 200)
    return { events: events.filter((e) => e.id > since).slice(0, limit) }
  }
  vi.stubGlobal("fetch", async (url: string) => {
    requested.push(url)
    return new Response(JSON.stringify(respond(url)), { status: 200, headers: { "content-type": "application/json" } })
  })
  vi.stubGlobal("EventSource", FakeEventSource)
  return requested
}

const flush = () => new Promise((r) => setTimeout(r, 40))

afterEach(() => {
  vi.unstubAllGlobals()
  FakeEventSource.opened = []
})

describe("store", () => {
  it("loads the backlog, then streams from its last id and merges without duplicates", async () => {
    const requested = fakeDaemon([joined(1, api), joined(2, web), ask(3, "ask-11111111", web, api, "q")])
    const store = new Store()
    await store.start()
    assert.include(requested, "events?limit=5000")
    assert.strictEqual(FakeEventSource.opened[0]!.url, "events/stream?since=3")
    assert.strictEqual(store.state.log.events.length, 3)

    const source = FakeEventSource.opened[0]!
    source.open()
    assert.strictEqual(store.state.stream, "live")
    source.send(ask(3, "ask-11111111", web, api, "q")) // overlap
    source.send(chat(4, api, "user", "hi"))
    source.send(chat(5, api, "assistant", "done"), "message")
    await flush()
    assert.deepStrictEqual(store.state.log.events.map((e) => e.id), [1, 2, 3, 4, 5])
    assert.strictEqual(store.state.asks.get("ask-11111111")?.state, "queued")
    store.stop()
  })

  it("reopens a stream that closed for good with ?since= the last id it holds", async () => {
    fakeDaemon([joined(1, api)])
    const store = new Store()
    await store.start()
    const first = FakeEventSource.opened[0]!
    first.open()
    first.send(chat(7, api, "user", "x"))
    await flush()
    first.readyState = FakeEventSource.CLOSED
    first.fire("error")
    assert.strictEqual(store.state.stream, "reconnecting")
    await new Promise((r) => setTimeout(r, 600))
    const second = FakeEventSource.opened[1]!
    assert.strictEqual(second.url, "events/stream?since=7")
    second.open()
    assert.strictEqual(store.state.stream, "live")
    store.stop()
  })

  it("a long log shows its newest events, found by probing", async () => {
    const many = Array.from({ length: 12_000 }, (_, i) => chat(i + 1, api, "user", `t${i}`))
    const requested = fakeDaemon(many)
    const store = new Store()
    await store.start()
    assert.strictEqual(store.state.log.lastId, 12_000)
    assert.strictEqual(store.state.log.events[0]!.id, 7001)
    assert.isBelow(requested.filter((u) => u.includes("limit=1")).length, 30)
    store.stop()
  })
})
