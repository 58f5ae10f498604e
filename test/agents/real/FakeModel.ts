import * as http from "node:http"
import type { AddressInfo } from "node:net"
import { anthropic, chat, type Conversation, gemini, type Reply, responses, type Tool } from "./ModelWire.js"

/**
 * A model server for the agents' real CLIs: Anthropic Messages, OpenAI Responses, Gemini
 * generateContent and OpenAI chat completions on one port. It plays one scripted conversation,
 * decided from what each request carries (so retries and side requests do not derail it):
 * call list_peers, then ask the lead, then answer; when a Stop-like hook hands over an ask,
 * answer it with ack. Every request is logged for the tests to assert on.
 */
export interface LoggedRequest {
  readonly path: string
  readonly body: any
  readonly conversation: Conversation
  readonly reply: Reply
}

export interface FakeModel {
  readonly url: string
  readonly log: Array<LoggedRequest>
  readonly close: () => Promise<void>
}

export interface Script {
  /** Who to ask, and what. */
  readonly askTo: string
  readonly question: string
  /** The answer to an ask handed over by the mesh. */
  readonly answer: string
  /** Awaited once, after the agent's ask returned and before its turn ends. */
  readonly afterAsk?: () => Promise<void>
}

const tool = (tools: ReadonlyArray<Tool>, short: string) =>
  tools.find((t) => t.name === short || t.name.endsWith(`_${short}`))
const called = (c: Conversation, t: Tool | undefined) => t !== undefined && c.calls.includes(t.name)
const param = (t: Tool, names: ReadonlyArray<string>) => names.find((n) => t.params.includes(n)) ?? names[0]!

export const INCOMING_ASK = /\[repowire\] ask (ask-[A-Za-z0-9_-]+) from ([^:\s]+):/

const decide = async (c: Conversation, script: Script, state: { asked: boolean }): Promise<Reply> => {
  if (c.wantsJson) {
    return {
      kind: "text",
      text: JSON.stringify({ reasoning: "scripted", next_speaker: "user", model_choice: "flash" })
    }
  }
  const listPeers = tool(c.tools, "list_peers")
  const ask = tool(c.tools, "ask")
  const ack = tool(c.tools, "ack")
  if ((!listPeers || !ask || !ack) && c.canSearch) return { kind: "search", query: "repowire list_peers ask ack" }
  if (!listPeers || !ask || !ack) return { kind: "text", text: "Mesh session" }
  const incoming = c.text.match(INCOMING_ASK)
  if (incoming && !called(c, ack)) {
    return {
      kind: "tool",
      name: ack.name,
      args: {
        [param(ack, ["correlation_id", "id"])]: incoming[1],
        [param(ack, ["message", "text", "reply"])]: script.answer
      }
    }
  }
  if (called(c, ack)) return { kind: "text", text: `Answered ${incoming?.[2] ?? "the ask"}: ${script.answer}` }
  if (!called(c, listPeers)) return { kind: "tool", name: listPeers.name, args: {} }
  if (!called(c, ask)) {
    return {
      kind: "tool",
      name: ask.name,
      args: {
        [param(ask, ["to", "to_peer", "peer", "target"])]: script.askTo,
        [param(ask, ["text", "question", "message"])]: script.question
      }
    }
  }
  if (!state.asked) {
    state.asked = true
    await script.afterAsk?.()
  }
  return { kind: "text", text: `I asked ${script.askTo}: ${script.question}` }
}

const readBody = (req: http.IncomingMessage): Promise<string> =>
  new Promise((resolve) => {
    let s = ""
    req.on("data", (d) => (s += d))
    req.on("end", () => resolve(s))
  })

export const startFakeModel = async (script: Script): Promise<FakeModel> => {
  const log: Array<LoggedRequest> = []
  const state = { asked: false }
  let n = 0
  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url ?? "/", "http://x")
    const raw = await readBody(req)
    let body: any = {}
    try {
      body = raw === "" ? {} : JSON.parse(raw)
    } catch {
      body = { raw }
    }
    const send = (type: string, text: string, status = 200) => {
      res.writeHead(status, { "content-type": type })
      res.end(text)
    }
    const p = url.pathname
    n += 1
    if (p.endsWith("/count_tokens")) return send("application/json", JSON.stringify({ input_tokens: 10 }))
    if (p.endsWith(":countTokens")) return send("application/json", JSON.stringify({ totalTokens: 10 }))
    if (req.method === "GET" && p.endsWith("/models")) {
      return send(
        "application/json",
        JSON.stringify({ object: "list", data: [{ id: "fake", object: "model" }], models: [] })
      )
    }
    let conversation: Conversation
    let write: (reply: Reply) => { type: string; body: string }
    if (p.endsWith("/messages")) {
      conversation = anthropic.read(body)
      write = (r) => anthropic.write(r, n, body.stream === true)
    } else if (p.endsWith("/responses")) {
      conversation = responses.read(body)
      write = (r) => responses.write(r, n, body)
    } else if (p.includes(":generateContent") || p.includes(":streamGenerateContent")) {
      conversation = gemini.read(body)
      write = (r) => gemini.write(r, p.includes(":stream"))
    } else if (p.endsWith("/chat/completions")) {
      conversation = chat.read(body)
      write = (r) => chat.write(r, n, body.stream === true)
    } else {
      log.push({
        path: p,
        body,
        conversation: { tools: [], text: "", calls: [], wantsJson: false },
        reply: { kind: "text", text: "404" }
      })
      return send("application/json", JSON.stringify({ error: { message: `no route ${p}` } }), 404)
    }
    const reply = await decide(conversation, script, state)
    log.push({ path: p, body, conversation, reply })
    const out = write(reply)
    send(out.type, out.body)
  })
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    log,
    close: () =>
      new Promise((r) => {
        server.closeAllConnections()
        server.close(() => r())
      })
  }
}
