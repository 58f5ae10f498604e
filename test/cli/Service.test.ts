import { assert, describe, it } from "@effect/vitest"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { launchdPlist, systemdUnit } from "../../src/programs/service/Units.js"
import { cli } from "../support/Process.js"

const inputs = {
  shim: "/home/me/.repowire/bin/repowire",
  home: "/home/me/.repowire",
  logFile: "/home/me/.repowire/daemon.log"
}

describe("repowire service", () => {
  it("the systemd --user unit runs serve through the shim, restarts on failure, and starts with the session", () => {
    const unit = systemdUnit(inputs)
    assert.include(unit, "\nExecStart=/home/me/.repowire/bin/repowire serve\n")
    assert.include(unit, "\nEnvironment=REPOWIRE_HOME=/home/me/.repowire\n")
    assert.include(unit, "\nRestart=on-failure\n")
    assert.include(unit, "\nWantedBy=default.target\n")
    assert.include(unit, "--no-memory-reducer --max-semi-space-size=32 --v8-pool-size=1")
    assert.match(unit, /^\[Unit\]$[^]*^\[Service\]$[^]*^\[Install\]$/m)
    assert.include(
      systemdUnit({ ...inputs, shim: "/home/a b/bin/repowire" }),
      "ExecStart=\"/home/a b/bin/repowire\" serve"
    )
  })

  it("the launchd agent runs serve through the shim, at load, again after a failure", () => {
    const plist = launchdPlist({ ...inputs, home: "/Users/me/R&D" })
    assert.include(plist, "<key>Label</key>\n  <string>dev.repowire.daemon</string>")
    assert.include(
      plist,
      "<array>\n    <string>/home/me/.repowire/bin/repowire</string>\n    <string>serve</string>\n  </array>"
    )
    assert.include(plist, "<key>RunAtLoad</key>\n  <true/>")
    assert.include(plist, "<key>SuccessfulExit</key>\n    <false/>")
    assert.include(plist, "<string>/Users/me/R&amp;D</string>")
    assert.notInclude(plist, "R&D<")
  })

  it("--dry-run prints the unit; install refuses where systemd is not running and writes nothing", () => {
    const home = fs.mkdtempSync(path.join(os.tmpdir(), "rw-service-"))
    const xdg = fs.mkdtempSync(path.join(os.tmpdir(), "rw-xdg-"))
    const env = { XDG_CONFIG_HOME: xdg }
    const dry = cli(home, ["service", "install", "--dry-run"], env)
    if (process.platform !== "linux") return
    assert.strictEqual(dry.code, 0, dry.stderr)
    assert.include(dry.stdout, `# ${path.join(xdg, "systemd", "user", "repowire.service")} (systemd --user)`)
    assert.include(dry.stdout, `ExecStart=${path.join(home, "bin", "repowire")} serve`)
    if (fs.existsSync("/run/systemd/system")) return // a machine with systemd: the refusal cannot be shown
    const refused = cli(home, ["service", "install"], env)
    assert.notStrictEqual(refused.code, 0)
    assert.include(refused.stderr, "systemd is not running on this machine")
    assert.deepStrictEqual(fs.readdirSync(xdg), [])
    assert.isFalse(fs.existsSync(path.join(home, "bin")), "not even the shim")
    const status = cli(home, ["service", "status"], env)
    assert.notStrictEqual(status.code, 0)
    assert.include(status.stderr, "not installed")
  })
})
