import { describe, expect, it } from "vitest"
import { applyPeerEvent, applyPeerEvents, findPeer, groupByCircle, peerMap } from "../../dashboard/src/state/peers.js"
import type { MeshEvent } from "../../dashboard/src/state/types.js"
import { chat, joined, peer } from "./fixtures.js"

describe("peers", () => {
  it("groups by circle, live peers first", () => {
    const peers = peerMap([
      peer("b", "zeta"),
      peer("c", "alpha", "offline"),
      peer("a", "alpha", "online"),
      peer("d", "alpha", "busy")
    ])
    const groups = groupByCircle(peers)
    expect(groups.map((g) => g.circle)).toEqual(["alpha", "zeta"])
    expect(groups[0]!.peers.map((p) => p.display_name)).toEqual(["d", "a", "c"])
    expect(groups[0]!.online).toBe(2)
  })

  it("follows joins, status changes, updates and leaves", () => {
    const api = peer("api")
    const status: MeshEvent = {
      id: 2,
      at: "2026-11-28T13:00:00.000Z",
      circle: "default",
      type: "peer_status",
      peer_id: api.peer_id,
      display_name: "api",
      status: "busy"
    }
    const updated: MeshEvent = {
      id: 3,
      at: "t",
      circle: "default",
      type: "peer_updated",
      peer: { ...api, description: "new" }
    }
    const left: MeshEvent = {
      id: 4,
      at: "t",
      circle: "default",
      type: "peer_left",
      peer_id: api.peer_id,
      display_name: "api"
    }
    let peers = applyPeerEvents(peerMap([]), [joined(1, api), status])
    expect(peers.get(api.peer_id)?.status).toBe("busy")
    peers = applyPeerEvent(peers, updated)
    expect(findPeer(peers, "api")?.description).toBe("new")
    expect(applyPeerEvent(peers, left).size).toBe(0)
  })

  it("leaves the map untouched for other events", () => {
    const peers = peerMap([peer("api")])
    expect(applyPeerEvent(peers, chat(5, peer("api"), "user", "x"))).toBe(peers)
  })
})
