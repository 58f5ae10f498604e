import * as fs from "node:fs"
import * as path from "node:path"
import { type Reply, request } from "../support/Http.js"

/** Writes policy.yaml the way an editor saves: a temp file, then an atomic rename. */
export const writePolicy = (home: string, text: string) => {
  const tmp = path.join(home, `.policy.yaml.${process.pid}.tmp`)
  fs.writeFileSync(tmp, text, { mode: 0o600 })
  fs.renameSync(tmp, path.join(home, "policy.yaml"))
}

export const until = async <A>(what: string, probe: () => Promise<A | undefined>, timeoutMs = 5000): Promise<A> => {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await probe()
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 25))
  }
}

export const json = (base: string, method: string, route: string, headers: Record<string, string>, body?: unknown) =>
  request(base, method, route, { headers, ...(body === undefined ? {} : { body }) })

export const assertDenied = (reply: Reply, rule: string) => {
  if (
    reply.status !== 403 || reply.body?.error?.code !== "policy_denied" ||
    !String(reply.body.error.message).includes(rule)
  ) {
    throw new Error(`expected 403 policy_denied naming ${rule}, got ${reply.status} ${reply.text}`)
  }
}
