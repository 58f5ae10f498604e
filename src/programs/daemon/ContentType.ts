/**
 * The one body type each route takes: multipart for attachment uploads, an HTML form for the
 * dashboard's login page (its login and logout posts), JSON for every other route.
 */
export const expectedMediaType = (path: string): string =>
  path === "/attachments"
    ? "multipart/form-data"
    : path === "/dashboard/login" || path === "/dashboard/logout"
    ? "application/x-www-form-urlencoded"
    : "application/json"

const BODYLESS = new Set(["GET", "HEAD", "OPTIONS"])

/**
 * Why a request's declared body type is refused (415), or undefined when it is the route's.
 * A request without Content-Type passes only when it has no body (`POST /asks/{id}/wait`,
 * `DELETE /peers/{id}`); GET, HEAD and OPTIONS are not looked at.
 */
export const unsupportedMediaType = (
  method: string,
  path: string,
  headers: Readonly<Record<string, string | undefined>>
): string | undefined => {
  if (BODYLESS.has(method)) return undefined
  const expected = expectedMediaType(path)
  const declared = headers["content-type"]?.split(";")[0]!.trim().toLowerCase() ?? ""
  if (declared === expected) return undefined
  if (declared === "") {
    const length = headers["content-length"]
    const hasBody = (length !== undefined && length.trim() !== "0") || headers["transfer-encoding"] !== undefined
    return hasBody ? `${method} ${path} takes a body of Content-Type ${expected}; this one declares none` : undefined
  }
  return `${method} ${path} takes Content-Type ${expected}, not ${declared}`
}
