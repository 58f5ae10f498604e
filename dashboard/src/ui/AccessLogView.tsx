import { useEffect, useState } from "preact/hooks"
import { getAuditPage } from "../api.js"
import type { AuditRecord } from "../state/accessLog.js"
import { clientOf, describeAudit, newAddressSignIns, olderPage } from "../state/accessLog.js"

/** How many records a page of the Access log loads. */
export const PAGE = 200

type Loaded =
  | { readonly state: "loading" }
  | { readonly state: "local" }
  | { readonly state: "error"; readonly message: string }
  | { readonly state: "ready"; readonly user: string; readonly records: ReadonlyArray<AuditRecord> }

const message = (e: unknown) => (e instanceof Error ? e.message : String(e))

/** The newest `PAGE` records before seq `before` (ascending), or null off the relay. */
const loadBefore = async (before: number | null) => {
  let end = before
  let user = ""
  if (end === null) {
    const probe = await getAuditPage(0, 1)
    if (probe === null) return null
    end = probe.head.seq + 1
    user = probe.user_id
  }
  const range = olderPage(end, PAGE)
  if (range === null) return { user, records: [] as ReadonlyArray<AuditRecord> }
  const page = await getAuditPage(range.since, range.limit)
  if (page === null) return null
  return { user: page.user_id, records: page.records.filter((r) => r.seq < end) }
}

/**
 * The signed-in user's own audit chain at the relay, newest first, read-only. Only through the
 * relay: the records live there, and the daemon's own dashboard has no relay session.
 */
export const AccessLogView = () => {
  const [loaded, setLoaded] = useState<Loaded>({ state: "loading" })
  const [busy, setBusy] = useState(false)
  useEffect(() => {
    loadBefore(null).then(
      (r) => setLoaded(r === null ? { state: "local" } : { state: "ready", ...r }),
      (e: unknown) => setLoaded({ state: "error", message: message(e) })
    )
  }, [])
  if (loaded.state === "loading") return <p class="empty">Loading the access log…</p>
  if (loaded.state === "local") {
    return (
      <p class="empty access-local">
        The access log lives on the relay: open this dashboard through your relay to see it.
      </p>
    )
  }
  if (loaded.state === "error") return <p class="empty">Could not load the access log: {loaded.message}</p>
  const { records, user } = loaded
  const fresh = newAddressSignIns(records)
  const oldest = records.length === 0 ? 1 : Math.min(...records.map((r) => r.seq))
  const older = async () => {
    setBusy(true)
    try {
      const more = await loadBefore(oldest)
      if (more !== null) setLoaded({ state: "ready", user, records: [...more.records, ...records] })
    } catch (e) {
      setLoaded({ state: "error", message: message(e) })
    } finally {
      setBusy(false)
    }
  }
  const newestFirst = [...records].sort((a, b) => b.seq - a.seq)
  return (
    <section class="access">
      <p class="rules-head">
        Your audit chain at the relay ({user}) · newest first · a sign-in from an address none of your earlier sign-ins
        came from is marked <b>new address</b>
      </p>
      {newestFirst.length === 0 ? <p class="empty">No records yet.</p> : null}
      <ol class="access-list">
        {newestFirst.map((r) => {
          const line = describeAudit(r)
          const isNew = fresh.has(r.seq)
          return (
            <li
              key={r.seq}
              class={`access-row k-${r.kind}${isNew ? " new-address" : ""}`}
              data-kind={r.kind}
              data-seq={r.seq}
            >
              <span class="ts">{new Date(r.at).toLocaleString()}</span>
              <span class="label">{line.label}</span>
              <span class="text">{line.text}</span>
              <span class="client">{clientOf(r) ?? ""}</span>
              {isNew ? <span class="pill new">new address</span> : null}
            </li>
          )
        })}
      </ol>
      {oldest > 1 ?
        (
          <button type="button" class="older" disabled={busy} onClick={older}>
            Load older
          </button>
        ) :
        null}
    </section>
  )
}
