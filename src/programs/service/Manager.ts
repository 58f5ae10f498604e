import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import {
  LAUNCHD_LABEL,
  launchdPlist,
  launchdPlistPath,
  type ServiceInputs,
  SYSTEMD_UNIT,
  systemdUnit,
  systemdUnitPath
} from "./Units.js"

/** One service manager: where its file goes, what it says, and the commands that drive it. */
export interface ServiceManager {
  readonly name: string
  readonly file: string
  readonly text: (i: ServiceInputs) => string
  /** Why this manager cannot be used here, or undefined when it can. */
  readonly unavailable: () => string | undefined
  readonly afterInstall: ReadonlyArray<ReadonlyArray<string>>
  readonly beforeUninstall: ReadonlyArray<ReadonlyArray<string>>
  readonly afterUninstall: ReadonlyArray<ReadonlyArray<string>>
  readonly restart: ReadonlyArray<string>
  readonly status: ReadonlyArray<string>
}

export const run = (argv: ReadonlyArray<string>) => {
  const r = spawnSync(argv[0]!, argv.slice(1), { encoding: "utf8", timeout: 15_000 })
  return { ok: r.status === 0, out: `${r.stdout ?? ""}${r.stderr ?? ""}`.trim() || (r.error?.message ?? "") }
}

const systemd = (env: NodeJS.ProcessEnv): ServiceManager => ({
  name: "systemd --user",
  file: systemdUnitPath(env),
  text: systemdUnit,
  unavailable: () => {
    // sd_booted(): systemd is PID 1 exactly when this folder exists.
    if (!fs.existsSync("/run/systemd/system")) {
      return "systemd is not running on this machine (a container?): nothing written. " +
        "Run the daemon with `repowire daemon start`, or under your own supervisor with `repowire serve`"
    }
    const user = run(["systemctl", "--user", "show-environment"])
    return user.ok
      ? undefined
      : `the systemd user manager does not answer (${user.out.split("\n")[0]}): nothing written`
  },
  // restart, not enable --now: a unit already running (an older one, or upstream's Go build's
  // repowire.service, which this file replaces) must pick up the new definition.
  afterInstall: [["systemctl", "--user", "daemon-reload"], ["systemctl", "--user", "enable", SYSTEMD_UNIT], [
    "systemctl",
    "--user",
    "restart",
    SYSTEMD_UNIT
  ]],
  beforeUninstall: [["systemctl", "--user", "disable", "--now", SYSTEMD_UNIT]],
  afterUninstall: [["systemctl", "--user", "daemon-reload"]],
  restart: ["systemctl", "--user", "restart", SYSTEMD_UNIT],
  status: ["systemctl", "--user", "status", "--no-pager", "--lines=5", SYSTEMD_UNIT]
})

const launchd = (): ServiceManager => {
  const domain = `gui/${os.userInfo().uid}`
  const file = launchdPlistPath()
  return {
    name: "launchd",
    file,
    text: launchdPlist,
    unavailable:
      () => (run(["launchctl", "print", domain]).ok ? undefined : `launchctl cannot reach ${domain}: nothing written`),
    afterInstall: [["launchctl", "bootstrap", domain, file]],
    beforeUninstall: [["launchctl", "bootout", `${domain}/${LAUNCHD_LABEL}`]],
    afterUninstall: [],
    restart: ["launchctl", "kickstart", "-k", `${domain}/${LAUNCHD_LABEL}`],
    status: ["launchctl", "print", `${domain}/${LAUNCHD_LABEL}`]
  }
}

export const serviceManager = (
  platform: NodeJS.Platform = process.platform,
  env: NodeJS.ProcessEnv = process.env
): ServiceManager | string =>
  platform === "linux" ? systemd(env) : platform === "darwin" ? launchd() : `no service manager support on ${platform}`

export const writeServiceFile = (file: string, text: string) => {
  fs.mkdirSync(path.dirname(file), { recursive: true })
  fs.writeFileSync(file, text, { mode: 0o644 })
}
