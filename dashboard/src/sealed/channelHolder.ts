import { type ChannelSocket, SealedChannel } from "../../../src/protocol/sealed/ChannelClient.js"
import { CLOSE_NOT_PAIRED, CLOSE_REVOKED } from "../../../src/protocol/sealed/core/Frames.js"
import type { StoredDevice } from "./deviceStore.js"

/** Why the daemon will not open a channel for this browser again: revoked, or never (or no longer) paired. */
export type Refusal = "revoked" | "not_paired"

const openSocket = () =>
  new Promise<{ socket: WebSocket; closeCode: () => number | undefined }>((resolve, reject) => {
    const socket = new WebSocket(`${location.origin.replace(/^http/, "ws")}/sealed/channel`)
    let code: number | undefined
    // Beside the channel's own onclose: the close code says whether the daemon refused this key.
    socket.addEventListener("close", (event) => (code = event.code))
    socket.onopen = () => resolve({ socket, closeCode: () => code })
    socket.onerror = () => reject(new Error("the relay did not open the sealed channel (signed out, or no daemon?)"))
  })

const refusalOf = (code: number | undefined): Refusal | undefined =>
  code === CLOSE_REVOKED ? "revoked" : code === CLOSE_NOT_PAIRED ? "not_paired" : undefined

/**
 * The one sealed channel of this page: opened on first use with the stored device key, pinned
 * to the stored daemon key, and opened again after it closes, unless the daemon refused the key.
 */
export class ChannelHolder {
  private current: Promise<SealedChannel> | undefined
  private refused: Refusal | undefined

  constructor(private readonly device: StoredDevice, private readonly onRefused: (why: Refusal) => void) {}

  readonly get = (): Promise<SealedChannel> => {
    if (this.refused !== undefined) return Promise.reject(new Error(`this browser is ${this.refused}`))
    return this.current ??= this.open()
  }

  private refuse(why: Refusal) {
    if (this.refused !== undefined) return
    this.refused = why
    this.onRefused(why)
  }

  private async open(): Promise<SealedChannel> {
    const { closeCode, socket } = await openSocket().catch((e) => {
      this.current = undefined
      throw e
    })
    try {
      const channel = await SealedChannel.open(
        socket as unknown as ChannelSocket,
        this.device.key,
        this.device.daemonKey
      )
      void channel.closed.then(({ code }) => {
        this.current = undefined
        const why = refusalOf(code)
        if (why !== undefined) this.refuse(why)
      })
      return channel
    } catch (e) {
      this.current = undefined
      // The close event may trail the failed handshake by a task.
      await new Promise((r) => setTimeout(r, 0))
      const why = refusalOf(closeCode())
      if (why !== undefined) this.refuse(why)
      throw e
    }
  }
}
