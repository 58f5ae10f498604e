import type { DeliveryFrame } from "../protocol/AgentFrame.js"
import type { Message } from "../protocol/Message.js"

/** The /ws frame that carries a stored message to its recipient. */
export const frameOf = (m: Message): DeliveryFrame => {
  const common = {
    message_id: m.id,
    from_peer: m.from_peer,
    from_name: m.from_name,
    circle: m.circle,
    text: m.text,
    attachments: m.attachments,
    created_at: m.created_at
  }
  switch (m.kind) {
    case "ask":
      return { type: "ask", ...common, correlation_id: m.correlation_id ?? "", reply_to: m.reply_to }
    case "reply":
      return { type: "notify", ...common, in_reply_to: m.correlation_id }
    case "notify":
      return { type: "notify", ...common, in_reply_to: null }
    case "broadcast":
      return { type: "broadcast", ...common }
  }
}
