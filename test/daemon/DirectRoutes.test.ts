import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { startDaemon, type TestDaemon } from "../support/Daemon.js"
import { asHuman, type Registered, type Reply, request } from "../support/Http.js"

/**
 * The agents' message calls are served straight from node:http (DirectRoutes), and through the
 * HTTP app when they come any other way (the relay tunnel, a browser). Two daemons, one each
 * way, get the same requests in the same order: every answer must be the same.
 */
interface Side {
  readonly daemon: TestDaemon
  readonly peers: Record<string, Registered>
  /** The correlation id of each ask that was accepted, by the name of its case. */
  readonly asks: Record<string, string>
}

interface Case {
  readonly name: string
  readonly route: string
  readonly as?: string
  readonly body?: (side: Side) => unknown
  readonly raw?: string
  readonly headers?: (side: Side) => Record<string, string>
  readonly chunked?: boolean
}

const CONFIG = { daemon: { max_body_bytes: 4096, delivery_queue: { max_per_peer: 4 } } }
const PEERS = [
  { name: "alice", backend: "codex", circle: "p" },
  { name: "bob", backend: "codex", circle: "p" },
  { name: "twin", backend: "codex", circle: "p" },
  { name: "twin", backend: "codex", circle: "q" },
  { name: "carol", backend: "codex", circle: "q" },
  { name: "hank", backend: "cli", circle: "p" }
] as const

const open = async (config: Record<string, unknown>, directRoutes: boolean, bearer?: string): Promise<Side> => {
  const daemon = await startDaemon(config, undefined, { directRoutes })
  const peers: Record<string, Registered> = {}
  for (const peer of PEERS) {
    const reply = await request(daemon.url, "POST", "/peers", {
      body: peer,
      headers: { ...asHuman(daemon.home), ...(bearer === undefined ? {} : { authorization: `Bearer ${bearer}` }) }
    })
    assert.strictEqual(reply.status, 201, reply.text)
    peers[`${peer.name}@${peer.circle}`] = reply.body as Registered
  }
  return { daemon, peers, asks: {} }
}

const send = (side: Side, c: Case): Promise<Reply> => {
  const sender = side.peers[c.as ?? "alice@p"]!
  return request(side.daemon.url, "POST", c.route, {
    ...(c.raw === undefined ? { body: c.body?.(side) } : { raw: c.raw }),
    ...(c.chunked === true ? { chunked: true } : {}),
    headers: { "x-repowire-peer-token": sender.token, ...c.headers?.(side) }
  })
}

/** Ids, ports and clocks differ between the two daemons; everything else must not. */
const normalized = (reply: Reply) =>
  JSON.stringify({ status: reply.status, type: reply.headers["content-type"], body: reply.body })
    .replace(/\b(peer|msg|ask|att)-[0-9a-z]+/g, "$1-<id>")
    .replace(/127\.0\.0\.1:\d+/g, "127.0.0.1:<port>")
    .replace(/\d{4}-\d\d-\d\dT[\d:.]+Z/g, "<time>")

const id = (side: Side, key: string) => side.peers[key]!.peer_id

const cases: ReadonlyArray<Case> = [
  { name: "ask, accepted", route: "/ask", body: (s) => ({ from_peer: id(s, "alice@p"), to_peer: "bob", text: "q1" }) },
  { name: "ask by id", route: "/ask", body: (s) => ({ from_peer: "alice", to_peer: id(s, "bob@p"), text: "q2" }) },
  {
    name: "ask in reply to an ask",
    route: "/ask",
    as: "bob@p",
    body: (s) => ({ from_peer: "bob", to_peer: "alice", text: "which?", reply_to: s.asks["ask, accepted"] })
  },
  {
    name: "ask with a chunked body",
    route: "/ask",
    body: () => ({ from_peer: "alice", to_peer: "bob", text: "in chunks" }),
    chunked: true
  },
  { name: "notify, accepted", route: "/notify", body: () => ({ from_peer: "alice", to_peer: "bob", text: "fyi" }) },
  { name: "broadcast, accepted", route: "/broadcast", body: () => ({ from_peer: "alice", text: "all" }) },
  {
    name: "ack with a reply",
    route: "/ack",
    as: "bob@p",
    body: (s) => ({ correlation_id: s.asks["ask, accepted"], message: "this one" })
  },
  { name: "ack twice", route: "/ack", as: "bob@p", body: (s) => ({ correlation_id: s.asks["ask, accepted"] }) },
  { name: "ack by the asker", route: "/ack", body: (s) => ({ correlation_id: s.asks["ask by id"] }) },
  { name: "ack of an unknown ask", route: "/ack", body: () => ({ correlation_id: "ask-00000000000000000000" }) },
  { name: "ack of a malformed id", route: "/ack", body: () => ({ correlation_id: "nope" }) },
  { name: "malformed JSON", route: "/ask", raw: "{\"from_peer\":" },
  { name: "an empty body", route: "/ask", raw: "" },
  { name: "a JSON array", route: "/notify", raw: "[1,2]" },
  { name: "a wrong type", route: "/ask", body: () => ({ from_peer: "alice", to_peer: "bob", text: 42 }) },
  { name: "a missing field", route: "/ask", body: () => ({ from_peer: "alice", text: "?" }) },
  {
    name: "an unknown field",
    route: "/notify",
    body: () => ({ from_peer: "alice", to_peer: "bob", text: "x", urgent: 1 })
  },
  { name: "empty text", route: "/ask", body: () => ({ from_peer: "alice", to_peer: "bob", text: "" }) },
  {
    name: "an unknown peer token",
    route: "/ask",
    body: () => ({ from_peer: "alice", to_peer: "bob", text: "?" }),
    headers: () => ({ "x-repowire-peer-token": "not-a-token" })
  },
  {
    name: "no peer token",
    route: "/ask",
    body: () => ({ from_peer: "alice", to_peer: "bob", text: "?" }),
    headers: () => ({ "x-repowire-peer-token": "" })
  },
  {
    name: "sending as another peer",
    route: "/ask",
    as: "bob@p",
    body: () => ({ from_peer: "alice", to_peer: "bob", text: "?" })
  },
  { name: "an unknown target", route: "/ask", body: () => ({ from_peer: "alice", to_peer: "zed", text: "?" }) },
  {
    name: "a name in another circle",
    route: "/ask",
    body: () => ({ from_peer: "alice", to_peer: "carol", text: "?" })
  },
  {
    name: "an agent naming another circle",
    route: "/notify",
    body: () => ({ from_peer: "alice", to_peer: "carol", text: "?", circle: "q" })
  },
  {
    name: "an ambiguous name",
    route: "/ask",
    as: "hank@p",
    body: () => ({ from_peer: "hank", to_peer: "twin", text: "?" })
  },
  {
    name: "an unknown reply_to",
    route: "/ask",
    body: () => ({ from_peer: "alice", to_peer: "bob", text: "?", reply_to: "ask-00000000000000000000" })
  },
  {
    name: "an unknown attachment",
    route: "/notify",
    body: () => ({ from_peer: "alice", to_peer: "bob", text: "see", attachments: ["att-0000000000"] })
  },
  {
    name: "an oversized body",
    route: "/ask",
    body: () => ({ from_peer: "alice", to_peer: "bob", text: "x".repeat(5000) })
  },
  {
    name: "a foreign Host",
    route: "/ask",
    body: () => ({ from_peer: "alice", to_peer: "bob", text: "?" }),
    headers: () => ({ host: "evil.example:80" })
  },
  {
    name: "a foreign Origin",
    route: "/ask",
    body: () => ({ from_peer: "alice", to_peer: "bob", text: "?" }),
    headers: () => ({ origin: "https://evil.example" })
  },
  {
    name: "the daemon's own Origin",
    route: "/notify",
    body: () => ({ from_peer: "alice", to_peer: "bob", text: "from a page" }),
    headers: (s) => ({ origin: new URL(s.daemon.url).origin })
  },
  {
    name: "a text body",
    route: "/ask",
    raw: "from alice to bob",
    headers: () => ({ "content-type": "text/plain" })
  },
  // bob is offline: his queue holds at most 4; these fill it and then overflow.
  ...[1, 2, 3].map((n) => ({
    name: `filling bob's queue ${n}`,
    route: "/notify",
    body: () => ({ from_peer: "alice", to_peer: "bob", text: `fill ${n}` })
  })),
  { name: "one ask of a full queue", route: "/ask", body: () => ({ from_peer: "alice", to_peer: "bob", text: "full" }) }
]

describe("the agents' message calls answer the same served directly or through the app", () => {
  let direct: Side
  let app: Side
  beforeAll(async () => {
    ;[direct, app] = await Promise.all([open(CONFIG, true), open(CONFIG, false)])
  })
  afterAll(async () => {
    await Promise.all([direct.daemon.close(), app.daemon.close()])
  })

  it("gives every request the same answer, in order", async () => {
    for (const c of cases) {
      const [a, b] = [await send(direct, c), await send(app, c)]
      assert.strictEqual(normalized(a), normalized(b), c.name)
      if (c.route === "/ask" && a.status === 200) {
        direct.asks[c.name] = a.body.correlation_id
        app.asks[c.name] = b.body.correlation_id
      }
    }
    // The cases cover both outcomes of each route, and the full queue really was reached.
    const last = await send(direct, cases[cases.length - 1]!)
    assert.strictEqual(last.status, 507)
  })

  it("leaves the same state behind", async () => {
    const state = async (side: Side) => {
      const asks = await request(side.daemon.url, "GET", "/asks?limit=100")
      const events = await request(side.daemon.url, "GET", "/events?since=0&limit=1000")
      return JSON.stringify({
        asks: asks.body.asks.map((a: any) => [a.from_name, a.to_name, a.text, a.state, a.reply]),
        events: events.body.events.map((e: any) => [e.type, e.text ?? e.reply ?? null])
      })
    }
    assert.strictEqual(await state(direct), await state(app))
  })
})

describe("with an auth token", () => {
  const token = "direct-routes-test-token-0123456789"
  let direct: Side
  let app: Side
  beforeAll(async () => {
    const config = { ...CONFIG, daemon: { ...CONFIG.daemon, auth_token: token } }
    ;[direct, app] = await Promise.all([open(config, true, token), open(config, false, token)])
  })
  afterAll(async () => {
    await Promise.all([direct.daemon.close(), app.daemon.close()])
  })

  it("refuses a missing or wrong Bearer and accepts the right one, the same both ways", async () => {
    const ask = (bearer: string | undefined): Case => ({
      name: `bearer ${bearer}`,
      route: "/ask",
      body: () => ({ from_peer: "alice", to_peer: "bob", text: "?" }),
      headers: () => (bearer === undefined ? {} : { authorization: `Bearer ${bearer}` })
    })
    for (const [bearer, status] of [[undefined, 401], ["wrong", 401], [token, 200]] as const) {
      const [a, b] = [await send(direct, ask(bearer)), await send(app, ask(bearer))]
      assert.strictEqual(a.status, status)
      assert.strictEqual(normalized(a), normalized(b))
    }
  })
})
