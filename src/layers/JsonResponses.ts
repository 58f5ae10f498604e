import type { ServerResponse } from "node:http"
import { type AnyWireError, wireErrorOf } from "../protocol/Errors.js"

export const jsonResponse = (
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

const codes: Record<number, string> = {
  400: "invalid_request",
  401: "unauthorized",
  403: "forbidden",
  404: "not_found",
  408: "request_timeout",
  413: "payload_too_large",
  429: "rate_limited",
  500: "internal",
  502: "bad_gateway",
  503: "unavailable",
  504: "gateway_timeout"
}

/** The envelope's `code` for an HTTP status. */
export const errorCode = (status: number): string => codes[status] ?? "error"

/** The error envelope every repowire server uses. */
export const errorPage = (res: ServerResponse, status: number, message: string, extra: Record<string, string> = {}) => {
  if (res.headersSent) {
    res.destroy()
    return
  }
  jsonResponse(res, status, { error: { code: errorCode(status), message } }, extra)
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
