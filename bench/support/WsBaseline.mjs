// The physical floor for the daemon benchmarks: a bare `ws` server in its own process that
// echoes frames, and on "fanout" sends one frame to every other connected client.
import { WebSocketServer } from "ws"

const server = new WebSocketServer({ host: "127.0.0.1", port: 0 })
server.on("connection", (socket) => {
  socket.on("message", (data) => {
    const text = String(data)
    if (text.startsWith("fanout:")) {
      for (const client of server.clients) if (client !== socket) client.send(text)
    } else {
      socket.send(text)
    }
  })
})
server.on("listening", () => process.stdout.write(`${server.address().port}\n`))
