/**
 * Send-side credit of one tunnel stream: bytes the peer has said it can take. A sender waits
 * for credit before each chunk, so a slow reader stalls only its own stream.
 */
export class SendCredit {
  private waiters: Array<() => void> = []
  private closed = false

  constructor(private available: number) {}

  add(increment: number): void {
    this.available += increment
    this.wake()
  }

  close(): void {
    this.closed = true
    this.wake()
  }

  get isClosed(): boolean {
    return this.closed
  }

  /** Up to `want` bytes of the credit available right now; 0 when there is none (or closed). */
  takeNow(want: number): number {
    if (this.closed || this.available <= 0) return 0
    const granted = Math.min(want, this.available)
    this.available -= granted
    return granted
  }

  /** Resolves with up to `want` bytes of credit (at least 1), or 0 once the stream is closed. */
  async take(want: number): Promise<number> {
    while (this.available <= 0 && !this.closed) {
      await new Promise<void>((resolve) => this.waiters.push(resolve))
    }
    if (this.closed) return 0
    const granted = Math.min(want, this.available)
    this.available -= granted
    return granted
  }

  private wake() {
    const waiters = this.waiters
    this.waiters = []
    waiters.forEach((w) => w())
  }
}

/** Splits a chunk into pieces that fit the credit granted, waiting as needed. False when the stream closed. */
export const sendWithCredit = async (
  credit: SendCredit,
  chunk: Uint8Array,
  maxPiece: number,
  send: (piece: Uint8Array) => void
): Promise<boolean> => {
  let offset = 0
  while (offset < chunk.length) {
    const granted = await credit.take(Math.min(maxPiece, chunk.length - offset))
    if (granted === 0) return false
    send(chunk.subarray(offset, offset + granted))
    offset += granted
  }
  return true
}
