import { RegisteredAnswer } from "../../protocol/DaemonAnswers.js"
import * as S from "../../protocol/MiniSchema.js"
import type { AgentIdentity } from "../agent/Identity.js"
import { type DaemonTarget, keepRegistration, registrationOf } from "../agent/Registration.js"
import { readSession, type SessionRecord, usableSession, withSessionLock } from "../agent/Sessions.js"
import { errorMessage, requestJson } from "./DaemonHttp.js"

export class RegistrationError extends Error {}

/**
 * Registers the agent session's peer over the hook's promise client, resuming the one it had (same
 * peer id, its own token) when the daemon still knows it, and stores peer id + token in the
 * session file. A daemon that forgot the peer (new state file) gets a fresh registration.
 */
export const registerSession = async (
  identity: AgentIdentity,
  target: DaemonTarget,
  env: NodeJS.ProcessEnv = process.env
): Promise<SessionRecord> => {
  const { previous, request } = registrationOf(identity, target, env, {})
  let res = previous
    ? await requestJson(target, "POST", "/peers", {
      body: { ...request, peer_id: previous.peer_id },
      peerToken: previous.token
    })
    : undefined
  if (res === undefined || res.status === 401 || res.status === 403 || res.status === 404) {
    res = await requestJson(target, "POST", "/peers", { body: request })
  }
  if (res.status !== 201 && res.status !== 200) throw new RegistrationError(`cannot register: ${errorMessage(res)}`)
  const decoded = S.decode(RegisteredAnswer, res.body)
  if (!decoded.ok) throw new RegistrationError("cannot register: unexpected answer from the daemon")
  return keepRegistration(identity, target, previous, decoded.value, env)
}

/**
 * Registers again after the daemon refused `stalePeerId`, unless another process of the same
 * session (a parallel hook, the MCP server) already did: then its registration is used.
 */
export const renewSession = (
  identity: AgentIdentity,
  target: DaemonTarget,
  env: NodeJS.ProcessEnv,
  stalePeerId: string | undefined
): Promise<SessionRecord> =>
  withSessionLock(identity.key, env, async () => {
    const now = readSession(identity.key, env)
    return usableSession(now, target.baseUrl) && now.peer_id !== stalePeerId
      ? now
      : registerSession(identity, target, env)
  })
