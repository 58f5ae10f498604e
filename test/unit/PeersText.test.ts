import { assert, describe, it } from "@effect/vitest"
import { peersText } from "../../src/programs/mcp/Format.js"
import { peer } from "../dashboard/fixtures.js"

describe("list_peers text", () => {
  it("shows the turn state beside the status once the agent has had a turn", () => {
    const text = peersText(
      [{ ...peer("api"), turn_state: "awaiting_input" }, peer("web", "default", "busy")],
      undefined
    )
    assert.include(text, "api\tonline (awaiting input)\tclaude-code")
    assert.include(text, "web\tbusy\tclaude-code")
  })

  it("names peers as name@machine once they come from several machines", () => {
    const local = peersText([peer("api"), peer("web")], undefined)
    assert.include(local, "api\tonline")
    assert.notInclude(local, "@")
    const mesh = peersText([peer("api"), { ...peer("api"), machine: "build-server" }], undefined)
    assert.include(mesh, "api@box\tonline")
    assert.include(mesh, "api@build-server\tonline")
  })
})
