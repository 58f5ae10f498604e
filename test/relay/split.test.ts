import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import type { Duplex } from "node:stream"
import { WebSocket, WebSocketServer } from "ws"
import { sendSplit } from "../../src/layers/tunnel/shared/SplitSend.js"
import { dataFrameHead, decodeFrame, encodeFrame, Frames } from "../../src/protocol/TunnelFrame.js"

describe("sending a Data frame's body without copying it", () => {
  it.live("arrives as the very message ws would have sent, for every length form", () =>
    Effect.gen(function*() {
      const received: Array<Buffer> = []
      const server = new WebSocketServer({ port: 0, host: "127.0.0.1", maxPayload: 2 * 1024 * 1024 })
      yield* Effect.addFinalizer(() => Effect.sync(() => server.close()))
      server.on("connection", (ws) => ws.on("message", (data: Buffer) => received.push(data)))
      yield* Effect.async<void>((resume) => {
        server.on("listening", () => resume(Effect.void))
      })
      const port = (server.address() as { port: number }).port
      const client = new WebSocket(`ws://127.0.0.1:${port}`, { generateMask: (mask) => void mask.fill(0) })
      yield* Effect.addFinalizer(() => Effect.sync(() => client.terminate()))
      let socket: Duplex | undefined
      client.on("upgrade", (res) => (socket = res.socket))
      yield* Effect.async<void>((resume) => {
        client.on("open", () => resume(Effect.void))
      })
      // 16 KiB (16-bit length), just under and at 64 KiB with the head (16- vs 64-bit length), 1 MiB.
      const sizes = [16 * 1024, 65535 - 10, 65536 - 10, 65536, 1024 * 1024]
      sizes.forEach((size, i) => {
        const body = new Uint8Array(size).map((_, j) => (j * 7 + i) & 0xff)
        sendSplit(socket!, dataFrameHead(i + 1, size, i % 2 === 0), body)
        client.send(encodeFrame(Frames.wsMessage(i + 1, new Uint8Array([i]), false)))
      })
      while (received.length < 2 * sizes.length) yield* Effect.sleep("10 millis")
      sizes.forEach((size, i) => {
        const decoded = decodeFrame(received[2 * i]!)
        assert.isTrue(decoded._tag === "Right")
        if (decoded._tag !== "Right" || decoded.right._tag !== "Data") return assert.fail("not a Data frame")
        assert.strictEqual(decoded.right.stream, i + 1)
        assert.strictEqual(decoded.right.end, i % 2 === 0)
        assert.strictEqual(decoded.right.body.length, size)
        assert.isTrue(decoded.right.body.every((b, j) => b === ((j * 7 + i) & 0xff)))
        // The message ws sent right after it is intact: the two writes did not disturb its framing.
        const after = encodeFrame(Frames.wsMessage(i + 1, new Uint8Array([i]), false))
        assert.deepStrictEqual([...received[2 * i + 1]!], [...after])
      })
    }).pipe(Effect.scoped))
})
