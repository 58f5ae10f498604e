import type { MeshEvent } from "./types.js"

/** The events the page holds, ordered by id, each id once. */
export interface EventLog {
  readonly events: ReadonlyArray<MeshEvent>
  readonly lastId: number
  readonly version: number
}

export const emptyLog: EventLog = { events: [], lastId: 0, version: 0 }

/** How many events the page keeps; older ones drop off the front. */
export const DEFAULT_CAP = 50_000

/**
 * Merges a batch into the log. Events arrive from the backlog fetch and the live stream,
 * which can overlap after a reconnect: duplicates are dropped, order is by id.
 */
export const appendEvents = (log: EventLog, batch: ReadonlyArray<MeshEvent>, cap = DEFAULT_CAP): EventLog =>
  mergeEvents(log, batch, cap).log

/** Like appendEvents, and also says which events of the batch were new. */
export const mergeEvents = (
  log: EventLog,
  batch: ReadonlyArray<MeshEvent>,
  cap = DEFAULT_CAP
): { readonly log: EventLog; readonly added: ReadonlyArray<MeshEvent> } => {
  if (batch.length === 0) return { log, added: [] }
  let known: Set<number> | undefined
  const batchIds = new Set<number>()
  const fresh: Array<MeshEvent> = []
  let inOrder = true
  let last = log.lastId
  for (const event of batch) {
    if (batchIds.has(event.id)) continue
    if (event.id <= log.lastId) {
      known ??= new Set(log.events.map((e) => e.id))
      if (known.has(event.id)) continue
    }
    if (event.id <= last) inOrder = false
    else last = event.id
    batchIds.add(event.id)
    fresh.push(event)
  }
  if (fresh.length === 0) return { log, added: [] }
  let events: Array<MeshEvent> = inOrder
    ? log.events.concat(fresh)
    : log.events.concat(fresh).sort((a, b) => a.id - b.id)
  if (events.length > cap) events = events.slice(events.length - cap)
  return { log: { events, lastId: last, version: log.version + 1 }, added: fresh }
}

/** Where a (re)connecting stream starts: after the newest event the page already has. */
export const streamUrl = (lastId: number): string => lastId > 0 ? `events/stream?since=${lastId}` : "events/stream"

export const backlogUrl = (since: number, limit: number): string =>
  since > 0 ? `events?since=${since}&limit=${limit}` : `events?limit=${limit}`

/** Parses one SSE `data:` payload; anything that is not an event with a numeric id is ignored. */
export const parseEventData = (data: string): MeshEvent | undefined => {
  try {
    const value = JSON.parse(data) as unknown
    if (typeof value !== "object" || value === null) return undefined
    const candidate = value as { id?: unknown; type?: unknown }
    if (typeof candidate.id !== "number" || typeof candidate.type !== "string") return undefined
    return value as MeshEvent
  } catch {
    return undefined
  }
}

/**
 * The newest event id, found with `hasAfter(x)` ("is there an event with id > x?") probes:
 * doubling steps from a known id, then bisection. A page can then load the newest events of a
 * long log instead of replaying it from the start; about 2·log2(n / step) probes.
 */
export const locateTail = async (
  known: number,
  hasAfter: (id: number) => Promise<boolean>,
  step = 5000
): Promise<number> => {
  let lo = known
  if (!(await hasAfter(lo))) return lo
  let hi = lo + step
  while (await hasAfter(hi)) {
    lo = hi
    step *= 2
    hi = lo + step
  }
  // hasAfter(lo) is true and hasAfter(hi) is false: the newest id is in (lo, hi].
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2)
    if (await hasAfter(mid)) lo = mid
    else hi = mid
  }
  return hi
}
