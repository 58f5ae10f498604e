import { attachmentUrl } from "../api.js"
import { formatBytes } from "../state/format.js"
import type { AttachmentRef } from "../state/types.js"
import { sealedDownload } from "../transport.js"

const saveSealed = (a: AttachmentRef) => (event: MouseEvent) => {
  const download = sealedDownload()
  if (download === undefined) return
  event.preventDefault()
  void download(attachmentUrl(a.id), a.name)
}

export const Chips = ({ attachments }: { attachments: ReadonlyArray<AttachmentRef> }) =>
  attachments.length === 0 ? null : (
    <span class="chips">
      {attachments.map((a) => (
        <a
          key={a.id}
          class="chip"
          href={attachmentUrl(a.id)}
          download={a.name}
          onClick={saveSealed(a)}
          title={`${a.content_type}, ${formatBytes(a.size)}`}
        >
          {a.name}
        </a>
      ))}
    </span>
  )
