// The sealed dashboard's loader: the one script of the fixed page the daemon serves a browser
// through a relay that requires the sealed tunnel (built inline into loader.html, pinned by the
// page's CSP). It pairs (`#pair=`) or opens the channel with the stored key, then starts the app
// whose code it fetched through the channel.
import { toHex } from "../../../src/protocol/sealed/Bytes.js"
import { generateKeyPair } from "../../../src/protocol/sealed/core/Crypto.js"
import { pairWith, type PostJson } from "../../../src/protocol/sealed/PairingClient.js"
import type { SealedTransport } from "../transport.js"
import { ChannelHolder, type Refusal } from "./channelHolder.js"
import { loadDevice, saveDevice, type StoredDevice } from "./deviceStore.js"
import { PAIR_HINT, setState, showMessage } from "./loaderPage.js"
import { makeSealedEventSource } from "./SealedEventSource.js"
import { makeSealedFetch } from "./sealedFetch.js"
import { makeSealedWebSocket } from "./SealedWebSocket.js"
import { startApp } from "./startApp.js"

/** The secret leaves the address bar before anything else runs, so no history entry or later script sees it. */
const takePairSecret = (): string | undefined => {
  const match = /^#pair=(.+)$/.exec(location.hash)
  if (match === null) return undefined
  history.replaceState(history.state, "", location.pathname + location.search)
  try {
    return decodeURIComponent(match[1]!)
  } catch {
    return match[1]
  }
}

const secret = takePairSecret()
// A pairing link opened over this page changes only its fragment: load it afresh to pair.
addEventListener("hashchange", () => {
  if (location.hash.startsWith("#pair=")) location.reload()
})

const postJson: PostJson = async (path, body) => {
  const response = await fetch(path, {
    method: "POST",
    credentials: "same-origin",
    headers: { "content-type": "application/json", accept: "application/json" },
    body: JSON.stringify(body)
  })
  return { status: response.status, body: await response.json().catch(() => undefined) }
}

const browserLabel = () => {
  const ua = navigator.userAgent
  const name = /Firefox\//.test(ua)
    ? "Firefox"
    : /Edg\//.test(ua)
    ? "Edge"
    : /Chrom(e|ium)\//.test(ua)
    ? "Chrome"
    : /Safari\//.test(ua)
    ? "Safari"
    : "a browser"
  return `${name} on ${navigator.platform || "an unknown platform"}`
}

/** Pairs a new non-extractable key with the link's secret; stores it only once the daemon confirmed it. */
const pair = async (secretText: string): Promise<StoredDevice | undefined> => {
  let device: StoredDevice
  try {
    // A browser without X25519 in WebCrypto fails here, with the message below.
    const key = await generateKeyPair()
    const paired = await pairWith(postJson, secretText, key, browserLabel())
    device = {
      deviceId: paired.deviceId,
      key,
      daemonKey: paired.daemonKey,
      daemonFingerprint: paired.daemonFingerprint
    }
  } catch (e) {
    showMessage(
      "pairing_failed",
      "Pairing failed",
      `This browser could not pair: ${e instanceof Error ? e.message : String(e)}`,
      "Nothing was stored. A link works once, for 10 minutes: run `repowire relay pair` for a new one."
    )
    return undefined
  }
  try {
    await saveDevice(device)
  } catch (e) {
    showMessage(
      "pairing_failed",
      "This browser cannot keep its key",
      `The daemon paired it (device ${device.deviceId}), but the browser would not store the key: ${
        e instanceof Error ? e.message : String(e)
      }`,
      "Revoke that device (`repowire relay devices revoke ID`) and pair from a window that keeps site data."
    )
    return undefined
  }
  return device
}

/** SHA-256 of this page as the origin serves it, for the user to compare with what `relay pair` printed. */
const digestOfThisPage = async () => {
  const response = await fetch(location.pathname, { cache: "no-store", credentials: "same-origin" })
  return toHex(new Uint8Array(await crypto.subtle.digest("SHA-256", await response.arrayBuffer())))
}

// The key stays stored: a close code is not authenticated (a relay could send one to make the
// browser drop its key), and a refused key only ever gets this page again. A new link replaces it.
const refused = (why: Refusal) => {
  if (why === "revoked") {
    showMessage(
      "revoked",
      "This browser was revoked",
      "The daemon revoked this browser's pairing and closed its channel.",
      PAIR_HINT
    )
  } else {
    showMessage(
      "refused",
      "This browser is no longer paired",
      "The daemon does not accept this browser's key.",
      PAIR_HINT
    )
  }
}

const saveAs = (sealedFetch: typeof fetch) => async (url: string, name: string) => {
  const response = await sealedFetch(url)
  if (!response.ok) throw new Error(`the daemon answered ${response.status}`)
  const href = URL.createObjectURL(await response.blob())
  const link = document.createElement("a")
  link.href = href
  link.download = name
  document.body.append(link)
  link.click()
  link.remove()
  setTimeout(() => URL.revokeObjectURL(href), 60_000)
}

const main = async () => {
  setState("opening")
  let device: StoredDevice | undefined
  if (secret !== undefined) {
    device = await pair(secret)
    if (device === undefined) return
  } else {
    device = await loadDevice().catch(() => undefined)
  }
  if (device === undefined) return showMessage("unpaired", "Pair this browser", PAIR_HINT)
  const holder = new ChannelHolder(device, refused)
  const sealedFetch = makeSealedFetch(holder.get)
  let loaderSha256: string | undefined
  void digestOfThisPage().then((d) => (loaderSha256 = d), () => undefined)
  try {
    await holder.get()
  } catch (e) {
    if (document.documentElement.dataset.sealed !== "opening") return
    return showMessage(
      "failed",
      "No sealed channel",
      e instanceof Error ? e.message : String(e),
      "Reload to try again."
    )
  }
  const transport: SealedTransport = {
    fetch: sealedFetch,
    EventSource: makeSealedEventSource(sealedFetch),
    WebSocket: makeSealedWebSocket(holder.get),
    download: saveAs(sealedFetch),
    daemonFingerprint: device.daemonFingerprint,
    loaderSha256: () => loaderSha256
  }
  ;(globalThis as { repowireSealed?: SealedTransport }).repowireSealed = transport
  try {
    await startApp(sealedFetch)
    setState("started")
  } catch (e) {
    if (document.documentElement.dataset.sealed !== "opening") return
    showMessage("failed", "The dashboard did not start", e instanceof Error ? e.message : String(e))
  }
}

void main()
