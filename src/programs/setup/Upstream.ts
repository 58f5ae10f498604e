import * as path from "node:path"
import type { Json } from "./JsonEdit.js"

/**
 * What upstream repowire (the Python and Go releases) writes into agents' configs, so setup can
 * take it over: its hook commands (`repowire hook session|prompt|stop|notification|pretooluse`,
 * run bare, through `uv run`/`uvx`/`python -m repowire`, or a Go build's path), the Claude Code
 * channel server entry, and its OpenCode plugin (repowire.ts).
 */

/** A hook command of repowire's, any version: `… repowire hook <event> …` or `… dist/bin.mjs hook …`. */
const REPOWIRE_HOOK = /(?:\brepowire(?:\.exe)?|\/dist\/bin\.mjs)['"]?\s+hook\s+[A-Za-z_-]+/

export const isRepowireHookCommand = (command: string) => REPOWIRE_HOOK.test(command)

/** MCP server names only upstream writes (Claude Code's channel transport, run by bun). */
export const UPSTREAM_MCP_NAMES: ReadonlyArray<string> = ["repowire-channel"]

/** Upstream's OpenCode plugin: it would load beside ours and speak upstream's protocol. */
export const upstreamPluginFiles = (home: string): ReadonlyArray<string> => [
  path.join(home, ".config", "opencode", "plugin", "repowire.ts"),
  path.join(home, ".config", "opencode", "plugins", "repowire.ts"),
  path.join(home, ".opencode", "plugin", "repowire.ts")
]

type JsonObject = { [k: string]: Json }
const isObject = (u: unknown): u is JsonObject => typeof u === "object" && u !== null && !Array.isArray(u)

const hookCommandsOf = (group: Json): ReadonlyArray<string> =>
  isObject(group) && Array.isArray(group.hooks)
    ? group.hooks.flatMap((h) => (isObject(h) && typeof h.command === "string" ? [h.command] : []))
    : []

/** repowire hook commands in a `{hooks: {Event: [{hooks: [{command}]}]}}` document that are not in `keep`. */
export const foreignHooks = (doc: JsonObject, keep: ReadonlyArray<string>): ReadonlyArray<string> =>
  isObject(doc.hooks)
    ? Object.entries(doc.hooks).flatMap(([event, list]) =>
      Array.isArray(list)
        ? list.flatMap(hookCommandsOf).filter((c) => isRepowireHookCommand(c) && !keep.includes(c)).map((c) =>
          `${event}: ${c}`
        )
        : []
    )
    : []

/** Removes those hook commands (and groups and events left empty). */
export const stripForeignHooks = (doc: JsonObject, keep: ReadonlyArray<string>): JsonObject => {
  if (!isObject(doc.hooks)) return doc
  const out = structuredClone(doc)
  const section = out.hooks as JsonObject
  for (const [event, list] of Object.entries(section)) {
    if (!Array.isArray(list)) continue
    const kept = list.flatMap((g): Array<Json> => {
      if (!isObject(g) || !Array.isArray(g.hooks)) return [g]
      const rest = g.hooks.filter((h) =>
        !(isObject(h) && typeof h.command === "string" && isRepowireHookCommand(h.command) && !keep.includes(h.command))
      )
      if (rest.length === g.hooks.length) return [g]
      return rest.length === 0 ? [] : [{ ...g, hooks: rest }]
    })
    if (kept.length === 0) delete section[event]
    else section[event] = kept
  }
  if (Object.keys(section).length === 0) delete out.hooks
  return out
}

export const foreignEntries = (doc: JsonObject, section: string): ReadonlyArray<string> => {
  const map = doc[section]
  return isObject(map) ? UPSTREAM_MCP_NAMES.filter((n) => n in map).map((n) => `${section}.${n}`) : []
}

export const stripForeignEntries = (doc: JsonObject, section: string): JsonObject => {
  if (foreignEntries(doc, section).length === 0) return doc
  const out = structuredClone(doc)
  const map = out[section] as JsonObject
  for (const n of UPSTREAM_MCP_NAMES) delete map[n]
  if (Object.keys(map).length === 0) delete out[section]
  return out
}
