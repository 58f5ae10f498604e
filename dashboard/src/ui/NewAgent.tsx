import { useState } from "preact/hooks"
import { spawnAgent, type SpawnForm } from "../api.js"

const BACKENDS = ["claude-code", "codex", "gemini", "opencode"] as const

/** Starts an agent in a new tmux window; the daemon checks the folder against daemon.spawn.allowed_paths. */
export const NewAgent = () => {
  const [form, setForm] = useState<SpawnForm>({ path: "", backend: "claude-code", circle: "", message: "" })
  const [busy, setBusy] = useState(false)
  const [result, setResult] = useState<{ ok: boolean; text: string } | undefined>(undefined)
  const field = (key: keyof SpawnForm) => (e: { currentTarget: { value: string } }) =>
    setForm({ ...form, [key]: e.currentTarget.value })
  const submit = async () => {
    setBusy(true)
    setResult(undefined)
    try {
      setResult({ ok: true, text: await spawnAgent(form) })
    } catch (e) {
      setResult({ ok: false, text: e instanceof Error ? e.message : String(e) })
    } finally {
      setBusy(false)
    }
  }
  return (
    <form
      class="composer new-agent"
      onSubmit={(e) => {
        e.preventDefault()
        void submit()
      }}
    >
      <label>
        Folder <input name="path" required placeholder="/home/me/src/api" value={form.path} onInput={field("path")} />
      </label>
      <label>
        Backend{" "}
        <select name="backend" value={form.backend} onChange={field("backend")}>
          {BACKENDS.map((b) => <option key={b} value={b}>{b}</option>)}
        </select>
      </label>
      <label>
        Circle <input name="circle" placeholder="default" value={form.circle} onInput={field("circle")} />
      </label>
      <label>
        First prompt <textarea name="message" rows={3} value={form.message} onInput={field("message")} />
      </label>
      <div class="row">
        <button type="submit" disabled={busy || form.path.trim() === ""}>Start agent</button>
        {result === undefined ? null : <span class={result.ok ? "result" : "result err"}>{result.text}</span>}
      </div>
    </form>
  )
}
