/** A fixed-window counter per client, pruned lazily when it grows. */
export class RateLimiter {
  private readonly hits = new Map<string, { count: number; resetAt: number }>()

  constructor(private readonly max: number, private readonly windowMs: number) {}

  /** True when the client may proceed; otherwise the seconds until it may retry. */
  take(client: string, now = Date.now()): true | number {
    if (this.hits.size > 10_000) this.prune(now)
    const entry = this.hits.get(client)
    if (entry === undefined || entry.resetAt <= now) {
      this.hits.set(client, { count: 1, resetAt: now + this.windowMs })
      return true
    }
    entry.count += 1
    return entry.count <= this.max ? true : Math.ceil((entry.resetAt - now) / 1000)
  }

  private prune(now: number) {
    for (const [client, entry] of this.hits) if (entry.resetAt <= now) this.hits.delete(client)
  }
}
