import { useEffect, useState } from "preact/hooks"
import { getPolicy } from "../api.js"
import type { PolicyView } from "../state/types.js"

/** The access rules in force (policy.yaml), read-only: they are edited in the file, on the daemon's machine. */
export const RulesView = ({ version }: { version: string }) => {
  const [policy, setPolicy] = useState<PolicyView | null>(null)
  const [error, setError] = useState<string | null>(null)
  useEffect(() => {
    getPolicy().then(setPolicy, (e: unknown) => setError(e instanceof Error ? e.message : String(e)))
  }, [version])
  if (error !== null) return <p class="empty">Could not load the rules: {error}</p>
  if (policy === null) return <p class="empty">Loading the rules…</p>
  if (policy.status === "none") {
    return <p class="empty">No access rules (no policy.yaml): circles alone decide who reaches whom.</p>
  }
  return (
    <section class="rules">
      <p class="rules-head">
        {policy.path} · first match wins · default <b>{policy.default}</b>
      </p>
      {policy.error === undefined ?
        null :
        <p class="banner err">The file is invalid; the rules below stay in force. {policy.error}</p>}
      <ol class="rule-list">
        {policy.rules_in_force.map((r) => (
          <li key={r.index} class={`rule e-${r.rule.effect}`}>
            <code>{r.text}</code>
          </li>
        ))}
      </ol>
    </section>
  )
}
