import * as http from "node:http"
import { ErrorAnswer } from "../../protocol/DaemonAnswers.js"
import * as S from "../../protocol/MiniSchema.js"
import { unreachableCause, unreachableMessage } from "../../protocol/Unreachable.js"
import type { DaemonTarget } from "../agent/Registration.js"

export type { DaemonTarget }

export interface JsonResponse {
  readonly status: number
  readonly body: unknown
}

export class DaemonUnreachableError extends Error {
  constructor(readonly baseUrl: string, cause: string) {
    super(unreachableMessage(baseUrl, cause))
  }
}

/**
 * One JSON request with a hard deadline, on plain node:http so hooks stay fast (no Effect,
 * no undici). Network failures and timeouts reject with DaemonUnreachableError. The hook's
 * alone: the CLI and the MCP server use the typed DaemonClient.
 */
export const requestJson = (
  target: DaemonTarget,
  method: string,
  path: string,
  options: {
    readonly body?: unknown
    readonly peerToken?: string | null
    readonly timeoutMs?: number
    readonly headers?: Readonly<Record<string, string>>
  } = {}
): Promise<JsonResponse> =>
  new Promise((resolve, reject) => {
    const url = new URL(path, target.baseUrl)
    const payload = options.body === undefined ? undefined : JSON.stringify(options.body)
    const headers: Record<string, string> = { accept: "application/json", ...options.headers }
    if (payload !== undefined) headers["content-type"] = "application/json"
    if (target.authToken) headers["authorization"] = `Bearer ${target.authToken}`
    if (options.peerToken) headers["x-repowire-peer-token"] = options.peerToken
    const req = http.request(url, { method, headers, timeout: options.timeoutMs ?? 1500 }, (res) => {
      const chunks: Array<Buffer> = []
      res.on("data", (c: Buffer) => chunks.push(c))
      res.on("end", () => {
        const text = Buffer.concat(chunks).toString("utf8")
        let body: unknown = text
        try {
          body = text === "" ? null : JSON.parse(text)
        } catch {
          // not JSON: keep the text for the error message
        }
        resolve({ status: res.statusCode ?? 0, body })
      })
      res.on("error", (e) => reject(new DaemonUnreachableError(target.baseUrl, e.message)))
    })
    req.on("timeout", () => req.destroy(new Error(`no answer within ${options.timeoutMs ?? 1500}ms`)))
    req.on("error", (e: NodeJS.ErrnoException) =>
      reject(new DaemonUnreachableError(target.baseUrl, unreachableCause(e.code, e.message))))
    req.end(payload)
  })

/** The daemon's error envelope message, or the status line. */
export const errorMessage = (res: JsonResponse): string => {
  const envelope = S.decode(ErrorAnswer, res.body)
  const message = envelope.ok
    ? envelope.value.error.message
    : typeof res.body === "string" && res.body !== ""
    ? res.body.slice(0, 200)
    : ""
  return `daemon answered ${res.status}${message ? `: ${message}` : ""}`
}
