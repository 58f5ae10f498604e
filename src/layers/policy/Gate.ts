import { Either } from "effect"
import { PolicyDenied } from "../../protocol/Errors.js"
import type { PolicyAction } from "../../protocol/Policy.js"
import type { EventLog } from "../../services/EventLog.js"
import type { Caller, Decision, PolicyPeer, PolicyQuestion, PolicyShape, Via } from "../../services/Policy.js"
import { questionText } from "./Rules.js"

export const callerOf = (peer: PolicyPeer | undefined, via: Via = "local"): Caller => ({ peer, via })

/** The denial's message: who may not do what to whom, and the rule that says so. */
export const denialMessage = (question: PolicyQuestion, decision: Decision) =>
  `${questionText(question)}: ${decision.reason}`

/**
 * The rules applied where a request comes in: a refusal is recorded as a `policy_denied`
 * event (who, whom, what, which rule; never a message's text) and returned as PolicyDenied.
 * Everything is synchronous, and nothing is built while no policy is in force.
 */
export const makeGate = (policy: PolicyShape, events: EventLog["Type"]) => {
  const record = (question: PolicyQuestion, decision: Decision, at: number): PolicyDenied => {
    const { caller } = question
    const target = "tool" in question ? undefined : question.target
    events.emitNow({
      type: "policy_denied",
      circle: caller.peer?.circle ?? target?.circle ?? "default",
      from_peer: caller.peer?.peer_id ?? "",
      from_name: caller.peer?.display_name ?? "(local)",
      to_peer: target?.peer_id ?? null,
      to_name: target?.display_name ?? null,
      action: "tool" in question ? null : question.action,
      tool: "tool" in question ? question.tool : null,
      via: caller.via,
      rule: decision.rule ?? null,
      reason: decision.reason
    }, at)
    return new PolicyDenied({ message: denialMessage(question, decision) })
  }

  /** The question's answer; a denial is recorded. */
  const checkNow = (question: PolicyQuestion, at: number): Either.Either<void, PolicyDenied> => {
    if (!policy.active()) return Either.void
    const decision = policy.decideNow(question)
    return decision.effect === "allow" ? Either.void : Either.left(record(question, decision, at))
  }

  /** An action on a target, and `attach` too when the message carries attachments. */
  const sendNow = (
    caller: Caller,
    action: PolicyAction,
    target: PolicyPeer | undefined,
    withAttachments: boolean,
    at: number
  ): Either.Either<void, PolicyDenied> => {
    if (!policy.active()) return Either.void
    const sent = checkNow({ caller, action, target }, at)
    return Either.isLeft(sent) || !withAttachments ? sent : checkNow({ caller, action: "attach", target }, at)
  }

  /** A denying decision only when a rule (not the default) says so. */
  const ruleDeniesNow = (question: PolicyQuestion): Decision | undefined => {
    if (!policy.active()) return undefined
    const decision = policy.decideNow(question)
    return decision.effect === "deny" && decision.rule !== undefined ? decision : undefined
  }

  /** A broadcast's recipients split into those the rules let it reach and those skipped, with why. */
  const recipientsNow = <P extends PolicyPeer>(
    caller: Caller,
    candidates: ReadonlyArray<P>,
    withAttachments: boolean,
    at: number
  ) => {
    const skipped: Array<{ readonly name: string; readonly reason: string }> = []
    if (!policy.active()) return { allowed: candidates, skipped }
    const allowed = candidates.filter((target) => {
      const refused = sendNow(caller, "broadcast", target, withAttachments, at)
      if (Either.isRight(refused)) return true
      skipped.push({ name: target.display_name, reason: refused.left.message })
      return false
    })
    return { allowed, skipped }
  }

  return { checkNow, sendNow, ruleDeniesNow, recipientsNow, record }
}

export type Gate = ReturnType<typeof makeGate>
