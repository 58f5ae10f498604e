import type { ComponentChildren } from "preact"
import { useLayoutEffect, useRef, useState } from "preact/hooks"
import { isAtBottom, visibleRange } from "../state/windowing.js"

interface Props<A> {
  readonly items: ReadonlyArray<A>
  readonly rowHeight: number
  readonly render: (item: A, index: number) => ComponentChildren
  readonly itemKey: (item: A) => string | number
  /** Keep showing the newest row while the view is scrolled to the bottom. */
  readonly follow?: boolean
}

/** A list that renders only the rows in view, so ten thousand events scroll smoothly. */
export const VirtualList = <A extends unknown>({ follow = true, itemKey, items, render, rowHeight }: Props<A>) => {
  const ref = useRef<HTMLDivElement>(null)
  const [scrollTop, setScrollTop] = useState(0)
  const [height, setHeight] = useState(600)
  const pinned = useRef(true)

  useLayoutEffect(() => {
    const el = ref.current
    if (el === null) return
    setHeight(el.clientHeight)
    const observer = new ResizeObserver(() => setHeight(el.clientHeight))
    observer.observe(el)
    return () => observer.disconnect()
  }, [])

  useLayoutEffect(() => {
    const el = ref.current
    if (el === null || !follow || !pinned.current) return
    el.scrollTop = el.scrollHeight
    setScrollTop(el.scrollTop)
  }, [items, follow])

  const range = visibleRange({ count: items.length, rowHeight, scrollTop, viewportHeight: height, overscan: 12 })
  const rows: Array<ComponentChildren> = []
  for (let i = range.start; i < range.end; i++) {
    const item = items[i]!
    rows.push(
      <div key={itemKey(item)} class="vrow" style={{ height: `${rowHeight}px` }}>
        {render(item, i)}
      </div>
    )
  }
  return (
    <div
      ref={ref}
      class="vlist"
      data-count={items.length}
      onScroll={(e) => {
        const el = e.currentTarget
        pinned.current = isAtBottom(el.scrollTop, el.clientHeight, el.scrollHeight, rowHeight)
        setScrollTop(el.scrollTop)
      }}
    >
      <div style={{ height: `${range.totalHeight}px`, position: "relative" }}>
        <div style={{ transform: `translateY(${range.offset}px)` }}>{rows}</div>
      </div>
    </div>
  )
}
