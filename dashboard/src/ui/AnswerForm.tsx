import { useState } from "preact/hooks"
import { ack } from "../api.js"

/** Lets the person answer an ask that an agent made of the dashboard. */
export const AnswerForm = ({ correlationId }: { correlationId: string }) => {
  const [text, setText] = useState("")
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState<string | undefined>(undefined)
  const answer = async (message: string) => {
    setBusy(true)
    setError(undefined)
    try {
      await ack(correlationId, message)
      setText("")
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e))
    } finally {
      setBusy(false)
    }
  }
  return (
    <form
      class="answer"
      onSubmit={(e) => {
        e.preventDefault()
        void answer(text)
      }}
    >
      <textarea
        aria-label="reply"
        name="reply"
        rows={2}
        placeholder="Reply"
        value={text}
        onInput={(e) => setText(e.currentTarget.value)}
      />
      <div class="row">
        <button type="submit" disabled={busy || text.trim() === ""}>Reply</button>
        <button type="button" class="secondary" disabled={busy} onClick={() => void answer("")}>Mark seen</button>
        {error === undefined ? null : <span class="result err">{error}</span>}
      </div>
    </form>
  )
}
