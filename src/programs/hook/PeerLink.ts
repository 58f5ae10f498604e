import type { AgentIdentity } from "../agent/Identity.js"
import { readSession, type SessionRecord } from "../agent/Sessions.js"
import {
  type DaemonTarget,
  DaemonUnreachableError,
  errorMessage,
  type JsonResponse,
  requestJson
} from "./DaemonHttp.js"
import { quickDaemonTarget } from "./QuickConfig.js"
import { renewSession } from "./Register.js"

export class HookFailure extends Error {}

const targetOf = (s: SessionRecord): DaemonTarget => ({ baseUrl: s.base_url, authToken: s.auth_token })

/**
 * Calls the daemon as this session's peer. The fast path uses only the session file; a peer
 * the daemon no longer knows is registered again, and a daemon that moved or changed its
 * auth token is found again through config.yaml. Each at most once.
 */
export const callAsPeer = async (
  identity: AgentIdentity,
  request: (session: SessionRecord) => { method: string; path: string; body?: unknown; timeoutMs?: number },
  env: NodeJS.ProcessEnv = process.env
): Promise<{ session: SessionRecord; response: JsonResponse }> => {
  let session = readSession(identity.key, env)
  const send = (s: SessionRecord, target: DaemonTarget) => {
    const r = request(s)
    return requestJson(target, r.method, r.path, {
      peerToken: s.token,
      ...(r.body !== undefined ? { body: r.body } : {}),
      ...(r.timeoutMs !== undefined ? { timeoutMs: r.timeoutMs } : {})
    })
  }
  if (session !== null) {
    try {
      const response = await send(session, targetOf(session))
      if (response.status !== 401 && response.status !== 403 && response.status !== 404) return { session, response }
    } catch (e) {
      if (!(e instanceof DaemonUnreachableError)) throw e
      const fresh = await quickDaemonTarget(env)
      if (fresh.baseUrl === session.base_url) throw e
    }
  }
  const target = await quickDaemonTarget(env)
  session = await renewSession(identity, target, env, session?.peer_id)
  const response = await send(session, target)
  if (response.status >= 400) throw new HookFailure(errorMessage(response))
  return { session, response }
}
