import * as fs from "node:fs"
import * as path from "node:path"
import { resolvePaths } from "../../protocol/HomeFiles.js"
import { readSession, type SessionRecord } from "../agent/Sessions.js"
import { requestJson } from "./DaemonHttp.js"
import { stopDelivery } from "./DeliveryProcess.js"
import { quickDaemonTarget } from "./QuickConfig.js"

/** The sessions recorded for tmux pane `pane` (of the server at `socket`, when given). */
const sessionsOfPane = (
  pane: string,
  socket: string | undefined,
  env: NodeJS.ProcessEnv
): ReadonlyArray<SessionRecord> => {
  let files: Array<string>
  try {
    files = fs.readdirSync(resolvePaths(env).sessionsDir).filter((f) => f.endsWith(".json"))
  } catch {
    return []
  }
  return files
    .map((f) => readSession(path.basename(f, ".json"), env))
    .filter((s): s is SessionRecord =>
      s !== null && s.pane === pane && (socket === undefined || s.tmux_socket === socket)
    )
}

/**
 * `repowire hook pane-exited --pane %ID [--socket PATH]`, run by tmux's pane-exited hook: the
 * agent in that pane is gone, so its delivery process stops and its peer is offline at once,
 * instead of after daemon.peers.idle_timeout.
 */
export const runPaneExited = async (pane: string | undefined, socket: string | undefined, env: NodeJS.ProcessEnv) => {
  if (pane === undefined || !/^%\d+$/.test(pane)) {
    process.stderr.write("repowire: usage: repowire hook pane-exited --pane %ID [--socket PATH]\n")
    return 1
  }
  const sessions = sessionsOfPane(pane, socket, env)
  if (sessions.length === 0) return 0
  const target = await quickDaemonTarget(env)
  for (const session of sessions) {
    stopDelivery(session)
    try {
      await requestJson(target, "POST", `/peers/${encodeURIComponent(session.peer_id)}/status`, {
        body: { status: "offline" },
        peerToken: session.token
      })
    } catch (e) {
      process.stderr.write(`repowire: ${e instanceof Error ? e.message : String(e)}\n`)
    }
  }
  return 0
}
