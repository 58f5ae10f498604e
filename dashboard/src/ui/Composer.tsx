import { useMemo, useState } from "preact/hooks"
import { send, uploadFiles } from "../api.js"
import { formatBytes } from "../state/format.js"
import { addressOf, type PeerMap } from "../state/peers.js"

type Kind = "ask" | "notify" | "broadcast"

export const Composer = ({ initialTo, peers, replyTo }: { peers: PeerMap; initialTo: string; replyTo: string }) => {
  const [kind, setKind] = useState<Kind>("ask")
  const [to, setTo] = useState(initialTo)
  const [circle, setCircle] = useState("")
  const [text, setText] = useState("")
  const [files, setFiles] = useState<ReadonlyArray<File>>([])
  const [busy, setBusy] = useState(false)
  const [result, setResult] = useState<{ ok: boolean; text: string } | undefined>(undefined)
  const targets = useMemo(() => [...peers.values()].filter((p) => p.backend !== "dashboard"), [peers])
  const address = addressOf(peers)
  const circles = useMemo(() => [...new Set(targets.map((p) => p.circle))].sort(), [targets])

  const submit = async (e: Event) => {
    e.preventDefault()
    setBusy(true)
    setResult(undefined)
    try {
      const attachments = (await uploadFiles(files)).map((a) => a.id)
      const outcome = kind === "broadcast"
        ? await send({ kind, circle, text, attachments })
        : kind === "ask" && replyTo !== ""
        ? await send({ kind, to_peer: to, text, attachments, reply_to: replyTo })
        : await send({ kind, to_peer: to, text, attachments })
      setResult({ ok: true, text: outcome })
      setText("")
      setFiles([])
    } catch (err) {
      setResult({ ok: false, text: err instanceof Error ? err.message : String(err) })
    } finally {
      setBusy(false)
    }
  }

  return (
    <section class="composer">
      <form onSubmit={submit}>
        {replyTo === "" || kind !== "ask" ? null : (
          <p class="hint">
            Follow-up to <code>{replyTo}</code>
          </p>
        )}
        <div class="row">
          <select aria-label="kind" name="kind" value={kind} onChange={(e) => setKind(e.currentTarget.value as Kind)}>
            <option value="ask">ask</option>
            <option value="notify">notify</option>
            <option value="broadcast">broadcast</option>
          </select>
          {kind === "broadcast" ?
            (
              <select
                aria-label="circle"
                name="circle"
                value={circle}
                onChange={(e) => setCircle(e.currentTarget.value)}
              >
                <option value="">all my circles</option>
                {circles.map((c) => <option key={c} value={c}>{c}</option>)}
              </select>
            ) :
            (
              <select aria-label="to" name="to" value={to} required onChange={(e) => setTo(e.currentTarget.value)}>
                <option value="">to…</option>
                {targets.map((p) => (
                  <option key={p.peer_id} value={p.peer_id}>{address(p)} ({p.circle}, {p.status})</option>
                ))}
              </select>
            )}
        </div>
        <textarea
          aria-label="message"
          name="text"
          required
          rows={4}
          placeholder="Message"
          value={text}
          onInput={(e) => setText(e.currentTarget.value)}
        />
        <div class="row">
          <input
            aria-label="attachments"
            type="file"
            name="files"
            multiple
            onChange={(e) => setFiles([...(e.currentTarget.files ?? [])])}
          />
          <button type="submit" disabled={busy}>{busy ? "Sending…" : `Send ${kind}`}</button>
        </div>
        {files.length === 0 ?
          null :
          (
            <p class="chips">
              {files.map((f) => <span key={f.name} class="chip">{f.name} ({formatBytes(f.size)})</span>)}
            </p>
          )}
        {result === undefined
          ? null
          : <p class={result.ok ? "result ok" : "result err"} role="status">{result.text}</p>}
      </form>
    </section>
  )
}
