import { attachmentUrl } from "../api.js"
import { formatBytes } from "../state/format.js"
import type { AttachmentRef } from "../state/types.js"

export const Chips = ({ attachments }: { attachments: ReadonlyArray<AttachmentRef> }) =>
  attachments.length === 0 ? null : (
    <span class="chips">
      {attachments.map((a) => (
        <a
          key={a.id}
          class="chip"
          href={attachmentUrl(a.id)}
          download={a.name}
          title={`${a.content_type}, ${formatBytes(a.size)}`}
        >
          {a.name}
        </a>
      ))}
    </span>
  )
