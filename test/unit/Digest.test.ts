import { assert, describe, it } from "@effect/vitest"
import { digest, matchesDigest, secretsEqual } from "../../src/layers/Digest.js"

describe("Digest", () => {
  it("is SHA-256 in hex (FIPS 180-2 test vector)", () => {
    assert.strictEqual(digest("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
  })

  it("matches a secret only against its own digest", () => {
    const stored = digest("peer-token-1")
    assert.isTrue(matchesDigest("peer-token-1", stored))
    assert.isFalse(matchesDigest("peer-token-2", stored))
    assert.isFalse(matchesDigest("peer-token-1", "not a digest"))
  })

  it("compares secrets of any length", () => {
    assert.isTrue(secretsEqual("a-long-daemon-token", "a-long-daemon-token"))
    assert.isFalse(secretsEqual("short", "a-long-daemon-token"))
  })
})
