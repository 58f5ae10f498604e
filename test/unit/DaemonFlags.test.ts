import { assert, describe, it } from "@effect/vitest"
import { readFileSync } from "node:fs"
import * as path from "node:path"
import { DAEMON_NODE_FLAGS } from "../../src/programs/daemon/Launcher.js"

describe("daemon Node flags", () => {
  it("npm start runs the daemon with the same flags as `repowire daemon start`", () => {
    const pkg = JSON.parse(readFileSync(path.join(import.meta.dirname, "../../package.json"), "utf8"))
    const start: string = pkg.scripts.start
    assert.strictEqual(start, `node ${DAEMON_NODE_FLAGS.join(" ")} dist/bin.mjs serve`)
  })
})
