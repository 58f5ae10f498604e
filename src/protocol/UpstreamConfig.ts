import { Schema } from "effect"
import { ConfigFile } from "./ConfigFile.js"

/**
 * Upstream repowire (Python/Go) writes its whole model into config.yaml. Such a file is read:
 * the keys that mean the same thing are kept or renamed, the others are reported once and
 * ignored. A file of ours stays strict (an unknown key is an error, a typo most likely).
 */

/** Keys only upstream writes: one of them marks the file as upstream's. */
const UPSTREAM_MARKERS: ReadonlyArray<ReadonlyArray<string>> = [
  ["peers"],
  ["telegram"],
  ["slack"],
  ["updates"],
  ["experiments"],
  ["skills"],
  ["daemon", "auto_reconnect"],
  ["daemon", "heartbeat_interval"],
  ["daemon", "prune_max_age_hours"],
  ["daemon", "description_ttl_seconds"],
  ["daemon", "peer_reap_ttl_seconds"],
  ["daemon", "stale_busy_timeout_seconds"],
  ["daemon", "delivery_queue_ttl_seconds"],
  ["daemon", "delivery_queue_max_per_peer"],
  ["logging", "file"]
]

/** Upstream key → ours, for those that mean the same thing (seconds and counts; 0 meant "off" there). */
const RENAMED: ReadonlyArray<{ readonly from: ReadonlyArray<string>; readonly to: ReadonlyArray<string> }> = [
  { from: ["daemon", "delivery_queue_ttl_seconds"], to: ["daemon", "delivery_queue", "ttl"] },
  { from: ["daemon", "delivery_queue_max_per_peer"], to: ["daemon", "delivery_queue", "max_per_peer"] },
  { from: ["daemon", "peer_reap_ttl_seconds"], to: ["daemon", "peers", "forget_after"] }
]

type Obj = Record<string, unknown>
const isObj = (u: unknown): u is Obj => typeof u === "object" && u !== null && !Array.isArray(u)

const getIn = (o: unknown, keyPath: ReadonlyArray<string>): unknown =>
  keyPath.reduce<unknown>((node, k) => (isObj(node) ? node[k] : undefined), o)

const setIn = (o: Obj, keyPath: ReadonlyArray<string>, value: unknown) => {
  let node = o
  for (const k of keyPath.slice(0, -1)) node = (isObj(node[k]) ? node[k] : (node[k] = {})) as Obj
  node[keyPath[keyPath.length - 1]!] = value
}

export const isUpstreamConfig = (raw: unknown): boolean => UPSTREAM_MARKERS.some((k) => getIn(raw, k) !== undefined)

/** Every key our schema knows, with its default: the shape an upstream file is cut down to. */
const DEFAULTS = Schema.encodeSync(ConfigFile)(Schema.decodeUnknownSync(ConfigFile)({})) as unknown

export interface Adopted {
  readonly value: unknown
  /** Upstream keys read under our names, `from → to`. */
  readonly renamed: ReadonlyArray<string>
  /** Dotted paths dropped as meaningless here. */
  readonly ignored: ReadonlyArray<string>
}

const RELAY_KEY = /^rw_[A-Za-z0-9_-]{20,}$/

/** An upstream file made into one of ours; any other value comes back as it was. */
export const adoptUpstreamConfig = (raw: unknown): Adopted => {
  if (!isObj(raw) || !isUpstreamConfig(raw)) return { value: raw, renamed: [], ignored: [] }
  const out = structuredClone(raw)
  const renamed: Array<string> = []
  const ignored: Array<string> = []
  for (const r of RENAMED) {
    const v = getIn(out, r.from)
    delete (getIn(out, r.from.slice(0, -1)) as Obj)[r.from[r.from.length - 1]!]
    if (v === undefined || v === null) continue
    if (typeof v === "number" && v > 0 && getIn(out, r.to) === undefined) {
      setIn(out, r.to, v)
      renamed.push(`${r.from.join(".")} → ${r.to.join(".")}`)
    } else ignored.push(r.from.join("."))
  }
  if (getIn(out, ["logging", "level"]) === "critical") {
    setIn(out, ["logging", "level"], "error")
    renamed.push("logging.level critical → error")
  }
  const key = getIn(out, ["relay", "api_key"])
  if (typeof key === "string" && !RELAY_KEY.test(key)) {
    // A key for upstream's hosted relay: it cannot open this relay's tunnel.
    delete (out.relay as Obj).api_key
    if (getIn(out, ["relay", "enabled"]) === true) (out.relay as Obj).enabled = false
    ignored.push("relay.api_key (upstream's relay key; register with `repowire setup --relay URL`)")
  }
  const prune = (node: Obj, known: Obj, at: string) => {
    for (const k of Object.keys(node)) {
      const here = at === "" ? k : `${at}.${k}`
      if (!(k in known)) {
        delete node[k]
        ignored.push(here)
      } else if (isObj(node[k]) && isObj(known[k])) prune(node[k], known[k], here)
    }
  }
  prune(out, DEFAULTS as Obj, "")
  return { value: out, renamed, ignored }
}
