import { Cause, Effect, Either, Exit, type ParseResult, Runtime, Schema } from "effect"
import type { IncomingMessage, ServerResponse } from "node:http"
import { BadRequest, Internal, wireErrorOf } from "../../protocol/Errors.js"
import { parseErrorMessage } from "../../protocol/Issues.js"
import { parseJsonBounded } from "../../protocol/JsonDepth.js"
import {
  AckAccepted,
  AckRequest,
  AskAccepted,
  AskRequest,
  BroadcastAccepted,
  BroadcastRequest,
  NotifyAccepted,
  NotifyRequest
} from "../../protocol/Message.js"
import { type Peer, PEER_TOKEN_HEADER } from "../../protocol/Peer.js"
import { AuthToken } from "../../services/AuthToken.js"
import type { Config } from "../../services/Config.js"
import { MessageRouter } from "../../services/MessageRouter.js"
import { PeerRegistry } from "../../services/PeerRegistry.js"
import { senderByTokenNow } from "./Caller.js"
import { makeAdmission } from "./Guard.js"

/** A node:http request listener that serves some requests itself; false hands one on. */
export type DirectRoutes = (request: IncomingMessage, response: ServerResponse) => boolean

/** What a route makes of a request: its result at once, or an effect that makes it. */
type Outcome<A, E> = Either.Either<A, E> | Effect.Effect<A, E>

interface Route {
  readonly decode: (body: unknown) => Either.Either<unknown, ParseResult.ParseError>
  readonly serve: (sender: Peer, payload: unknown, at: number) => Outcome<unknown, unknown>
  readonly encode: (result: unknown) => unknown
}

const route = <P, PI, A, AI, E>(
  payload: Schema.Schema<P, PI>,
  success: Schema.Schema<A, AI>,
  serve: (sender: Peer, payload: P, at: number) => Outcome<A, E>
): Route => ({
  decode: Schema.decodeUnknownEither(payload),
  serve: serve as Route["serve"],
  encode: Schema.encodeSync(success) as Route["encode"]
})

const isJson = (contentType: string | undefined) =>
  contentType === undefined || contentType.toLowerCase().includes("application/json")

const send = (response: ServerResponse, status: number, body: unknown) => {
  const text = JSON.stringify(body)
  response.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) })
  response.end(text)
}

const sendError = (response: ServerResponse, error: BadRequest | Internal) => {
  const wire = wireErrorOf(error)!
  send(response, wire.status, wire.body)
}

/**
 * The agents' message calls (POST /ask, /notify, /ack, /broadcast) served straight from the
 * node:http request, without the HTTP framework's layers: they are the daemon's hot path, and
 * at 50 asks/s every step there runs with cold caches. They answer exactly as the HttpApi
 * routes do (a test holds the two to it): the same guard admission, the contract's Schemas,
 * the same services, the same error envelope. Anything unusual is handed on unread to the
 * full app (a browser's Origin, a chunked body, a missing peer token, a refused admission),
 * which then answers with its own checks.
 */
export const makeDirectRoutes = (options: { readonly config: Config["Type"]; readonly port: () => number }) =>
  Effect.gen(function*() {
    const registry = yield* PeerRegistry
    const router = yield* MessageRouter
    const runFork = Runtime.runFork(yield* Effect.runtime<never>())
    const clock = yield* Effect.clock
    const admit = makeAdmission({ ...options, auth: yield* AuthToken })
    const refusedBrowser = () => false
    // An ask or a notify runs as plain synchronous steps, with no fiber: at 50 asks/s a fiber's
    // creation, with cold caches, costs about a third as much as storing the ask.
    const routes = new Map<string, Route>([
      ["/ask", route(AskRequest, AskAccepted, router.askNow)],
      ["/notify", route(NotifyRequest, NotifyAccepted, router.notifyNow)],
      ["/ack", route(AckRequest, AckAccepted, router.ack)],
      ["/broadcast", route(BroadcastRequest, BroadcastAccepted, router.broadcast)]
    ])

    const answer = (response: ServerResponse, chosen: Route, exit: Exit.Exit<unknown, unknown>) => {
      if (Exit.isSuccess(exit)) {
        let body: unknown
        try {
          body = chosen.encode(exit.value)
        } catch (defect) {
          return answer(response, chosen, Exit.die(defect))
        }
        return send(response, 200, body)
      }
      const failure = Cause.failureOption(exit.cause)
      const wire = failure._tag === "Some" ? wireErrorOf(failure.value) : undefined
      if (wire !== undefined) return send(response, wire.status, wire.body)
      failed(response, exit.cause)
    }

    /** A bug, never the client's doing: logged, answered 500 when nothing was sent yet. */
    const failed = (response: ServerResponse, cause: unknown) => {
      runFork(Effect.logError("request failed", Cause.isCause(cause) ? cause : Cause.die(cause)))
      if (response.headersSent) return response.destroy()
      sendError(response, Internal.logged())
    }

    const serve = (chosen: Route, token: string, text: string, response: ServerResponse) => {
      // As the platform reads a JSON body: an empty one is null.
      const body = text === "" ? { ok: true as const, value: null } : parseJsonBounded(text)
      if (!body.ok) return sendError(response, new BadRequest({ message: `the request body is ${body.reason}` }))
      const payload = chosen.decode(body.value)
      if (Either.isLeft(payload)) {
        return sendError(response, new BadRequest({ message: parseErrorMessage(payload.left) }))
      }
      let outcome: Outcome<unknown, unknown>
      try {
        const at = clock.unsafeCurrentTimeMillis()
        const sender = senderByTokenNow(registry, token, at)
        outcome = Either.isLeft(sender) ? sender : chosen.serve(sender.right, payload.right, at)
      } catch (defect) {
        return answer(response, chosen, Exit.die(defect))
      }
      if (Either.isEither(outcome)) return answer(response, chosen, Exit.fromEither(outcome))
      runFork(outcome).addObserver((exit) => answer(response, chosen, exit))
    }

    const directRoutes: DirectRoutes = (request, response) => {
      const chosen = request.method === "POST" ? routes.get(request.url ?? "") : undefined
      if (chosen === undefined) return false
      const headers = request.headers as Record<string, string | undefined>
      const token = headers[PEER_TOKEN_HEADER]
      if (
        token === undefined || token === "" || headers["origin"] !== undefined ||
        headers["content-length"] === undefined || !isJson(headers["content-type"])
      ) return false
      const verdict = admit(
        {
          method: "POST",
          url: request.url!,
          headers,
          tunnelled: false,
          client: request.socket.remoteAddress ?? "local"
        },
        refusedBrowser
      )
      if (verdict._tag !== "Admit" || verdict.chunked) return false
      const chunks: Array<Buffer> = []
      request.on("data", (chunk: Buffer) => chunks.push(chunk))
      // A client that goes away mid-body: nothing was done, nothing to answer.
      request.on("error", () => response.destroy())
      request.on("end", () => {
        try {
          serve(chosen, token, Buffer.concat(chunks).toString("utf8"), response)
        } catch (defect) {
          failed(response, defect)
        }
      })
      return true
    }
    return directRoutes
  })
