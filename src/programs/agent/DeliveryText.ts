/** A message as an agent reads it, from a /ws frame or from a drained queued message. */
export interface Incoming {
  readonly kind: "ask" | "notify" | "broadcast" | "reply"
  readonly from_name: string
  readonly text: string
  /** ask: its id; reply: the ask it answers. */
  readonly correlation_id: string | null
  readonly attachments?: ReadonlyArray<{ readonly name: string; readonly path: string }>
}

const attachmentLine = (m: Incoming) =>
  m.attachments && m.attachments.length > 0
    ? `\n(attachments: ${m.attachments.map((a) => `${a.name} at ${a.path}`).join(", ")})`
    : ""

/** The text typed into an agent's session: who sent it, the ask id and how to answer. */
export const formatIncoming = (m: Incoming): string => {
  switch (m.kind) {
    case "ask":
      return `[repowire] ask ${m.correlation_id} from ${m.from_name}:\n${m.text}${attachmentLine(m)}\n` +
        `(answer with the repowire ack tool: correlation_id "${m.correlation_id}" and your reply as message)`
    case "reply":
      return `[repowire] answer from ${m.from_name} to your ask ${m.correlation_id}:\n${m.text}${attachmentLine(m)}`
    case "broadcast":
      return `[repowire] broadcast from ${m.from_name}:\n${m.text}${attachmentLine(m)}\n` +
        `(reply, if needed, with the repowire notify_peer tool to "${m.from_name}")`
    case "notify":
      return `[repowire] message from ${m.from_name}:\n${m.text}${attachmentLine(m)}\n` +
        `(reply, if needed, with the repowire notify_peer tool to "${m.from_name}")`
  }
}

/** From a daemon Message (GET /deliveries). */
export const incomingFromMessage = (m: {
  readonly kind: string
  readonly from_name: string
  readonly text: string
  readonly correlation_id: string | null
  readonly attachments?: ReadonlyArray<{ readonly name: string; readonly path: string }> | undefined
}): Incoming => ({
  kind: m.kind === "ask" || m.kind === "reply" || m.kind === "broadcast" ? m.kind : "notify",
  from_name: m.from_name,
  text: m.text,
  correlation_id: m.correlation_id,
  ...(m.attachments ? { attachments: m.attachments } : {})
})
