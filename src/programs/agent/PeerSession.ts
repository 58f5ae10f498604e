import { Data, Effect, Option, Redacted, Schema } from "effect"
import { wireErrorOf } from "../../protocol/Errors.js"
import { PeerId } from "../../protocol/Peer.js"
import { Config } from "../../services/Config.js"
import { DaemonClient } from "../../services/DaemonClient.js"
import type { AgentIdentity } from "./Identity.js"
import { type DaemonTarget, keepRegistration, type RegistrationExtra, registrationOf } from "./Registration.js"
import { acquireSessionLock, readSession, type SessionRecord, usableSession } from "./Sessions.js"

/**
 * A session's peer for the CLI and the MCP server, registered through the typed DaemonClient
 * and kept in the same session file as the hook's (hook/Register.ts), so both act as one peer.
 */

/** A refusal of the registration, as the hook's client words it: `cannot register: daemon answered 403: …`. */
export class RegistrationError extends Data.TaggedError("RegistrationError")<{ readonly message: string }> {}

const refused = (e: { readonly _tag: string }) =>
  e._tag === "Unauthorized" || e._tag === "Forbidden" || e._tag === "PeerNotFound"

const withLock = <A, E, R>(key: string, env: NodeJS.ProcessEnv, effect: Effect.Effect<A, E, R>) =>
  Effect.acquireUseRelease(
    Effect.promise(() => acquireSessionLock(key, env)),
    () => effect,
    (release) => Effect.sync(release)
  )

const currentTarget = Effect.gen(function*() {
  const client = yield* DaemonClient
  const config = yield* Config
  return {
    baseUrl: client.baseUrl,
    authToken: config.authToken ? Redacted.value(config.authToken) : null
  } satisfies DaemonTarget
})

/**
 * Registers the session's peer, resuming the one it had (same peer id, its own token) when the
 * daemon still knows it, and stores peer id + token in the session file.
 */
const register = Effect.fn("PeerSession.register")(
  function*(identity: AgentIdentity, env: NodeJS.ProcessEnv, extra: RegistrationExtra) {
    const client = yield* DaemonClient
    const target = yield* currentTarget
    const { humanCredential, previous, request } = registrationOf(identity, target, env, extra)
    const fresh = client.register(request, { humanCredential })
    const resumed = Option.fromNullable(previous).pipe(
      Option.flatMap((p) => Option.map(Schema.decodeOption(PeerId)(p.peer_id), (peer_id) => ({ p, peer_id }))),
      Option.match({
        onNone: () => fresh,
        onSome: ({ p, peer_id }) =>
          client.register({ ...request, peer_id }, { peerToken: p.token, humanCredential }).pipe(
            Effect.catchIf(refused, () => fresh)
          )
      })
    )
    // Not there stays DaemonUnreachable (the MCP server then starts a daemon); a refusal or an
    // answer outside the contract is a RegistrationError.
    const registered = yield* resumed.pipe(
      Effect.mapError((e) => {
        if (e._tag === "DaemonUnreachable") return e
        const wire = wireErrorOf(e)
        return new RegistrationError({
          message: `cannot register: ${wire === undefined ? e.message : `daemon answered ${wire.status}: ${e.message}`}`
        })
      })
    )
    return keepRegistration(identity, target, previous, registered, env)
  }
)

/** Registers under the session's lock, unless another process of the session did meanwhile. */
const registerOnce = (
  identity: AgentIdentity,
  env: NodeJS.ProcessEnv,
  extra: RegistrationExtra,
  usable: (s: SessionRecord | null) => s is SessionRecord
) =>
  withLock(
    identity.key,
    env,
    Effect.gen(function*() {
      const now = readSession(identity.key, env)
      if (usable(now)) return now
      return yield* register(identity, env, extra)
    })
  )

/** The stored session when it points at this daemon, else a registration (once per session). */
export const ensurePeerSession = Effect.fn("PeerSession.ensure")(
  function*(identity: AgentIdentity, env: NodeJS.ProcessEnv, extra: RegistrationExtra = {}) {
    const { baseUrl } = yield* DaemonClient
    const usable = (s: SessionRecord | null): s is SessionRecord => usableSession(s, baseUrl)
    const current = readSession(identity.key, env)
    if (usable(current)) return current
    return yield* registerOnce(identity, env, extra, usable)
  }
)

/**
 * Registers again after the daemon refused `stalePeerId`, unless another process of the same
 * session (a hook, the MCP server) already did: then its registration is used.
 */
export const renewPeerSession = Effect.fn("PeerSession.renew")(
  function*(
    identity: AgentIdentity,
    env: NodeJS.ProcessEnv,
    stalePeerId: string | undefined,
    extra: RegistrationExtra = {}
  ) {
    const { baseUrl } = yield* DaemonClient
    return yield* registerOnce(
      identity,
      env,
      extra,
      (s): s is SessionRecord => usableSession(s, baseUrl) && s.peer_id !== stalePeerId
    )
  }
)
