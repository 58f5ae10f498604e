import type { Option } from "effect"
import type { TunnelHolder } from "../services/TunnelDirectory.js"

interface Entry {
  readonly holder: Option.Option<TunnelHolder>
  readonly until: number
}

/** Past this many tunnels remembered, the cache starts over (lookups are cheap; memory is bounded). */
const MAX_ENTRIES = 10_000

/**
 * Directory lookups remembered until a deadline. Every `forget` bumps `epoch`, so a lookup that
 * was in flight when its row changed does not store its stale answer.
 */
export class HolderCache {
  private readonly entries = new Map<string, Entry>()
  epoch = 0

  get(userId: string, daemonId: string, now: number): Option.Option<TunnelHolder> | undefined {
    const entry = this.entries.get(key(userId, daemonId))
    return entry !== undefined && entry.until > now ? entry.holder : undefined
  }

  set(userId: string, daemonId: string, holder: Option.Option<TunnelHolder>, until: number, epoch: number): void {
    if (epoch !== this.epoch) return
    if (this.entries.size >= MAX_ENTRIES) this.entries.clear()
    this.entries.set(key(userId, daemonId), { holder, until })
  }

  forget(userId: string, daemonId: string): void {
    this.epoch++
    this.entries.delete(key(userId, daemonId))
  }
}

const key = (userId: string, daemonId: string) => `${userId}\u0000${daemonId}`
