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
  /** The tools are deferred behind a search the model must run first (Codex's tool_search). */
  readonly canSearch?: boolean
}
export type Reply =
  | { readonly kind: "text"; readonly text: string }
  | { readonly kind: "tool"; readonly name: string; readonly args: Record<string, unknown> }
  | { readonly kind: "search"; readonly query: string }

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
    if (reply.kind === "search") throw new Error("no tool search in the Messages API")
    const block = reply.kind === "text"
      ? { type: "text", text: reply.text }
      : { type: "tool_use", id: `toolu_${n}`, name: reply.name, input: reply.args }
    const stop = reply.kind === "text" ? "end_turn" : "tool_use"
    const usage = { input_tokens: 10, output_tokens: 10, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 }
    const message = {
      id: `msg_${n}`,
      type: "message",
      role: "assistant",
      model: "claude-fake",
      stop_sequence: null,
      usage
    }
    if (!stream) {
      return { type: "application/json", body: JSON.stringify({ ...message, content: [block], stop_reason: stop }) }
    }
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

type NsTool = Tool & { readonly namespace?: string; readonly short: string }
const joined = (ns: string, name: string) => (ns === "" || ns.endsWith("_") ? `${ns}${name}` : `${ns}__${name}`)
const responseTools = (tools: Any): Array<NsTool> =>
  (tools ?? []).flatMap((t: Any): Array<NsTool> =>
    Array.isArray(t.tools)
      ? t.tools.filter((x: Any) => x.name).map((x: Any) => ({
        name: joined(t.name, x.name),
        short: x.name,
        namespace: t.name,
        params: props(x.parameters)
      }))
      : t.name
      ? [{ name: t.name, short: t.name, params: props(t.parameters) }]
      : []
  )

/**
 * Tools offered upfront plus those a tool_search call exposed. Codex 0.171 answers the search
 * with an empty `tools` list and a developer note "Added deferred tool namespaces: - mcp__repowire";
 * the model then calls the server's tools in that namespace by their MCP names.
 */
const MESH_TOOLS = ["list_peers", "whoami", "ask", "ack", "notify_peer", "broadcast", "list_asks", "wait_on_ack"]
const offered = (body: Any): Array<NsTool> => {
  const added = texts(body.input).flatMap((t) => [...t.matchAll(/Added deferred tool namespaces:\n((?:- \S+\n?)+)/g)])
    .flatMap((m) => m[1]!.split("\n").map((l) => l.replace(/^- /, "").trim()).filter((n) => n.includes("repowire")))
  return [
    ...responseTools(body.tools),
    ...responseTools(
      (body.input ?? []).filter((i: Any) => i.type === "tool_search_output").flatMap((i: Any) => i.tools ?? [])
    ),
    ...added.flatMap((ns) => MESH_TOOLS.map((short) => ({ name: joined(ns, short), short, namespace: ns, params: [] })))
  ]
}

/** OpenAI Responses (Codex). */
export const responses = {
  read: (body: Any): Conversation => ({
    tools: offered(body),
    text: texts([body.instructions, body.input]).join("\n"),
    calls: (body.input ?? []).flatMap((i: Any) =>
      i.type === "function_call"
        ? [joined(i.namespace ?? "", i.name)]
        : i.type === "tool_search_call"
        ? ["tool_search"]
        : []
    ),
    wantsJson: false,
    canSearch: (body.tools ?? []).some((t: Any) => t.type === "tool_search") &&
      !(body.input ?? []).some((i: Any) => i.type === "tool_search_call")
  }),
  write: (reply: Reply, n: number, body: Any): { type: string; body: string } => {
    const ev = (type: string, data: object) => `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`
    let item: object
    if (reply.kind === "text") {
      item = {
        type: "message",
        role: "assistant",
        id: `msg_${n}`,
        status: "completed",
        content: [{ type: "output_text", text: reply.text, annotations: [] }]
      }
    } else if (reply.kind === "search") {
      item = {
        type: "tool_search_call",
        id: `ts_${n}`,
        call_id: `call_${n}`,
        status: "completed",
        execution: "client",
        arguments: { query: reply.query, limit: 8 }
      }
    } else {
      // A namespaced tool (Codex's MCP tools) is called by its short name within its namespace.
      const tool = offered(body).find((t) => t.name === reply.name)
      item = {
        type: "function_call",
        id: `fc_${n}`,
        call_id: `call_${n}`,
        status: "completed",
        ...(tool?.namespace ? { namespace: tool.namespace, name: tool.short } : { name: reply.name }),
        arguments: JSON.stringify(reply.args)
      }
    }
    const usage = {
      input_tokens: 10,
      input_tokens_details: null,
      output_tokens: 10,
      output_tokens_details: null,
      total_tokens: 20
    }
    return {
      type: "text/event-stream",
      body: ev("response.created", { response: { id: `resp_${n}` } }) +
        ev("response.output_item.added", { output_index: 0, item }) +
        (reply.kind === "text"
          ? ev("response.output_text.delta", {
            output_index: 0,
            content_index: 0,
            item_id: `msg_${n}`,
            delta: reply.text
          })
          : "") +
        ev("response.output_item.done", { output_index: 0, item }) +
        ev("response.completed", { response: { id: `resp_${n}`, usage } })
    }
  }
}

/** Gemini generateContent / streamGenerateContent (Gemini CLI). */
export const gemini = {
  read: (body: Any): Conversation => ({
    tools: (body.tools ?? []).flatMap((t: Any) =>
      (t.functionDeclarations ?? []).map((f: Any) => ({
        name: f.name,
        params: props(f.parametersJsonSchema ?? f.parameters)
      }))
    ),
    text: texts([body.systemInstruction, body.contents]).join("\n"),
    calls: (body.contents ?? []).flatMap((c: Any) =>
      (c.parts ?? []).filter((p: Any) => p.functionCall).map((p: Any) => p.functionCall.name)
    ),
    wantsJson: body.generationConfig?.responseMimeType === "application/json" ||
      body.generationConfig?.responseJsonSchema !== undefined
  }),
  write: (reply: Reply, stream: boolean): { type: string; body: string } => {
    if (reply.kind === "search") throw new Error("no tool search in the Gemini API")
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
    if (reply.kind === "search") throw new Error("no tool search in chat completions")
    const toolCall = reply.kind === "tool"
      ? {
        index: 0,
        id: `call_${n}`,
        type: "function",
        function: { name: reply.name, arguments: JSON.stringify(reply.args) }
      }
      : undefined
    const finish = reply.kind === "text" ? "stop" : "tool_calls"
    const usage = { prompt_tokens: 10, completion_tokens: 10, total_tokens: 20 }
    const base = { id: `chatcmpl-${n}`, created: 0, model: "fake" }
    if (!stream) {
      const message = {
        role: "assistant",
        content: reply.kind === "text" ? reply.text : null,
        ...(toolCall ? { tool_calls: [toolCall] } : {})
      }
      return {
        type: "application/json",
        body: JSON.stringify({
          ...base,
          object: "chat.completion",
          choices: [{ index: 0, message, finish_reason: finish }],
          usage
        })
      }
    }
    const data = (choices: Array<object>, extra: object = {}) =>
      `data: ${JSON.stringify({ ...base, object: "chat.completion.chunk", choices, ...extra })}\n\n`
    const delta = reply.kind === "text"
      ? { role: "assistant", content: reply.text }
      : { role: "assistant", tool_calls: [toolCall] }
    return {
      type: "text/event-stream",
      body: data([{ index: 0, delta, finish_reason: null }]) +
        data([{ index: 0, delta: {}, finish_reason: finish }], { usage }) + "data: [DONE]\n\n"
    }
  }
}
