import { describe, expect, it } from "vitest"
import {
  applyFilter,
  eventPeers,
  filterFromQuery,
  filterToQuery,
  matchesFilter,
  noFilter
} from "../../dashboard/src/state/filters.js"
import { ask, chat, joined, notify, peer } from "./fixtures.js"

const api = peer("api", "shop")
const web = peer("web", "shop")
const cli = peer("tool", "infra")
const events = [
  joined(1, api),
  ask(2, "ask-aaaaaaaa", web, api, "which endpoints?"),
  chat(3, cli, "user", "build it"),
  notify(4, api, web, "done")
]

describe("log filters", () => {
  it("no filter keeps the same array", () => {
    expect(applyFilter(events, noFilter)).toBe(events)
  })

  it("filters by peer id or name, from or to", () => {
    expect(applyFilter(events, { ...noFilter, peer: api.peer_id }).map((e) => e.id)).toEqual([1, 2, 4])
    expect(applyFilter(events, { ...noFilter, peer: "web" }).map((e) => e.id)).toEqual([2, 4])
  })

  it("filters by circle, type and text", () => {
    expect(applyFilter(events, { ...noFilter, circle: "infra" }).map((e) => e.id)).toEqual([3])
    expect(applyFilter(events, { ...noFilter, types: ["ask", "notify"] }).map((e) => e.id)).toEqual([2, 4])
    expect(applyFilter(events, { ...noFilter, text: "ENDPOINTS" }).map((e) => e.id)).toEqual([2])
    expect(matchesFilter(events[1]!, { ...noFilter, circle: "shop", peer: "api", types: ["ask"] })).toBe(true)
  })

  it("names every party of an event", () => {
    expect(eventPeers(events[1]!)).toEqual([web.peer_id, "web", api.peer_id, "api"])
  })

  it("round-trips through the URL query", () => {
    const filter = { peer: "api", circle: "shop", types: ["ask" as const, "ack" as const], text: "x y" }
    expect(filterFromQuery(filterToQuery(filter))).toEqual(filter)
    expect(filterFromQuery("")).toEqual(noFilter)
  })
})
