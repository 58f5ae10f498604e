import * as os from "node:os"
import * as path from "node:path"
import { DAEMON_NODE_FLAGS } from "../daemon/Launcher.js"

/**
 * The service definitions `repowire service install` writes. Both run `serve` through the shim
 * ($REPOWIRE_HOME/bin/repowire), which adds the daemon's Node flags and follows the install
 * when it is upgraded or moved (the unit never names a path inside an install).
 */
export const SYSTEMD_UNIT = "repowire.service"
export const LAUNCHD_LABEL = "dev.repowire.daemon"

export interface ServiceInputs {
  readonly shim: string
  readonly home: string
  readonly logFile: string
}

const systemdQuote = (s: string) => (/^[A-Za-z0-9_./:=@%+-]+$/.test(s) ? s : `"${s.replace(/(["\\])/g, "\\$1")}"`)

export const systemdUnitPath = (env: NodeJS.ProcessEnv = process.env) =>
  path.join(env.XDG_CONFIG_HOME || path.join(os.homedir(), ".config"), "systemd", "user", SYSTEMD_UNIT)

export const systemdUnit = (i: ServiceInputs): string =>
  `# repowire daemon: written by \`repowire service install\`, removed by \`repowire service uninstall\`.
[Unit]
Description=repowire daemon (mesh network for AI coding agents)
After=network.target

[Service]
Type=simple
# The shim runs: node ${DAEMON_NODE_FLAGS.join(" ")} <install>/dist/bin.mjs serve
ExecStart=${systemdQuote(i.shim)} serve
Environment=${systemdQuote(`REPOWIRE_HOME=${i.home}`)}
Restart=on-failure
RestartSec=2
# SIGTERM lets the daemon close its database and sockets cleanly.
KillSignal=SIGTERM
TimeoutStopSec=15

[Install]
WantedBy=default.target
`

export const launchdPlistPath = () => path.join(os.homedir(), "Library", "LaunchAgents", `${LAUNCHD_LABEL}.plist`)

const xml = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")

export const launchdPlist = (i: ServiceInputs): string =>
  `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<!-- repowire daemon: written by \`repowire service install\`; the shim adds ${DAEMON_NODE_FLAGS.join(" ")} -->
<plist version="1.0">
<dict>
  <key>Label</key>
  <string>${LAUNCHD_LABEL}</string>
  <key>ProgramArguments</key>
  <array>
    <string>${xml(i.shim)}</string>
    <string>serve</string>
  </array>
  <key>EnvironmentVariables</key>
  <dict>
    <key>REPOWIRE_HOME</key>
    <string>${xml(i.home)}</string>
  </dict>
  <key>RunAtLoad</key>
  <true/>
  <key>KeepAlive</key>
  <dict>
    <key>SuccessfulExit</key>
    <false/>
  </dict>
  <key>ThrottleInterval</key>
  <integer>5</integer>
  <key>StandardOutPath</key>
  <string>${xml(i.logFile)}</string>
  <key>StandardErrorPath</key>
  <string>${xml(i.logFile)}</string>
</dict>
</plist>
`
