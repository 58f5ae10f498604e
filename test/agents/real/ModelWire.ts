/**
 * The four model APIs the agents' CLIs speak, reduced to one conversation shape (what tools
 * the agent offers, what was said, which tools were called) and back to each API's reply,
 * streamed (SSE) or whole.
 */
export interface Tool {
  readonly name: string
  readonly params: ReadonlyArray<string>
}
export interface Conversation {
  readonly tools: ReadonlyArray<Tool>
  /** Every text of the conversation: prompts, hook context, tool results, answers. */
  readonly text: string
  /** Names of the tools the model called so far. */
  readonly calls: ReadonlyArray<string>
  /** A request that wants JSON back (Gemini CLI's routing / next-speaker checks). */
  readonly wantsJson: boolean
}
export type Reply =
  | { readonly kind: "text"; readonly text: string }
  | { readonly kind: "tool"; readonly name: string; readonly args: Record<string, unknown> }

type Any = any
const texts = (v: unknown): Array<string> => {
  if (typeof v === "string") return [v]
  if (Array.isArray(v)) return v.flatMap(texts)
  if (typeof v === "object" && v !== null) return Object.values(v).flatMap(texts)
  return []
}
const props = (schema: Any): Array<string> => Object.keys(schema?.properties ?? {})

/** Anthropic Messages (Claude Code). */
export const anthropic = {
  read: (body: Any): Conversation => ({
    tools: (body.tools ?? []).map((t: Any) => ({ name: t.name, params: props(t.input_schema) })),
    text: texts([body.system, body.messages]).join("\n"),
    calls: (body.messages ?? []).flatMap((m: Any) =>
      Array.isArray(m.content) ? m.content.filter((c: Any) => c.type === "tool_use").map((c: Any) => c.name) : []
    ),
    wantsJson: false
  }),
  write: (reply: Reply, n: number, stream: boolean): { type: string; body: string } => {
    const block = reply.kind === "text"
      ? { type: "text", text: reply.text }
      : { type: "tool_use", id: `toolu_${n}`, name: reply.name, input: reply.args }
    const stop = reply.kind === "text" ? "end_turn" : "tool_use"
    const usage = { input_tokens: 10, output_tokens: 10, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 }
    const message = { id: `msg_${n}`, type: "message", role: "assistant", model: "claude-fake", stop_sequence: null, usage }
    if (!stream) return { type: "application/json", body: JSON.stringify({ ...message, content: [block], stop_reason: stop }) }
    const ev = (type: string, data: object) => `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`
    const start = reply.kind === "text" ? { type: "text", text: "" } : { ...block, input: {} }
    const delta = reply.kind === "text"
      ? { type: "text_delta", text: reply.text }
      : { type: "input_json_delta", partial_json: JSON.stringify(reply.args) }
    return {
      type: "text/event-stream",
      body: ev("message_start", { message: { ...message, content: [], stop_reason: null } }) +
        ev("content_block_start", { index: 0, content_block: start }) +
        ev("content_block_delta", { index: 0, delta }) +
        ev("content_block_stop", { index: 0 }) +
        ev("message_delta", { delta: { stop_reason: stop, stop_sequence: null }, usage: { output_tokens: 10 } }) +
        ev("message_stop", {})
    }
  }
}

const responseTools = (tools: Any, prefix = ""): Array<Tool> =>
  (tools ?? []).flatMap((t: Any): Array<Tool> =>
    Array.isArray(t.tools)
      ? responseTools(t.tools, `${prefix}${t.name ?? ""}`)
      : t.name ? [{ name: `${prefix}${t.name}`, params: props(t.parameters) }] : []
  )

/** OpenAI Responses (Codex). */
export const responses = {
  read: (body: Any): Conversation => ({
    tools: responseTools(body.tools),
    text: texts([body.instructions, body.input]).join("\n"),
    calls: (body.input ?? []).filter((i: Any) => i.type === "function_call").map((i: Any) => `${i.namespace ?? ""}${i.name}`),
    wantsJson: false
  }),
  write: (reply: Reply, n: number, tools: ReadonlyArray<Tool>): { type: string; body: string } => {
    const ev = (type: string, data: object) => `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`
    let item: object
    if (reply.kind === "text") {
      item = { type: "message", role: "assistant", id: `msg_${n}`, status: "completed", content: [{ type: "output_text", text: reply.text, annotations: [] }] }
    } else {
      // A namespaced tool (Codex's MCP tools) is called by its short name within its namespace.
      const ns = responseNamespace(tools, reply.name)
      item = {
        type: "function_call",
        id: `fc_${n}`,
        call_id: `call_${n}`,
        status: "completed",
        ...(ns ? { namespace: ns.namespace, name: ns.name } : { name: reply.name }),
        arguments: JSON.stringify(reply.args)
      }
    }
    const usage = { input_tokens: 10, input_tokens_details: null, output_tokens: 10, output_tokens_details: null, total_tokens: 20 }
    return {
      type: "text/event-stream",
      body: ev("response.created", { response: { id: `resp_${n}` } }) +
        ev("response.output_item.added", { output_index: 0, item }) +
        (reply.kind === "text" ? ev("response.output_text.delta", { output_index: 0, content_index: 0, item_id: `msg_${n}`, delta: reply.text }) : "") +
        ev("response.output_item.done", { output_index: 0, item }) +
        ev("response.completed", { response: { id: `resp_${n}`, usage } })
    }
  }
}

let namespaces: ReadonlyArray<{ namespace: string; name: string; full: string }> = []
/** Remembers namespaced tools of the last Responses request (name → namespace + short name). */
export const rememberNamespaces = (body: Any) => {
  namespaces = (body.tools ?? []).flatMap((t: Any) =>
    Array.isArray(t.tools) ? t.tools.map((x: Any) => ({ namespace: t.name, name: x.name, full: `${t.name}${x.name}` })) : []
  )
}
const responseNamespace = (_tools: ReadonlyArray<Tool>, full: string) => namespaces.find((n) => n.full === full)

/** Gemini generateContent / streamGenerateContent (Gemini CLI). */
export const gemini = {
  read: (body: Any): Conversation => ({
    tools: (body.tools ?? []).flatMap((t: Any) =>
      (t.functionDeclarations ?? []).map((f: Any) => ({ name: f.name, params: props(f.parametersJsonSchema ?? f.parameters) }))
    ),
    text: texts([body.systemInstruction, body.contents]).join("\n"),
    calls: (body.contents ?? []).flatMap((c: Any) => (c.parts ?? []).filter((p: Any) => p.functionCall).map((p: Any) => p.functionCall.name)),
    wantsJson: body.generationConfig?.responseMimeType === "application/json" || body.generationConfig?.responseJsonSchema !== undefined
  }),
  write: (reply: Reply, stream: boolean): { type: string; body: string } => {
    const part = reply.kind === "text" ? { text: reply.text } : { functionCall: { name: reply.name, args: reply.args } }
    const chunk = {
      candidates: [{ content: { role: "model", parts: [part] }, finishReason: "STOP", index: 0 }],
      usageMetadata: { promptTokenCount: 10, candidatesTokenCount: 10, totalTokenCount: 20 },
      modelVersion: "gemini-fake"
    }
    return stream
      ? { type: "text/event-stream", body: `data: ${JSON.stringify(chunk)}\r\n\r\n` }
      : { type: "application/json", body: JSON.stringify(chunk) }
  }
}

/** OpenAI chat completions (OpenCode's openai-compatible provider). */
export const chat = {
  read: (body: Any): Conversation => ({
    tools: (body.tools ?? []).map((t: Any) => ({ name: t.function?.name, params: props(t.function?.parameters) })),
    text: texts(body.messages).join("\n"),
    calls: (body.messages ?? []).flatMap((m: Any) => (m.tool_calls ?? []).map((c: Any) => c.function?.name)),
    wantsJson: false
  }),
  write: (reply: Reply, n: number, stream: boolean): { type: string; body: string } => {
    const toolCall = reply.kind === "tool"
      ? { index: 0, id: `call_${n}`, type: "function", function: { name: reply.name, arguments: JSON.stringify(reply.args) } }
      : undefined
    const finish = reply.kind === "text" ? "stop" : "tool_calls"
    const usage = { prompt_tokens: 10, completion_tokens: 10, total_tokens: 20 }
    const base = { id: `chatcmpl-${n}`, created: 0, model: "fake" }
    if (!stream) {
      const message = { role: "assistant", content: reply.kind === "text" ? reply.text : null, ...(toolCall ? { tool_calls: [toolCall] } : {}) }
      return { type: "application/json", body: JSON.stringify({ ...base, object: "chat.completion", choices: [{ index: 0, message, finish_reason: finish }], usage }) }
    }
    const data = (choices: Array<object>, extra: object = {}) =>
      `data: ${JSON.stringify({ ...base, object: "chat.completion.chunk", choices, ...extra })}\n\n`
    const delta = reply.kind === "text" ? { role: "assistant", content: reply.text } : { role: "assistant", tool_calls: [toolCall] }
    return {
      type: "text/event-stream",
      body: data([{ index: 0, delta, finish_reason: null }]) + data([{ index: 0, delta: {}, finish_reason: finish }], { usage }) + "data: [DONE]\n\n"
    }
  }
}
