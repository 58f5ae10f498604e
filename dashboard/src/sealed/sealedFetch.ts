import type { SealedChannel } from "../../../src/protocol/sealed/ChannelClient.js"

/** The channel to send on: the open one, or a new one when the last closed. */
export type ChannelSource = () => Promise<SealedChannel>

const NULL_BODY_STATUS = new Set([101, 204, 205, 304])

/** The path and query the daemon sees; the channel reaches only the daemon, so only this origin. */
export const innerPath = (url: string | URL): string => {
  const target = new URL(url, location.href)
  if (target.host !== location.host) {
    throw new TypeError(`the sealed channel reaches this origin only, not ${target.host}`)
  }
  return target.pathname + target.search
}

/** `fetch` through the channel: the browser's Request and Response, the bytes between them sealed. */
export const makeSealedFetch = (channel: ChannelSource): typeof fetch => async (input, init) => {
  const request = new Request(input, init)
  const path = innerPath(request.url)
  const body = request.method === "GET" || request.method === "HEAD"
    ? undefined
    : new Uint8Array(await request.arrayBuffer())
  const sealed = await (await channel()).fetch(path, {
    method: request.method,
    headers: [...request.headers],
    ...(body === undefined ? {} : { body })
  })
  const headers = new Headers()
  for (const [name, value] of sealed.headers) {
    try {
      headers.append(name, value)
    } catch {
      // a header the browser's Response may not carry
    }
  }
  if (NULL_BODY_STATUS.has(sealed.status)) void sealed.body.cancel()
  return new Response(NULL_BODY_STATUS.has(sealed.status) ? null : sealed.body, { status: sealed.status, headers })
}
