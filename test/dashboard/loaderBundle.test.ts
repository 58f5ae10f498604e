import { assert, describe, it } from "@effect/vitest"
import { gzipSync } from "node:zlib"
import { buildLoaderScript } from "../../dashboard/build.mjs"

// The sealed loader is the one piece of code a relay serves that a user must trust (README,
// threat model): it stays small enough to read, and bundles no package, effect least of all.
describe("the sealed dashboard's loader script", () => {
  it("bundles only the repository's own sources (the Effect-free sealed core), under 50 KB", async () => {
    const { inputs, script } = await buildLoaderScript()
    assert.deepStrictEqual(inputs.filter((file) => file.includes("node_modules")), [])
    assert.isTrue(inputs.some((file) => file.includes("src/protocol/sealed/core/Handshake.ts")))
    assert.deepStrictEqual(
      inputs.filter((file) => file.startsWith("src/") && !file.startsWith("src/protocol/sealed/")),
      []
    )
    assert.isBelow(script.length, 50 * 1024)
    assert.isBelow(gzipSync(script).length, 16 * 1024)
  }, 60_000)
})
