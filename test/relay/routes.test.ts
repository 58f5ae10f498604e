import { assert, describe, it } from "@effect/vitest"
import { isRelayRoute } from "../../src/programs/relay/RelayRoutes.js"

describe("which requests the relay answers itself", () => {
  it("its own routes go to the platform app; everything else is the browser's daemon's", () => {
    const own: ReadonlyArray<readonly [string, string, boolean]> = [
      ["GET", "/_relay/health", true],
      ["POST", "/_relay/health", false],
      ["GET", "/health", false],
      ["GET", "/", false],
      ["GET", "/", true],
      ["POST", "/auth", false],
      ["POST", "/select", true],
      ["POST", "/logout", true],
      ["POST", "/api/register", false],
      ["POST", "/api/rotate", false]
    ]
    const tunnelled: ReadonlyArray<readonly [string, string, boolean]> = [
      ["GET", "/health", true],
      ["HEAD", "/", false],
      ["GET", "/auth", false],
      ["GET", "/api/register", false],
      ["POST", "/auth/", false],
      ["GET", "/peers", true],
      ["GET", "/dashboard", false]
    ]
    own.forEach(([m, p, s]) => assert.isTrue(isRelayRoute(m, p, () => s), `${m} ${p} session=${s}`))
    tunnelled.forEach(([m, p, s]) => assert.isFalse(isRelayRoute(m, p, () => s), `${m} ${p} session=${s}`))
  })
})
