// A reference for the daemon's ask benchmark: the least a Node process can do for an ask and
// still keep it durable. It speaks just enough of the daemon's API for the bench (POST /peers,
// POST /ask, /ws with connect and delivery_ack) and does the same durable work per ask: a
// peer-token digest lookup, the queued count, three inserts in one WAL transaction with the
// daemon's pragmas and checkpoint policy, the frame, and the receipt's update. It checks
// nothing else: no Host, Origin or body limits, no Schemas, no event readers.
import Database from "better-sqlite3"
import { createHash, randomBytes } from "node:crypto"
import { writeFileSync } from "node:fs"
import { createServer } from "node:http"
import { join } from "node:path"
import { WebSocketServer } from "ws"

const home = process.env.REPOWIRE_HOME
const db = new Database(join(home, "state.db"))
db.pragma("locking_mode = EXCLUSIVE")
db.pragma("journal_mode = WAL")
db.pragma("synchronous = NORMAL")
db.pragma("wal_autocheckpoint = 10000")
db.exec(`
  CREATE TABLE messages (id TEXT PRIMARY KEY, to_peer TEXT NOT NULL, body TEXT NOT NULL, state TEXT NOT NULL);
  CREATE INDEX messages_pending ON messages (to_peer, state);
  CREATE TABLE asks (correlation_id TEXT PRIMARY KEY, message_id TEXT NOT NULL, state TEXT NOT NULL);
  CREATE TABLE events (id INTEGER PRIMARY KEY AUTOINCREMENT, body TEXT NOT NULL);
`)
const queued = db.prepare("SELECT COUNT(*) AS n FROM messages WHERE to_peer = ? AND state = 'queued'")
const insertMessage = db.prepare("INSERT INTO messages VALUES (?, ?, ?, 'queued')")
const insertAsk = db.prepare("INSERT INTO asks VALUES (?, ?, 'queued')")
const insertEvent = db.prepare("INSERT INTO events (body) VALUES (?) RETURNING id")
const delivered = db.prepare("UPDATE messages SET state = 'delivered' WHERE id = ? AND state = 'queued' RETURNING body")
const askDelivered = db.prepare("UPDATE asks SET state = 'delivered' WHERE correlation_id = ?")

// The daemon's checkpoint policy: every 100 write commits, on the loop's next turn.
let commits = 0
const committed = () => {
  if (++commits % 100 === 0) setImmediate(() => db.pragma("wal_checkpoint(PASSIVE)"))
}
const storeAsk = db.transaction((frame, to) => {
  queued.get(to)
  insertMessage.run(frame.message_id, to, JSON.stringify(frame))
  insertAsk.run(frame.correlation_id, frame.message_id)
  insertEvent.get(JSON.stringify({ type: "ask", ...frame }))
})
const storeReceipt = db.transaction((messageId) => {
  const row = delivered.get(messageId)
  if (row === undefined) return
  askDelivered.run(JSON.parse(row.body).correlation_id)
  insertEvent.get(JSON.stringify({ type: "delivery", message_id: messageId }))
})

const digest = (token) => createHash("sha256").update(token).digest("hex")
const id = (prefix) => `${prefix}-${randomBytes(10).toString("hex")}`
const peers = new Map()
const byDigest = new Map()
const sockets = new Map()

const server = createServer((req, res) => {
  const chunks = []
  req.on("data", (chunk) => chunks.push(chunk))
  req.on("end", () => {
    const answer = (status, body) => {
      const text = JSON.stringify(body)
      res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) })
      res.end(text)
    }
    const body = JSON.parse(Buffer.concat(chunks).toString("utf8"))
    if (req.method === "POST" && req.url === "/peers") {
      const peer = { peer_id: id("peer"), display_name: body.name, circle: body.circle }
      const token = randomBytes(32).toString("base64url")
      peers.set(peer.peer_id, peer)
      byDigest.set(digest(token), peer)
      return answer(200, { ...peer, token })
    }
    if (req.method === "POST" && req.url === "/ask") {
      const sender = byDigest.get(digest(String(req.headers["x-repowire-peer-token"])))
      const target = peers.get(body.to_peer)
      if (sender === undefined || target === undefined) return answer(404, { error: { code: "not_found" } })
      const frame = {
        type: "ask",
        message_id: id("msg"),
        correlation_id: id("ask"),
        from_peer: sender.peer_id,
        from_name: sender.display_name,
        circle: target.circle,
        text: body.text,
        attachments: [],
        created_at: new Date().toISOString(),
        reply_to: null
      }
      storeAsk(frame, target.peer_id)
      committed()
      const socket = sockets.get(target.peer_id)
      socket?.send(JSON.stringify(frame))
      return answer(200, { correlation_id: frame.correlation_id, delivery: socket ? "delivered" : "queued" })
    }
    answer(404, { error: { code: "not_found" } })
  })
})

new WebSocketServer({ server, path: "/ws" }).on("connection", (socket) => {
  socket.on("message", (data) => {
    const frame = JSON.parse(String(data))
    if (frame.type === "connect") {
      sockets.set(frame.peer_id, socket)
      socket.send(JSON.stringify({ type: "connected", peer_id: frame.peer_id }))
    } else if (frame.type === "delivery_ack") {
      storeReceipt(frame.message_id)
      committed()
    }
  })
})

server.listen(0, "127.0.0.1", () => {
  const { port } = server.address()
  writeFileSync(join(home, "daemon.json"), JSON.stringify({ pid: process.pid, port, url: `http://127.0.0.1:${port}` }))
})
