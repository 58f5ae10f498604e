import { HttpServer } from "@effect/platform"
import { assert, describe, it } from "@effect/vitest"
import { Client } from "@modelcontextprotocol/sdk/client/index.js"
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js"
import { Context, Effect, Exit, Layer, Scope } from "effect"
import { afterAll, beforeAll } from "vitest"
import { McpRoute } from "../../src/programs/daemon/McpRoute.js"
import { TOOL_NAMES } from "../../src/programs/mcp/Tools.js"
import { startDaemon, type TestDaemon } from "../support/Daemon.js"
import { gateLayer, serveOnLoopback } from "../support/Layers.js"
import { httpJson } from "./Harness.js"

/**
 * /mcp mounted on its own port-0 server beside a real daemon in the same home: its tools call
 * that daemon. Checks the bearer, Host and Origin rules the SDK does not.
 */
const TOKEN = "mcp-http-test-token-0123456789abcdef"
let daemon: TestDaemon
const servers: Array<{ url: string; port: number; scope: Scope.CloseableScope }> = []

const serveMcp = async (raw: Record<string, unknown>) => {
  const scope = Effect.runSync(Scope.make())
  const layer = serveOnLoopback(McpRoute).pipe(Layer.provide(gateLayer(daemon.home, raw)))
  const context = await Effect.runPromise(Layer.buildWithScope(layer, scope))
  const address = Context.get(context, HttpServer.HttpServer).address
  const port = address._tag === "TcpAddress" ? address.port : 0
  const server = { url: `http://127.0.0.1:${port}`, port, scope }
  servers.push(server)
  return server
}

let enabled: { url: string; port: number }
let disabled: { url: string; port: number }
let noToken: { url: string; port: number }
let peer: { peer_id: string; token: string }

const initialize = {
  jsonrpc: "2.0",
  id: 1,
  method: "initialize",
  params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "raw", version: "0" } }
}
const mcpHeaders = { accept: "application/json, text/event-stream" }

beforeAll(async () => {
  const config = { daemon: { auth_token: TOKEN, mcp_http: { enabled: true } } }
  daemon = await startDaemon(config)
  enabled = await serveMcp({ daemon: { port: 0, ...config.daemon } })
  disabled = await serveMcp({ daemon: { port: 0, auth_token: TOKEN } })
  noToken = await serveMcp({ daemon: { port: 0, mcp_http: { enabled: true } } })
  const registered = await httpJson(daemon.url, "POST", "/peers", {
    body: { name: "remote", backend: "codex" },
    headers: { authorization: `Bearer ${TOKEN}` }
  })
  peer = registered.body
  await httpJson(daemon.url, "POST", "/peers", {
    body: { name: "other", backend: "gemini" },
    headers: { authorization: `Bearer ${TOKEN}` }
  })
}, 120_000)

afterAll(async () => {
  for (const s of servers) await Effect.runPromise(Scope.close(s.scope, Exit.void))
  await daemon?.close()
})

describe("/mcp over Streamable HTTP", () => {
  it("serves the tools to an SDK client with the bearer and the peer's headers", async () => {
    const client = new Client({ name: "http", version: "0" })
    await client.connect(
      new StreamableHTTPClientTransport(new URL(`${enabled.url}/mcp`), {
        requestInit: {
          headers: {
            authorization: `Bearer ${TOKEN}`,
            "x-repowire-peer-id": peer.peer_id,
            "x-repowire-peer-token": peer.token
          }
        }
      })
    )
    const { tools } = await client.listTools()
    assert.strictEqual(tools.length, TOOL_NAMES.length)
    const who = await client.callTool({ name: "whoami", arguments: {} })
    assert.match((who.content as Array<{ text: string }>)[0]!.text, /^you are remote \(peer-/)
    const asked = await client.callTool({ name: "ask", arguments: { to: "other", text: "over http" } })
    assert.match((asked.content as Array<{ text: string }>)[0]!.text, /^ask-[a-z0-9]+ sent to other \(queued\)$/)
    await client.close()
  })

  it("names the headers a caller without identity must send", async () => {
    const client = new Client({ name: "anon", version: "0" })
    await client.connect(
      new StreamableHTTPClientTransport(new URL(`${enabled.url}/mcp`), {
        requestInit: { headers: { authorization: `Bearer ${TOKEN}` } }
      })
    )
    const r = await client.callTool({ name: "whoami", arguments: {} })
    assert.isTrue(r.isError)
    assert.include((r.content as Array<{ text: string }>)[0]!.text, "X-Repowire-Peer-Id and X-Repowire-Peer-Token")
    await client.close()
  })

  it("requires the bearer token", async () => {
    const none = await httpJson(enabled.url, "POST", "/mcp", { body: initialize, headers: mcpHeaders })
    assert.strictEqual(none.status, 401)
    assert.strictEqual(none.headers["www-authenticate"], "Bearer")
    assert.strictEqual(none.body.error.code, "unauthorized")
    const wrong = await httpJson(enabled.url, "POST", "/mcp", {
      body: initialize,
      headers: { ...mcpHeaders, authorization: "Bearer not-the-token-at-all-0000000000" }
    })
    assert.strictEqual(wrong.status, 401)
    const missingConfig = await httpJson(noToken.url, "POST", "/mcp", {
      body: initialize,
      headers: { ...mcpHeaders, authorization: `Bearer ${TOKEN}` }
    })
    assert.strictEqual(missingConfig.status, 401)
    assert.include(missingConfig.body.error.message, "repowire setup --http-mcp")
  })

  it("checks Host (DNS rebinding) and Origin (cross-site)", async () => {
    const headers = { ...mcpHeaders, authorization: `Bearer ${TOKEN}` }
    const rebound = await httpJson(enabled.url, "POST", "/mcp", {
      body: initialize,
      headers: { ...headers, host: `evil.example:${enabled.port}` }
    })
    assert.strictEqual(rebound.status, 403)
    const otherPort = await httpJson(enabled.url, "POST", "/mcp", {
      body: initialize,
      headers: { ...headers, host: "127.0.0.1:1" }
    })
    assert.strictEqual(otherPort.status, 403)
    const crossSite = await httpJson(enabled.url, "POST", "/mcp", {
      body: initialize,
      headers: { ...headers, origin: "https://evil.example" }
    })
    assert.strictEqual(crossSite.status, 403)
    assert.include(crossSite.body.error.message, "https://evil.example")
    const local = await httpJson(enabled.url, "POST", "/mcp", {
      body: initialize,
      headers: { ...headers, origin: `http://127.0.0.1:${enabled.port}`, host: `localhost:${enabled.port}` }
    })
    assert.strictEqual(local.status, 200)
    assert.strictEqual(local.body.result.serverInfo.name, "repowire")
  })

  it("is served by the daemon itself, behind its guard", async () => {
    const client = new Client({ name: "daemon", version: "0" })
    await client.connect(
      new StreamableHTTPClientTransport(new URL(`${daemon.url}/mcp`), {
        requestInit: {
          headers: {
            authorization: `Bearer ${TOKEN}`,
            "x-repowire-peer-id": peer.peer_id,
            "x-repowire-peer-token": peer.token
          }
        }
      })
    )
    const peers = await client.callTool({ name: "list_peers", arguments: {} })
    assert.include((peers.content as Array<{ text: string }>)[0]!.text, "remote (you)\tonline\tcodex")
    await client.close()
    const none = await httpJson(daemon.url, "POST", "/mcp", { body: initialize, headers: mcpHeaders })
    assert.strictEqual(none.status, 401)
  })

  it("is absent unless daemon.mcp_http.enabled", async () => {
    const r = await httpJson(disabled.url, "POST", "/mcp", {
      body: initialize,
      headers: { ...mcpHeaders, authorization: `Bearer ${TOKEN}` }
    })
    assert.strictEqual(r.status, 404)
  })
})
