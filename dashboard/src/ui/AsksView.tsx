import { useMemo, useState } from "preact/hooks"
import { type AskIndex, type AskItem, buildThreads } from "../state/asks.js"
import { timeOf } from "../state/format.js"
import { AnswerForm } from "./AnswerForm.js"
import { Chips } from "./Chips.js"

export const AskCard = ({ item }: { item: AskItem }) => (
  <div class={`ask st-${item.state}`} data-ask={item.correlation_id}>
    <div class="ask-head">
      <span class="who">{item.from_name} → {item.to_name}</span>
      <span class={`badge b-${item.state}`}>{item.state}</span>
      <code>{item.correlation_id}</code>
      <span class="time">{timeOf(item.created_at)}</span>
    </div>
    <p class="ask-text">{item.text}</p>
    <Chips attachments={item.attachments} />
    {item.delivery_detail === null ? null : <p class="warn">{item.delivery_detail}</p>}
    {item.state !== "acked" && item.state !== "failed" && item.to_name === "dashboard"
      ? <AnswerForm correlationId={item.correlation_id} />
      : null}
    {item.state === "acked" ?
      (
        <div class="reply">
          <span class="who">{item.to_name}</span>
          {item.reply === null ? <em>seen</em> : <p>{item.reply}</p>}
          <Chips attachments={item.reply_attachments} />
          {/* The page itself is the dashboard's transport: a reply to it has arrived when it shows here. */}
          {item.reply === null || item.from_name === "dashboard"
            ? null
            : <span class={`badge b-${item.reply_state}`}>reply {item.reply_state}</span>}
        </div>
      ) :
      null}
  </div>
)

/** The dashboard can follow up on its own asks: a new ask with reply_to the last one. */
const FollowUp = ({ last }: { last: AskItem }) =>
  last.from_name !== "dashboard" ?
    null :
    (
      <a
        class="follow"
        href={`#/compose/${encodeURIComponent(last.to_peer)}?reply_to=${encodeURIComponent(last.correlation_id)}`}
      >
        Follow up
      </a>
    )

export const AsksView = ({ asks }: { asks: AskIndex }) => {
  const [showClosed, setShowClosed] = useState(true)
  const threads = useMemo(() => buildThreads(asks), [asks])
  const shown = showClosed ? threads : threads.filter((t) => t.open)
  return (
    <section class="asks">
      <label class="toggle">
        <input type="checkbox" checked={showClosed} onChange={(e) => setShowClosed(e.currentTarget.checked)} />{" "}
        show closed
      </label>
      <span class="count">{threads.filter((t) => t.open).length} open of {threads.length} threads</span>
      {shown.slice(0, 300).map((t) => (
        <article key={t.root} class={t.open ? "thread open" : "thread closed"}>
          {t.items.map((item) => <AskCard key={item.correlation_id} item={item} />)}
          <FollowUp last={t.items[t.items.length - 1]!} />
        </article>
      ))}
      {threads.length === 0 ? <p class="empty">No asks yet.</p> : null}
    </section>
  )
}
