/** JSON config edits that keep everything else in the file. */
export type Json = null | boolean | number | string | ReadonlyArray<Json> | { [k: string]: Json }
type JsonObject = { [k: string]: Json }

export class ConfigParseError extends Error {}

export const parseJsonConfig = (file: string, text: string): JsonObject => {
  if (text.trim() === "") return {}
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (e) {
    throw new ConfigParseError(
      `${file} is not valid JSON (${e instanceof Error ? e.message : String(e)}); left untouched`
    )
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new ConfigParseError(`${file} does not hold a JSON object; left untouched`)
  }
  return value as JsonObject
}

/** The file's own indentation, so a rewrite changes only what setup adds. */
export const detectIndent = (text: string): string | number => {
  const m = /^([ \t]+)\S/m.exec(text)
  return m ? m[1]! : 2
}

export const serializeJson = (value: Json, like: string) =>
  JSON.stringify(value, null, detectIndent(like)) + (like === "" || like.endsWith("\n") ? "\n" : "")

const isObject = (u: unknown): u is JsonObject => typeof u === "object" && u !== null && !Array.isArray(u)

export interface HookCommand {
  readonly event: string
  readonly command: string
  readonly matcher?: string
  readonly timeout?: number
  readonly name?: string
}

const hookEntry = (h: HookCommand): JsonObject => ({
  type: "command",
  command: h.command,
  ...(h.name !== undefined ? { name: h.name } : {}),
  ...(h.timeout !== undefined ? { timeout: h.timeout } : {})
})

const groupHasCommand = (group: unknown, command: string) =>
  isObject(group) && Array.isArray(group.hooks) &&
  group.hooks.some((h) => isObject(h) && h.command === command)

/** `{hooks: {Event: [{matcher?, hooks: [{type: "command", command}]}]}}`, the Claude Code / Codex / Gemini shape. */
export const addHooks = (doc: JsonObject, hooks: ReadonlyArray<HookCommand>): JsonObject => {
  const out = structuredClone(doc)
  const section = isObject(out.hooks) ? out.hooks : (out.hooks = {})
  for (const h of hooks) {
    const list = Array.isArray(section[h.event]) ? [...(section[h.event] as ReadonlyArray<Json>)] : []
    if (list.some((g) => groupHasCommand(g, h.command))) continue
    list.push({ ...(h.matcher !== undefined ? { matcher: h.matcher } : {}), hooks: [hookEntry(h)] })
    section[h.event] = list
  }
  return out
}

export const removeHooks = (doc: JsonObject, hooks: ReadonlyArray<HookCommand>): JsonObject => {
  const out = structuredClone(doc)
  if (!isObject(out.hooks)) return out
  const section = out.hooks
  for (const h of hooks) {
    const list = section[h.event]
    if (!Array.isArray(list)) continue
    const kept = list.flatMap((g): Array<Json> => {
      if (!isObject(g) || !Array.isArray(g.hooks)) return [g]
      const rest = g.hooks.filter((e) => !(isObject(e) && e.command === h.command))
      if (rest.length === g.hooks.length) return [g]
      return rest.length === 0 ? [] : [{ ...g, hooks: rest }]
    })
    if (kept.length === 0) delete section[h.event]
    else section[h.event] = kept
  }
  if (Object.keys(section).length === 0) delete out.hooks
  return out
}

export const hasHooks = (doc: JsonObject, hooks: ReadonlyArray<HookCommand>) =>
  isObject(doc.hooks) && hooks.every((h) => {
    const list = (doc.hooks as JsonObject)[h.event]
    return Array.isArray(list) && list.some((g) => groupHasCommand(g, h.command))
  })

/** An entry under a map key, e.g. mcpServers.repowire. */
export const setEntry = (doc: JsonObject, section: string, name: string, value: Json): JsonObject => {
  const out = structuredClone(doc)
  const map = isObject(out[section]) ? out[section] : (out[section] = {})
  map[name] = value
  return out
}

export const removeEntry = (doc: JsonObject, section: string, name: string): JsonObject => {
  const out = structuredClone(doc)
  const map = out[section]
  if (!isObject(map) || !(name in map)) return out
  delete map[name]
  if (Object.keys(map).length === 0) delete out[section]
  return out
}

export const getEntry = (doc: JsonObject, section: string, name: string): Json | undefined => {
  const map = doc[section]
  return isObject(map) ? map[name] : undefined
}

export const jsonEqual = (a: unknown, b: unknown): boolean =>
  JSON.stringify(sortKeys(a)) === JSON.stringify(sortKeys(b))

const sortKeys = (u: unknown): unknown =>
  Array.isArray(u)
    ? u.map(sortKeys)
    : isObject(u)
    ? Object.fromEntries(Object.keys(u).sort().map((k) => [k, sortKeys(u[k])]))
    : u
