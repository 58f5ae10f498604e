import { Clock, Effect, Layer, Option, Redacted, Schema } from "effect"
import * as path from "node:path"
import { reachesCircle } from "../../layers/Reach.js"
import { allowedFolder } from "../../layers/spawn/AllowedPaths.js"
import { makeTmux } from "../../layers/spawn/Tmux.js"
import { Forbidden, SpawnFailed, SpawnRefused } from "../../protocol/Errors.js"
import { daemonUrl } from "../../protocol/HomeFiles.js"
import type { Peer } from "../../protocol/Peer.js"
import type { SpawnRequest } from "../../protocol/Spawn.js"
import { Config } from "../../services/Config.js"
import { Database } from "../../services/Database.js"
import { MessageRouter } from "../../services/MessageRouter.js"
import { PeerRegistry } from "../../services/PeerRegistry.js"
import { Spawner } from "../../services/Spawner.js"
import { sanitizeName, sessionKeyFor } from "../agent/Identity.js"
import { removeSession, writeSession } from "../agent/Sessions.js"
import { installPaneExitedHook, paneExitedShell } from "../hook/PaneExitedHook.js"
import { binPath } from "./Launcher.js"

const SpawnedRow = Schema.Struct({
  peer_id: Schema.String,
  tmux_socket: Schema.NullOr(Schema.String),
  session: Schema.String,
  window_id: Schema.String,
  pane_id: Schema.String,
  pane_pid: Schema.Number
})

export const SpawnerLive = Layer.effect(
  Spawner,
  Effect.gen(function*() {
    const config = yield* Config
    const db = yield* Database
    const registry = yield* PeerRegistry
    const router = yield* MessageRouter
    const settings = config.values.daemon.spawn
    const tmux = makeTmux(settings.tmux_socket)
    const homeEnv = { REPOWIRE_HOME: config.paths.home }
    const hookCommand = { home: config.paths.home, node: process.execPath, bin: binPath() }

    const commandFor = (request: SpawnRequest) => {
      const command = settings.commands[request.backend]
      return command === undefined || settings.allowed_paths.length === 0
        ? Effect.fail(
          new SpawnRefused({
            message:
              `spawning is off for ${request.backend}: set daemon.spawn.commands.${request.backend} (the command ` +
              `a new tmux window runs) and daemon.spawn.allowed_paths (the folders agents may run in) in ${config.paths.configFile}`
          })
        )
        : Effect.succeed(command)
    }

    const spawn = Effect.fn("Spawner.spawn")(function*(caller: Peer, request: SpawnRequest) {
      const command = yield* commandFor(request)
      const circle = request.circle ?? caller.circle
      if (!reachesCircle(caller, circle)) {
        return yield* new Forbidden({
          message: `${caller.display_name} reaches only circle ${caller.circle}, not ${circle}`
        })
      }
      const folder = yield* allowedFolder(request.path, settings.allowed_paths)
      const peer = yield* Effect.orDie(registry.register({
        name: sanitizeName(path.basename(folder)),
        backend: request.backend,
        path: folder,
        circle,
        description: `spawned by ${caller.display_name}`
      }, undefined))
      // The window waits for this signal, sent once its session file is written: the agent's
      // hooks then resume the peer registered here instead of registering another one.
      const channel = `repowire-spawn-${peer.peer_id}`
      const onExit = paneExitedShell(hookCommand, `"$TMUX_PANE"`, `"\${TMUX%%,*}"`)
      const window = yield* tmux.open({
        session: circle,
        name: peer.display_name,
        cwd: folder,
        // When the agent's command ends, its shell reports the pane gone before tmux closes it.
        command: [`tmux wait-for ${channel}`, command, ...(onExit === undefined ? [] : [onExit])].join("; "),
        env: homeEnv
      }).pipe(
        Effect.catchTag("TmuxFailed", (e) =>
          Effect.zipRight(
            Effect.ignore(registry.remove(peer.peer_id)),
            Effect.fail(new SpawnFailed({ message: `tmux could not open a window: ${e.message}` }))
          ))
      )
      yield* db.run(
        `INSERT INTO spawned (peer_id, tmux_socket, session, window_id, pane_id, pane_pid, spawned_by, command, path, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        [
          peer.peer_id,
          window.socket,
          window.session,
          window.window,
          window.pane,
          window.panePid,
          caller.peer_id,
          command,
          folder,
          yield* Clock.currentTimeMillis
        ]
      )
      writeSession({
        key: sessionKeyFor(request.backend, { tmuxSocket: window.socket, pane: window.pane }),
        peer_id: peer.peer_id,
        token: peer.token,
        display_name: peer.display_name,
        circle: peer.circle,
        backend: request.backend,
        path: folder,
        pane: window.pane,
        tmux_socket: window.socket,
        base_url: daemonUrl(config.paths, config.values),
        auth_token: config.authToken === undefined ? null : Redacted.value(config.authToken)
      }, homeEnv)
      // The agent's peer goes offline the moment its pane exits, not after idle_timeout.
      // A pane closed from outside (kill-pane, a signal) never reaches that line: tmux's hook does.
      const hookFailed = yield* Effect.promise(() => installPaneExitedHook(window.socket, hookCommand))
      if (hookFailed !== undefined) yield* Effect.logWarning(`no pane-exited hook on the tmux server: ${hookFailed}`)
      yield* Effect.orDie(tmux.signal(channel))
      if (request.message !== undefined) {
        yield* router.notify(caller, { from_peer: caller.peer_id, to_peer: peer.peer_id, text: request.message }).pipe(
          Effect.catchAll((e) =>
            Effect.logWarning(`the first message to ${peer.display_name} was not queued: ${e.message}`)
          )
        )
      }
      return {
        peer_id: peer.peer_id,
        display_name: peer.display_name,
        circle: peer.circle,
        path: folder,
        tmux_session: window.session,
        tmux_window: window.window,
        tmux_pane: window.pane
      }
    })

    const kill = Effect.fn("Spawner.kill")(function*(caller: Peer, ref: string) {
      const peer = yield* registry.resolve(ref, caller)
      const row = yield* db.one(SpawnedRow, "SELECT * FROM spawned WHERE peer_id = ?", [peer.peer_id])
      if (Option.isNone(row)) {
        return yield* new SpawnRefused({
          message: `${peer.display_name} was not spawned by this daemon; kill_peer closes only windows it opened`
        })
      }
      const { pane_id, pane_pid, window_id } = row.value
      const pane = makeTmux(row.value.tmux_socket)
      // The same pane and process as at spawn: after a tmux restart the ids may name another window.
      const same = (yield* pane.panePid(pane_id)) === pane_pid
      const closed = same && (yield* Effect.isSuccess(pane.killWindow(window_id)))
      yield* db.run("DELETE FROM spawned WHERE peer_id = ?", [peer.peer_id])
      removeSession(
        sessionKeyFor(peer.backend as SpawnRequest["backend"], { tmuxSocket: row.value.tmux_socket, pane: pane_id }),
        homeEnv
      )
      yield* Effect.ignore(registry.setStatus(peer.peer_id, "offline"))
      return { peer_id: peer.peer_id, display_name: peer.display_name, window_closed: closed }
    })

    return Spawner.of({ spawn, kill })
  })
)
