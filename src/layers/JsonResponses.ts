import type { ServerResponse } from "node:http"
import { type AnyWireError, wireErrorOf } from "../protocol/Errors.js"

const jsonResponse = (
  res: ServerResponse,
  status: number,
  value: unknown,
  extra: Record<string, string> = {}
) => {
  const body = JSON.stringify(value)
  res.writeHead(status, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(body),
    "cache-control": "no-store",
    "x-content-type-options": "nosniff",
    ...extra
  })
  res.end(body)
}

/** A typed error of `src/protocol/Errors.ts` written on a node:http response, in its envelope. */
export const writeWireError = (res: ServerResponse, error: AnyWireError, extra: Record<string, string> = {}) => {
  const wire = wireErrorOf(error)!
  if (res.headersSent) {
    res.destroy()
    return
  }
  jsonResponse(res, wire.status, wire.body, extra)
}
