import type { Ask } from "../../protocol/Message.js"
import type { Peer } from "../../protocol/Peer.js"
import type { Schedule } from "../../protocol/Schedule.js"

/** Token-cheap text: one header line, then tab-separated rows. */
const oneLine = (s: string, max: number) => {
  const flat = s.replace(/\s+/g, " ").trim()
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat
}

/** Peers of several machines are named as they are addressed: `name@machine`. */
export const peersText = (peers: ReadonlyArray<Peer>, me: string | undefined) => {
  const machines = new Set(peers.map((p) => p.machine)).size > 1
  return peers.length === 0
    ? "no peers"
    : [
      `${peers.length} peer(s): name\tstatus\tbackend\tcircle\tdescription`,
      ...peers.map((p) =>
        [
          `${p.display_name}${machines ? `@${p.machine}` : ""}${p.peer_id === me ? " (you)" : ""}`,
          p.turn_state === null ? p.status : `${p.status} (${p.turn_state.replace("_", " ")})`,
          p.backend,
          p.circle,
          oneLine(p.description, 120)
        ]
          .join("\t")
      )
    ].join("\n")
}

export const asksText = (asks: ReadonlyArray<Ask>) =>
  asks.length === 0
    ? "no asks"
    : [
      `${asks.length} ask(s): id\tfrom\tto\tstate\ttext\treply`,
      ...asks.map((a) =>
        [
          a.correlation_id,
          a.from_name,
          a.to_name,
          a.state,
          oneLine(a.text, 120),
          a.state === "failed"
            ? `failed: ${oneLine(a.failure ?? "", 200)}`
            : a.reply === null
            ? "-"
            : oneLine(a.reply, 200)
        ]
          .join("\t")
      )
    ].join("\n")

export const askResultText = (a: Ask, waitedS: number) =>
  a.state === "failed"
    ? `${a.correlation_id} failed, it can never reach ${a.to_name}: ${a.failure}`
    : a.state === "acked"
    ? `${a.correlation_id} acked by ${a.to_name}${a.reply === null ? " (no reply text)" : `. Reply:\n${a.reply}`}`
    : `${a.correlation_id} still open (${a.state}) after ${waitedS}s; wait again or carry on, the reply arrives as a message`

export const schedulesText = (schedules: ReadonlyArray<Schedule>) =>
  schedules.length === 0
    ? "no schedules"
    : [
      `${schedules.length} schedule(s): id\tkind\tfrom\tto\twhen\tnext (UTC)\ttext\tlast error`,
      ...schedules.map((s) =>
        [
          s.id,
          s.kind,
          s.owner_name,
          s.to_name,
          s.cron ?? `at ${s.at}`,
          s.next_fire_at,
          oneLine(s.text, 120),
          s.last_error === null ? "-" : oneLine(s.last_error, 120)
        ].join("\t")
      )
    ].join("\n")
