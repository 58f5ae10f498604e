import { parse, TomlError } from "smol-toml"

/**
 * Codex's config.toml is edited as text, so every byte of the user's stays as it was: setup
 * appends one marked block (and, when the file already has a [features] table, one marked line
 * in it), and uninstall removes exactly those lines. Validity is a real TOML parser's call
 * (smol-toml), before and after the edit: setup never writes a file Codex would refuse.
 */
export const BEGIN = "# >>> repowire (added by `repowire setup`, removed by `repowire uninstall`) >>>"
export const END = "# <<< repowire <<<"
export const LINE_MARK = "# repowire"

export class TomlParseError extends Error {}

const reason = (e: unknown) =>
  e instanceof TomlError ? `${e.message.split("\n")[0]} (line ${e.line})` : e instanceof Error ? e.message : String(e)

/** Parses the file; a file that is not TOML is refused with the parser's reason. */
export const parseToml = (file: string, text: string): Record<string, unknown> => {
  try {
    return parse(text) as Record<string, unknown>
  } catch (e) {
    throw new TomlParseError(`${file} is not valid TOML: ${reason(e)}; left untouched`)
  }
}

export const checkToml = (file: string, text: string): void => void parseToml(file, text)

/** A table header line and its key path, e.g. `[projects."/abs/path"]` → ["projects", "/abs/path"]. */
interface Header {
  readonly line: number
  readonly path: ReadonlyArray<string>
}

const headerPath = (line: string): ReadonlyArray<string> | undefined => {
  const trimmed = line.trim()
  if (!trimmed.startsWith("[")) return undefined
  const table = trimmed.startsWith("[[") ? trimmed.replace(/^\[\[/, "[").replace(/\]\](\s*(#.*)?)$/, "]$1") : trimmed
  try {
    const path: Array<string> = []
    let node = parse(table) as Record<string, unknown>
    for (;;) {
      const keys = Object.keys(node)
      if (keys.length !== 1) return path.length > 0 ? path : undefined
      path.push(keys[0]!)
      const next = node[keys[0]!]
      if (typeof next !== "object" || next === null || Array.isArray(next) || Object.keys(next).length === 0) {
        return path
      }
      node = next as Record<string, unknown>
    }
  } catch {
    return undefined
  }
}

/** Header lines outside multi-line strings (a line inside an array never parses as a header). */
export const headers = (lines: ReadonlyArray<string>): ReadonlyArray<Header> => {
  const out: Array<Header> = []
  let inString: string | null = null
  lines.forEach((line, i) => {
    if (inString === null) {
      const path = headerPath(line)
      if (path !== undefined) out.push({ line: i, path })
    }
    for (const q of ["\"\"\"", "'''"]) {
      const count = line.split(q).length - 1
      if (count % 2 === 1 && (inString === null || inString === q)) inString = inString === null ? q : null
    }
  })
  return out
}

const startsWith = (path: ReadonlyArray<string>, prefix: ReadonlyArray<string>) =>
  prefix.length <= path.length && prefix.every((k, i) => path[i] === k)

/** Removes every table (header to the next header) whose key path starts with one of `prefixes`. */
export const removeTables = (text: string, prefixes: ReadonlyArray<ReadonlyArray<string>>): string => {
  const lines = text.split("\n")
  const found = headers(lines)
  const drop = new Set<number>()
  found.forEach((h, i) => {
    if (!prefixes.some((p) => startsWith(h.path, p))) return
    const end = found[i + 1]?.line ?? lines.length
    for (let l = h.line; l < end; l++) drop.add(l)
  })
  return drop.size === 0 ? text : lines.filter((_, i) => !drop.has(i)).join("\n")
}

const featuresHeader = /^\s*\[\s*features\s*\]\s*(#.*)?$/

export const hasBlock = (text: string) => text.includes(BEGIN)

/** Adds the block (tables in `body`) and `featureLine` under [features] unless that key is set. */
export const addBlock = (text: string, body: string, featureLine: string): string => {
  const lines = text === "" ? [] : text.replace(/\n$/, "").split("\n")
  const featureAt = lines.findIndex((l) => featuresHeader.test(l))
  const featureKey = featureLine.split("=")[0]!.trim()
  const nextHeader = headers(lines).find((h) => h.line > featureAt)?.line ?? lines.length
  const alreadySet = featureAt >= 0 &&
    lines.slice(featureAt + 1, nextHeader).some((l) => new RegExp(`^\\s*${featureKey}\\s*=`).test(l))
  let blockBody = body
  if (!alreadySet) {
    if (featureAt >= 0) lines.splice(featureAt + 1, 0, `${featureLine} ${LINE_MARK}`)
    else blockBody = `[features]\n${featureLine}\n\n${body}`
  }
  const sep = lines.length === 0 ? "" : "\n"
  return `${lines.join("\n")}${lines.length === 0 ? "" : "\n"}${sep}${BEGIN}\n${blockBody.replace(/\n$/, "")}\n${END}\n`
}

export const removeBlock = (text: string): string => {
  const lines = text.split("\n")
  const begin = lines.indexOf(BEGIN)
  const end = lines.indexOf(END)
  let out = lines
  if (begin >= 0 && end > begin) {
    // The blank line setup put before the block goes too.
    const from = begin > 0 && lines[begin - 1] === "" ? begin - 1 : begin
    out = [...lines.slice(0, from), ...lines.slice(end + 1)]
  }
  out = out.filter((l) => !l.endsWith(` ${LINE_MARK}`))
  const joined = out.join("\n")
  return joined === "\n" ? "" : joined
}
