import { Command } from "@effect/cli"
import { ackConfig, sendAck } from "./Ack.js"
import { askConfig, sendAsk } from "./Ask.js"
import { asksConfig, listAsks } from "./Asks.js"
import { lifecycleSubcommands } from "./PeerLifecycle.js"
import { listPeers, peersConfig } from "./Peers.js"

/**
 * `repowire peer …`: upstream repowire's command group (`peer list|ask|ack|asks`), the same
 * commands as the top-level `peers`, `ask`, `ack` and `asks`, and the lifecycle (PeerLifecycle.ts).
 */
const list = Command.make("list", peersConfig, listPeers).pipe(
  Command.withDescription("List the peers on the mesh (= repowire peers)")
)
const ask = Command.make("ask", askConfig, sendAsk).pipe(
  Command.withDescription("Ask a peer a question (= repowire ask)")
)
const ack = Command.make("ack", ackConfig, sendAck).pipe(Command.withDescription("Close an ask (= repowire ack)"))
const asks = Command.make("asks", asksConfig, listAsks).pipe(Command.withDescription("List asks (= repowire asks)"))

export const peerSubcommands = [list, ask, ack, asks, ...lifecycleSubcommands] as const

export const peerCommand = Command.make("peer").pipe(
  Command.withDescription("Peers, their asks and their lifecycle: list | ask | ack | asks | new | kill | claim-role"),
  Command.withSubcommands([...peerSubcommands])
)
