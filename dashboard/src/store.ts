import { ApiError, getAsks, getEvents, getHealth, getPeers } from "./api.js"
import { applyAskEvents, type AskIndex, mergeAsks } from "./state/asks.js"
import {
  backlogUrl,
  emptyLog,
  type EventLog,
  locateTail,
  mergeEvents,
  parseEventData,
  streamUrl
} from "./state/eventLog.js"
import { applyPeerEvents, type PeerMap, peerMap } from "./state/peers.js"
import type { Health, MeshEvent, MeshEventType } from "./state/types.js"
import { backoffMs } from "./state/windowing.js"
import { openEventSource } from "./transport.js"

export type StreamState = "connecting" | "live" | "reconnecting"

export interface AppState {
  readonly log: EventLog
  readonly peers: PeerMap
  readonly asks: AskIndex
  readonly health: Health | null
  readonly stream: StreamState
  readonly authRequired: boolean
  readonly error: string | null
}

const BACKLOG = 5000
const HEALTH_EVERY_MS = 15_000
const EVENT_TYPES: ReadonlyArray<MeshEventType | "mesh"> = [
  "mesh",
  "peer_joined",
  "peer_left",
  "peer_status",
  "peer_updated",
  "ask",
  "ack",
  "notify",
  "broadcast",
  "delivery",
  "chat",
  "tool_call",
  "policy_denied"
]

/** The page's state: a backlog fetch, then the live SSE stream resumed from the last event id. */
export class Store {
  state: AppState = {
    log: emptyLog,
    peers: new Map(),
    asks: new Map(),
    health: null,
    stream: "connecting",
    authRequired: false,
    error: null
  }
  private readonly listeners = new Set<() => void>()
  private pending: Array<MeshEvent> = []
  private flushScheduled = false
  private source: EventSource | undefined
  private attempt = 0
  private retryTimer: ReturnType<typeof setTimeout> | undefined
  private healthTimer: ReturnType<typeof setInterval> | undefined

  subscribe(listener: () => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  private set(patch: Partial<AppState>) {
    this.state = { ...this.state, ...patch }
    for (const listener of this.listeners) listener()
  }

  private fail(e: unknown) {
    if (e instanceof ApiError && e.status === 401) this.set({ authRequired: true })
    else this.set({ error: e instanceof Error ? e.message : String(e) })
  }

  async start() {
    // Everything the first paint needs, at once; the stream opens after the backlog so it
    // resumes exactly where the backlog ends.
    const [, backlog] = await Promise.all([
      Promise.all([this.refreshHealth(), this.refreshPeers(), this.refreshAsks()]),
      this.fetchBacklog()
    ])
    // Replayed over the snapshots, the backlog leaves them as of its newest event; the stream
    // then carries on from there.
    this.ingest(backlog)
    this.connect()
    this.healthTimer = setInterval(() => void this.refreshHealth(), HEALTH_EVERY_MS)
  }

  private async fetchBacklog(): Promise<ReadonlyArray<MeshEvent>> {
    try {
      const first = await getEvents(backlogUrl(0, BACKLOG))
      if (first.length < BACKLOG) return first
      // A long log: show its newest events, not its oldest.
      const tail = await locateTail(
        first[first.length - 1]!.id,
        async (id) => (await getEvents(backlogUrl(id, 1))).length > 0
      )
      return await getEvents(backlogUrl(Math.max(0, tail - BACKLOG), BACKLOG))
    } catch (e) {
      this.fail(e)
      return []
    }
  }

  stop() {
    clearInterval(this.healthTimer)
    clearTimeout(this.retryTimer)
    this.source?.close()
  }

  async refreshHealth() {
    try {
      this.set({ health: await getHealth() })
    } catch (e) {
      this.fail(e)
    }
  }

  async refreshPeers() {
    try {
      this.set({ peers: peerMap(await getPeers()) })
    } catch (e) {
      this.fail(e)
    }
  }

  async refreshAsks() {
    try {
      this.set({ asks: mergeAsks(this.state.asks, await getAsks()) })
    } catch (e) {
      this.fail(e)
    }
  }

  /** Applies a batch of events (backlog or live) to the log, peers and asks. */
  ingest(batch: ReadonlyArray<MeshEvent>) {
    const { added, log } = mergeEvents(this.state.log, batch)
    if (added.length === 0) return
    this.set({ log, peers: applyPeerEvents(this.state.peers, added), asks: applyAskEvents(this.state.asks, added) })
  }

  private enqueue(event: MeshEvent) {
    this.pending.push(event)
    if (this.flushScheduled) return
    this.flushScheduled = true
    // One render per frame however fast events arrive.
    const flush = () => {
      this.flushScheduled = false
      const batch = this.pending
      this.pending = []
      this.ingest(batch)
    }
    if (typeof requestAnimationFrame === "function" && document.visibilityState === "visible") {
      requestAnimationFrame(flush)
    } else setTimeout(flush, 16)
  }

  private connect() {
    this.source?.close()
    const source = openEventSource(streamUrl(this.state.log.lastId), { withCredentials: true })
    this.source = source
    const onMessage = (message: MessageEvent<string>) => {
      const event = parseEventData(message.data)
      if (event !== undefined) this.enqueue(event)
    }
    source.addEventListener("message", onMessage)
    for (const type of EVENT_TYPES) source.addEventListener(type, onMessage)
    source.addEventListener("open", () => {
      const resumed = this.attempt > 0 || this.state.stream === "reconnecting"
      this.attempt = 0
      this.set({ stream: "live", error: null, authRequired: false })
      if (resumed) void Promise.all([this.refreshHealth(), this.refreshPeers(), this.refreshAsks()])
    })
    source.addEventListener("error", () => {
      this.set({ stream: "reconnecting" })
      // The browser retries by itself (with Last-Event-ID) unless the stream was closed for
      // good, e.g. by an error status while the daemon restarts: then reopen with ?since=.
      if (source.readyState === EventSource.CLOSED) {
        clearTimeout(this.retryTimer)
        this.retryTimer = setTimeout(() => this.connect(), backoffMs(this.attempt++))
      }
    })
  }
}
