/** A fixed-window counter per client, pruned lazily when it grows, and never above `maxClients`. */
export class RateLimiter {
  private readonly hits = new Map<string, { count: number; resetAt: number }>()

  constructor(private readonly max: number, private readonly windowMs: number, private readonly maxClients = 10_000) {}

  get size(): number {
    return this.hits.size
  }

  /** True when the client may proceed; otherwise the seconds until it may retry. */
  take(client: string, now = Date.now()): true | number {
    const entry = this.hits.get(client)
    if (entry === undefined || entry.resetAt <= now) {
      if (this.hits.size >= this.maxClients) this.prune(now)
      this.hits.delete(client)
      this.hits.set(client, { count: 1, resetAt: now + this.windowMs })
      return true
    }
    entry.count += 1
    return entry.count <= this.max ? true : Math.ceil((entry.resetAt - now) / 1000)
  }

  /**
   * Windows all last `windowMs` and an entry moves to the end when its window restarts, so the
   * map is ordered by when windows end: expired ones, then the oldest while it is still full
   * (many addresses, such as one IPv6 prefix, inside one window), are a prefix.
   */
  private prune(now: number) {
    for (const [client, entry] of this.hits) {
      if (entry.resetAt > now && this.hits.size < this.maxClients) break
      this.hits.delete(client)
    }
  }
}
