import { Console, Effect, Layer } from "effect"
import { ConfigLive } from "../../layers/ConfigLive.js"
import { DaemonClientLive } from "../../layers/DaemonClientLive.js"
import { type DaemonApiClient, DaemonClient } from "../../services/DaemonClient.js"
import { isStaleCaller, messageOf } from "../agent/Failures.js"
import { type AgentIdentity, sanitizeName } from "../agent/Identity.js"
import { ensurePeerSession, renewPeerSession } from "../agent/PeerSession.js"
import type { SessionRecord } from "../agent/Sessions.js"
import { CliError } from "./CliError.js"

/** Config + the typed daemon client, for the client commands. */
export const ClientLayer = DaemonClientLive.pipe(Layer.provideMerge(ConfigLive))

/** Any failure becomes a one-line CliError (Main prints it and exits non-zero). */
export const runCommand = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  effect.pipe(Effect.asVoid, Effect.mapError((e) => new CliError({ message: messageOf(e) })))

export const printJson = (value: unknown) => Console.log(JSON.stringify(value, null, 2))

const cliIdentity = (from: string): AgentIdentity => {
  const name = sanitizeName(from)
  return { backend: "cli", path: process.cwd(), name, pane: null, tmuxSocket: null, key: `cli-${name}` }
}

/**
 * The CLI sends as a `cli` peer (role human, so it reaches every circle). Its peer id and token
 * live in $REPOWIRE_HOME/sessions/cli-<name>.json (0600); registered once, and again when the
 * daemon no longer knows it.
 */
const human = { role: "human" } as const

/** Runs `f` as the named cli peer, registering again once if the daemon forgot it. */
export const asCliPeer = <A, E>(from: string, f: (me: SessionRecord, api: DaemonApiClient) => Effect.Effect<A, E>) =>
  Effect.gen(function*() {
    const client = yield* DaemonClient
    const attempt = (me: SessionRecord) => client.call((api) => f(me, api), { peerToken: me.token })
    const identity = cliIdentity(from)
    const me = yield* ensurePeerSession(identity, process.env, human)
    return yield* attempt(me).pipe(
      Effect.catchIf(
        isStaleCaller(me.peer_id),
        () => Effect.flatMap(renewPeerSession(identity, process.env, me.peer_id, human), attempt)
      )
    )
  })
