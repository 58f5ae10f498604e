// MiniSchema and type-only imports: the hook (and the launcher it uses) decode the daemon's
// answers without loading effect.
import type { Health } from "./DaemonApi.js"
import type { ErrorBody } from "./Errors.js"
import type { AskList, DeliveriesConfirmed, DeliveryList } from "./Message.js"
import * as S from "./MiniSchema.js"
import type { Registered } from "./Peer.js"

/**
 * The daemon's answers as the hook reads them: the fields it uses of the DaemonApi contract's
 * Schemas, each checked at compile time against that Schema's encoded form.
 */

/** `GET /health`, as far as starting the daemon needs: that it is ours and well. */
export const HealthAnswer = S.reading<typeof Health.Encoded>()(S.struct({ ok: S.boolean, version: S.string }))

export const RegisteredAnswer = S.reading<typeof Registered.Encoded>()(
  S.struct({ peer_id: S.string, display_name: S.string, circle: S.string, token: S.string })
)

export const ErrorAnswer = S.reading<ErrorBody>()(S.struct({ error: S.struct({ message: S.string }) }))

const QueuedMessage = S.struct({
  id: S.string,
  /** A string, not the contract's literals: a kind this hook does not know still reaches the agent. */
  kind: S.string,
  from_name: S.string,
  text: S.string,
  correlation_id: S.nullable(S.string),
  attachments: S.optional(S.array(S.struct({ name: S.string, path: S.string })))
})
export type QueuedMessage = typeof QueuedMessage extends S.Decoder<infer A> ? A : never

/** `GET /deliveries`: the messages that decode. */
export const DeliveriesAnswer = S.reading<typeof DeliveryList.Encoded>()(
  S.struct({ messages: S.entries(QueuedMessage) })
)

/** `GET /asks`: the open asks that decode, as far as a reminder shows them. */
export const AsksAnswer = S.reading<typeof AskList.Encoded>()(
  S.struct({ asks: S.entries(S.struct({ correlation_id: S.string, from_name: S.string, text: S.string })) })
)

/** `POST /deliveries/ack`. */
export const ConfirmedAnswer = S.reading<typeof DeliveriesConfirmed.Encoded>()(
  S.struct({ delivered: S.entries(S.string) })
)
