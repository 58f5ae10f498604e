import { assert, describe, it } from "@effect/vitest"
import { execFileSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, beforeAll } from "vitest"
import { cleanEnv, runBin } from "../agents/Harness.js"
import { startDaemon, type TestDaemon } from "../support/Daemon.js"
import { as, register, type Registered, request } from "../support/Http.js"

// A tmux server of its own (tmux -S in a temp folder): the user's tmux is never touched.
const root = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), "rw-spawn-")))
const socket = path.join(root, "tmux.sock")
const allowed = path.join(root, "projects")
const outside = path.join(root, "elsewhere")
const tmux = (...args: Array<string>) =>
  execFileSync("tmux", ["-S", socket, ...args], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim()
const windows = () => {
  try {
    return tmux("list-windows", "-a", "-F", "#{session_name}:#{window_name}:#{window_id}").split("\n")
  } catch {
    return []
  }
}
const waitFor = async (what: string, check: () => boolean, ms = 5000) => {
  const deadline = Date.now() + ms
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

const spawnConfig = {
  daemon: {
    spawn: {
      commands: { codex: "echo \"$REPOWIRE_HOME\" > spawned.marker; sleep 600", opencode: "sleep 0.5" },
      allowed_paths: [allowed],
      tmux_socket: socket
    }
  }
}

let daemon: TestDaemon
let off: TestDaemon
let lead: Registered

beforeAll(async () => {
  execFileSync("bash", [path.join(import.meta.dirname, "../../scripts/ensure-tmux.sh")], { stdio: "ignore" })
  fs.mkdirSync(path.join(allowed, "api"), { recursive: true })
  fs.mkdirSync(outside, { recursive: true })
  fs.symlinkSync(outside, path.join(allowed, "sneaky"))
  daemon = await startDaemon(spawnConfig)
  off = await startDaemon()
  lead = await register(daemon.url, { name: "lead", backend: "codex", circle: "crew" })
  // Like a user's tmux server, this one has other sessions: it outlives the panes under test.
  tmux("new-session", "-d", "-s", "keeper", "sleep 600")
})

afterAll(async () => {
  try {
    tmux("kill-server")
  } catch {
    // no server left
  }
  await daemon?.close()
  await off?.close()
  fs.rmSync(root, { recursive: true, force: true })
})

const spawn = (base: string, who: Registered, body: Record<string, unknown>) =>
  request(base, "POST", "/spawn", { body, headers: as(who) })

describe("spawning agents in tmux", () => {
  it("is off until configured, with an error naming the keys to set", async () => {
    const caller = await register(off.url, { name: "x", backend: "codex" })
    const reply = await spawn(off.url, caller, { path: path.join(allowed, "api"), backend: "codex" })
    assert.strictEqual(reply.status, 403)
    assert.strictEqual(reply.body.error.code, "spawn_refused")
    assert.include(reply.body.error.message, "daemon.spawn.commands.codex")
    assert.include(reply.body.error.message, "daemon.spawn.allowed_paths")
    const other = await spawn(daemon.url, lead, { path: path.join(allowed, "api"), backend: "gemini" })
    assert.include(other.body.error.message, "daemon.spawn.commands.gemini")
  })

  it("refuses folders outside allowed_paths, through `..` or a symlink", async () => {
    for (const p of [outside, path.join(allowed, "..", "elsewhere"), path.join(allowed, "sneaky"), "relative/api"]) {
      const reply = await spawn(daemon.url, lead, { path: p, backend: "codex" })
      assert.strictEqual(reply.status, 403, p)
      assert.strictEqual(reply.body.error.code, "spawn_refused")
    }
    const viaLink = await spawn(daemon.url, lead, { path: path.join(allowed, "sneaky"), backend: "codex" })
    assert.include(viaLink.body.error.message, "outside daemon.spawn.allowed_paths")
    assert.deepStrictEqual(windows().filter((w) => !w.startsWith("keeper:")), [], "no window was opened")
  })

  it("opens a window running the command, registers the peer at once, queues its first message; kill closes it", async () => {
    const folder = path.join(allowed, "api")
    const reply = await spawn(daemon.url, lead, { path: folder, backend: "codex", message: "start on the schema" })
    assert.strictEqual(reply.status, 201, reply.text)
    assert.strictEqual(reply.body.display_name, "api")
    assert.strictEqual(reply.body.circle, "crew")
    assert.strictEqual(reply.body.tmux_session, "crew")
    await waitFor("the command to run", () => fs.existsSync(path.join(folder, "spawned.marker")))
    assert.strictEqual(fs.readFileSync(path.join(folder, "spawned.marker"), "utf8").trim(), daemon.home)
    assert.include(windows(), `crew:api:${reply.body.tmux_window}`)
    const peer = await request(daemon.url, "GET", `/peers/${reply.body.peer_id}`)
    assert.strictEqual(peer.body.path, folder)
    const sessionFiles = fs.readdirSync(path.join(daemon.home, "sessions"))
    assert.isTrue(sessionFiles.some((f) => f.startsWith("codex-")), "the agent's session file is ready for its hooks")

    // A second agent in the same folder gets a suffixed name.
    const second = await spawn(daemon.url, lead, { path: folder, backend: "codex" })
    assert.strictEqual(second.body.display_name, "api-2")

    const notify = await request(daemon.url, "POST", "/notify", {
      body: { from_peer: "lead", to_peer: "api", text: "also this" },
      headers: as(lead)
    })
    assert.strictEqual(notify.body.delivery, "queued")
    const events = (await request(daemon.url, "GET", `/events?peer=${reply.body.peer_id}`)).body.events as Array<any>
    assert.isTrue(events.some((e) => e.type === "notify" && e.text === "start on the schema"))

    const killed = await request(daemon.url, "POST", `/peers/${reply.body.peer_id}/kill`, { headers: as(lead) })
    assert.strictEqual(killed.status, 200, killed.text)
    assert.isTrue(killed.body.window_closed)
    assert.notInclude(windows(), `crew:api:${reply.body.tmux_window}`)
    assert.strictEqual((await request(daemon.url, "GET", `/peers/${reply.body.peer_id}`)).body.status, "offline")
    await request(daemon.url, "POST", `/peers/${second.body.peer_id}/kill`, { headers: as(lead) })
  })

  it("remembers what it spawned across a daemon restart, and kill still closes it", async () => {
    fs.mkdirSync(path.join(allowed, "durable"), { recursive: true })
    const reply = await spawn(daemon.url, lead, { path: path.join(allowed, "durable"), backend: "codex" })
    assert.strictEqual(reply.status, 201, reply.text)
    await daemon.close()
    daemon = await startDaemon(spawnConfig, daemon.home)
    assert.include(windows(), `crew:durable:${reply.body.tmux_window}`)
    const killed = await request(daemon.url, "POST", `/peers/${reply.body.peer_id}/kill`, { headers: as(lead) })
    assert.strictEqual(killed.status, 200, killed.text)
    assert.isTrue(killed.body.window_closed)
    assert.notInclude(windows(), `crew:durable:${reply.body.tmux_window}`)
  })

  it("kills only what it spawned", async () => {
    const other = await register(daemon.url, { name: "handmade", backend: "codex", circle: "crew" })
    const reply = await request(daemon.url, "POST", `/peers/${other.peer_id}/kill`, { headers: as(lead) })
    assert.strictEqual(reply.status, 403)
    assert.include(reply.body.error.message, "not spawned by this daemon")
  })

  it("repowire peer new / peer kill", async () => {
    const env = cleanEnv({ REPOWIRE_HOME: daemon.home, NO_COLOR: "1" })
    fs.mkdirSync(path.join(allowed, "web"), { recursive: true })
    const made = await runBin([
      "peer",
      "new",
      path.join(allowed, "web"),
      "--backend",
      "codex",
      "--circle",
      "front",
      "--json"
    ], { env })
    assert.strictEqual(made.code, 0, made.stderr)
    const spawned = JSON.parse(made.stdout)
    assert.strictEqual(spawned.display_name, "web")
    assert.strictEqual(spawned.tmux_session, "front")
    assert.isTrue(windows().some((w) => w.startsWith("front:web:")))
    const killed = await runBin(["peer", "kill", "web"], { env })
    assert.strictEqual(killed.code, 0, killed.stderr)
    assert.include(killed.stdout, "web killed")
    assert.isFalse(windows().some((w) => w.startsWith("front:web:")))
    const refused = await runBin(["peer", "new", outside, "--backend", "codex"], { env })
    assert.notStrictEqual(refused.code, 0)
    assert.include(refused.stderr, "outside daemon.spawn.allowed_paths")
  }, 60_000)

  const offlineWithinASecond = async (peerId: string) => {
    const exited = Date.now()
    const status = async () => (await request(daemon.url, "GET", `/peers/${peerId}`)).body.status
    let now = await status()
    while (now !== "offline" && Date.now() - exited < 1000) {
      await new Promise((r) => setTimeout(r, 50))
      now = await status()
    }
    return now
  }

  it("an agent whose command ends is offline within a second", async () => {
    fs.mkdirSync(path.join(allowed, "brief"), { recursive: true })
    const reply = await spawn(daemon.url, lead, { path: path.join(allowed, "brief"), backend: "opencode" })
    assert.strictEqual(reply.status, 201, reply.text)
    assert.strictEqual((await request(daemon.url, "GET", `/peers/${reply.body.peer_id}`)).body.status, "online")
    await waitFor("the command to end", () => !windows().some((w) => w.endsWith(`:${reply.body.tmux_window}`)))
    assert.strictEqual(await offlineWithinASecond(reply.body.peer_id), "offline")
  })

  it("a pane killed from outside marks its peer offline within a second (tmux pane-exited hook)", async () => {
    fs.mkdirSync(path.join(allowed, "short"), { recursive: true })
    const reply = await spawn(daemon.url, lead, { path: path.join(allowed, "short"), backend: "codex" })
    assert.strictEqual(reply.status, 201, reply.text)
    await waitFor("the command to run", () => fs.existsSync(path.join(allowed, "short", "spawned.marker")))
    const status = async () => (await request(daemon.url, "GET", `/peers/${reply.body.peer_id}`)).body.status
    assert.strictEqual(await status(), "online")
    // The agent dies: its pane's process group (the shell and its command) ends.
    const pid = Number(tmux("display-message", "-p", "-t", reply.body.tmux_pane, "#{pane_pid}"))
    process.kill(-pid, "SIGTERM")
    assert.strictEqual(await offlineWithinASecond(reply.body.peer_id), "offline")
  })
})
