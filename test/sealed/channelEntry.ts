// Bundled for Chromium by Channel.browser.e2e.test.ts: the browser's side of the sealed tunnel.
import { type ChannelSocket, SealedChannel } from "../../src/protocol/sealed/ChannelClient.js"
import { generateKeyPair } from "../../src/protocol/sealed/core/Crypto.js"
import { pairWith } from "../../src/protocol/sealed/PairingClient.js"

const post = async (path: string, body: unknown) => {
  const res = await fetch(path, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body)
  })
  return { status: res.status, body: await res.json() }
}

const text = async (body: ReadableStream<Uint8Array>) => new Response(body).text()

/** Pairs a fresh non-extractable key, opens the channel on this origin, reads /peers, sends a notify and sees it live. */
const run = async (secret: string, toPeer: string, until: string) => {
  const key = await generateKeyPair()
  const paired = await pairWith(post, secret, key, "Chromium")
  const ws = new WebSocket(`${location.origin.replace(/^http/, "ws")}/sealed/channel`)
  await new Promise((resolve, reject) => {
    ws.onopen = resolve
    ws.onerror = reject
  })
  const channel = await SealedChannel.open(ws as unknown as ChannelSocket, key, paired.daemonKey)
  const peers = await channel.fetch("/peers")
  const socket = await channel.websocket("/events/ws?since=0")
  const live = new Promise<string>((resolve) => {
    let all = ""
    socket.onmessage = (m) => {
      all += String(m)
      if (all.includes(until)) resolve(all)
    }
  })
  const sent = await channel.fetch("/notify", {
    method: "POST",
    headers: [["content-type", "application/json"]],
    body: JSON.stringify({ from_peer: "dashboard", to_peer: toPeer, text: until })
  })
  await text(sent.body)
  return {
    sent: sent.status,
    extractable: key.privateKey.extractable,
    fingerprint: paired.daemonFingerprint,
    peers: { status: peers.status, body: await text(peers.body) },
    live: await live
  }
}
;(globalThis as any).sealedWire = { run }
