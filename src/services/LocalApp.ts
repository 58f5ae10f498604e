import type { HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { Context, Deferred, Effect, Layer, type Scope } from "effect"

/** The daemon's guarded HTTP app, as it serves a request (local or tunnelled). */
export type DaemonHttpApp = Effect.Effect<
  HttpServerResponse.HttpServerResponse,
  never,
  HttpServerRequest.HttpServerRequest | Scope.Scope
>

/**
 * The daemon's own HTTP app, for in-process callers (the relay tunnel). It is set once the
 * server is listening; `app` waits until then.
 */
export class LocalApp extends Context.Tag("repowire/LocalApp")<LocalApp, {
  readonly app: Effect.Effect<DaemonHttpApp>
  readonly set: (app: DaemonHttpApp) => Effect.Effect<void>
}>() {
  static readonly Live = Layer.effect(
    LocalApp,
    Effect.map(Deferred.make<DaemonHttpApp>(), (deferred) => ({
      app: Deferred.await(deferred),
      set: (app) => Deferred.succeed(deferred, app).pipe(Effect.asVoid)
    }))
  )
}
