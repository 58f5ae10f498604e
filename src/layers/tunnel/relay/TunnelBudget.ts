import { DATA_CHUNK, INITIAL_WINDOW } from "../../../protocol/TunnelFrame.js"
import type { Stream } from "./TunnelStreams.js"

const MAX_STREAM_WINDOW = 4 * 1024 * 1024
const TUNNEL_GROWTH_BUDGET = 32 * 1024 * 1024

/** What one tunnel's streams hold and have grown, summed: the bounds on what the relay keeps for browsers. */
export class TunnelBudget {
  /** Window granted beyond INITIAL_WINDOW, summed over live streams. */
  private grown = 0
  /** Bytes from the daemon that browsers have not taken yet, summed over live streams. */
  held = 0

  hold(stream: Stream, bytes: number): void {
    stream.inFlight += bytes
    this.held += bytes
  }

  release(stream: Stream, bytes: number): void {
    stream.inFlight -= bytes
    if (!stream.done) this.held -= bytes
  }

  /**
   * A stream whose browser keeps up gets a bigger window (doubling, up to MAX_STREAM_WINDOW)
   * so one download can fill the link; a stalled one never grows. Growth across a tunnel is
   * capped, which bounds what stalled readers can make the relay hold.
   */
  grow(stream: Stream, backlog: number): number {
    if (backlog >= DATA_CHUNK || stream.window >= MAX_STREAM_WINDOW) return 0
    const bump = Math.min(stream.window, MAX_STREAM_WINDOW - stream.window, TUNNEL_GROWTH_BUDGET - this.grown)
    if (bump <= 0) return 0
    stream.window += bump
    this.grown += bump
    return bump
  }

  /** A live stream ends: what it held and grew is given back. */
  drop(stream: Stream): void {
    this.grown -= stream.window - INITIAL_WINDOW
    this.held -= stream.inFlight
  }
}
