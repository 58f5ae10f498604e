export interface WindowInput {
  readonly count: number
  readonly rowHeight: number
  readonly scrollTop: number
  readonly viewportHeight: number
  /** Extra rows rendered above and below the viewport. */
  readonly overscan: number
}

export interface WindowRange {
  /** First rendered row (inclusive). */
  readonly start: number
  /** Last rendered row (exclusive). */
  readonly end: number
  /** Offset of the first rendered row from the top of the list. */
  readonly offset: number
  readonly totalHeight: number
}

/** Which rows of a fixed-row-height list to render, so the DOM holds tens of rows for any count. */
export const visibleRange = (input: WindowInput): WindowRange => {
  const { count, overscan } = input
  const rowHeight = Math.max(1, input.rowHeight)
  const totalHeight = count * rowHeight
  const maxScroll = Math.max(0, totalHeight - input.viewportHeight)
  const scrollTop = Math.min(Math.max(0, input.scrollTop), maxScroll)
  const first = Math.floor(scrollTop / rowHeight)
  const visible = Math.ceil(Math.max(0, input.viewportHeight) / rowHeight) + 1
  const start = Math.max(0, first - overscan)
  const end = Math.min(count, first + visible + overscan)
  return { start, end: Math.max(start, end), offset: start * rowHeight, totalHeight }
}

/** Whether the view is pinned to the newest row, so it keeps following new events. */
export const isAtBottom = (scrollTop: number, viewportHeight: number, totalHeight: number, slack = 4): boolean =>
  scrollTop + viewportHeight >= totalHeight - slack

/** Reconnect delay for the live stream: doubling from 500 ms, capped at 10 s. */
export const backoffMs = (attempt: number): number => Math.min(10_000, 500 * 2 ** Math.max(0, attempt))
