import { assert, describe, it } from "@effect/vitest"
import { spawn } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { loadSigner } from "../../../src/layers/audit/AuditKey.js"

describe("the audit key made by several processes at once", () => {
  it("every process gets the same whole key (replicas starting together on one data dir)", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "rw-audit-key-"))
    const module = path.resolve(import.meta.dirname, "../../../src/layers/audit/AuditKey.ts")
    const script = `import { loadSigner } from ${JSON.stringify(module)}; console.log(loadSigner(${
      JSON.stringify(dir)
    }).publicKey)`
    const run = () =>
      new Promise<string>((resolve, reject) => {
        const child = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script])
        let out = ""
        let err = ""
        child.stdout.on("data", (c) => (out += c))
        child.stderr.on("data", (c) => (err += c))
        child.on("exit", (code) => code === 0 ? resolve(out.trim()) : reject(new Error(err)))
      })
    const keys = await Promise.all(Array.from({ length: 6 }, run))
    assert.strictEqual(new Set(keys).size, 1, keys.join(", "))
    assert.strictEqual(loadSigner(dir).publicKey, keys[0])
    assert.deepStrictEqual(fs.readdirSync(dir), ["audit-ed25519.pem"], "no temp file left behind")
  }, 60_000)
})
