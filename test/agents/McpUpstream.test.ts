import { assert, describe, it } from "@effect/vitest"
import { Client } from "@modelcontextprotocol/sdk/client/index.js"
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js"
import * as fs from "node:fs"
import * as path from "node:path"
import { afterAll, beforeAll } from "vitest"
import { BIN, runBin, type RunningDaemon, startDaemon, tempDir } from "./Harness.js"

let daemon: RunningDaemon
let project: string
let client: Client

const text = (r: unknown) => ((r as { content: Array<{ text: string }> }).content[0]!.text)
const isError = (r: unknown) => (r as { isError?: boolean }).isError === true

beforeAll(async () => {
  daemon = await startDaemon()
  project = path.join(tempDir("rw-proj-"), "checkout-7")
  fs.mkdirSync(project)
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [BIN, "mcp"],
    env: { ...daemon.env, REPOWIRE_DISPLAY_NAME: "webapp" } as Record<string, string>,
    cwd: project,
    stderr: "pipe"
  })
  client = new Client({ name: "test", version: "0" })
  await client.connect(transport)
}, 120_000)

afterAll(async () => {
  await client?.close()
  await daemon?.stop()
})

const cli = (...args: Array<string>) => runBin(args, { env: daemon.env, cwd: project })

describe("MCP tools with upstream repowire's argument names", () => {
  it("REPOWIRE_DISPLAY_NAME names the peer", async () => {
    assert.match(text(await client.callTool({ name: "whoami", arguments: {} })), /^you are webapp \(/)
    // The CLI's own peer joins with its first message; the tests below talk to it.
    assert.strictEqual((await cli("notify", "webapp", "hello")).code, 0)
  }, 60_000)

  it("peer_name, query, message, show_offline and timeout_seconds work like to, text, all and timeout_s", async () => {
    const peers = await client.callTool({ name: "list_peers", arguments: { show_offline: true } })
    assert.isFalse(isError(peers), text(peers))
    const asked = await client.callTool({ name: "ask", arguments: { peer_name: "cli", query: "Is staging up?" } })
    const id = /^(ask-[a-z0-9]+) sent to cli/.exec(text(asked))?.[1]
    assert.isDefined(id, text(asked))
    const waiting = client.callTool({ name: "wait_on_ack", arguments: { correlation_id: id!, timeout_seconds: 20 } })
    assert.strictEqual((await cli("ack", id!, "yes")).code, 0)
    assert.strictEqual(text(await waiting), `${id} acked by cli. Reply:\nyes`)
    const notified = await client.callTool({
      name: "notify_peer",
      arguments: { peer_name: "cli", message: "deploying" }
    })
    assert.match(text(notified), /^sent to cli \((queued|delivered)\)$/)
    const cast = await client.callTool({ name: "broadcast", arguments: { message: "hello all" } })
    assert.isFalse(isError(cast), text(cast))

    // upstream's CLI group: repowire peer list|ask|ack|asks
    const listed = await cli("peer", "list", "--json")
    assert.include(
      (JSON.parse(listed.stdout) as { peers: Array<{ display_name: string }> }).peers.map((p) => p.display_name),
      "webapp"
    )
    const peerAsk = await cli("peer", "ask", "webapp", "which branch?", "--json")
    const askId = (JSON.parse(peerAsk.stdout) as { correlation_id: string }).correlation_id
    const peerAsks = await cli("peer", "asks", "--open", "--json")
    assert.include(peerAsks.stdout, askId)
    const missing = await client.callTool({ name: "notify_peer", arguments: { message: "to whom?" } })
    assert.isTrue(isError(missing))
    assert.include(text(missing), "to (or peer_name) is required")
  }, 60_000)

  it("attachments: a local file is uploaded, an id passes through, a missing file is a tool error", async () => {
    const file = path.join(project, "notes.md")
    fs.writeFileSync(file, "# the plan\n")
    const sent = await client.callTool({
      name: "ask",
      arguments: { to: "cli", text: "see the plan", attachments: ["notes.md"] }
    })
    assert.isFalse(isError(sent), text(sent))
    const asks = JSON.parse((await cli("asks", "--all", "--json")).stdout) as {
      asks: Array<{ text: string; attachments: Array<{ id: string; name: string; path: string }> }>
    }
    const withFile = asks.asks.find((a) => a.text === "see the plan")!
    assert.strictEqual(withFile.attachments.length, 1)
    assert.strictEqual(withFile.attachments[0]!.name, "notes.md")
    assert.strictEqual(fs.readFileSync(withFile.attachments[0]!.path, "utf8"), "# the plan\n")
    const again = await client.callTool({
      name: "notify_peer",
      arguments: { peer_name: "cli", message: "same file", attachments: [withFile.attachments[0]!.id] }
    })
    assert.isFalse(isError(again), text(again))
    const gone = await client.callTool({
      name: "notify_peer",
      arguments: { to: "cli", text: "x", attachments: ["nope.txt"] }
    })
    assert.isTrue(isError(gone))
    assert.include(text(gone), "nope.txt")
  }, 60_000)
})
