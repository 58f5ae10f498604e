/**
 * Codex's config.toml is edited as text: setup appends one marked block (and, when the file
 * already has a [features] table, one marked line in it), and uninstall removes exactly those
 * lines, so a round trip gives back the same bytes.
 */
export const BEGIN = "# >>> repowire (added by `repowire setup`, removed by `repowire uninstall`) >>>"
export const END = "# <<< repowire <<<"
export const LINE_MARK = "# repowire"

export class TomlParseError extends Error {}

const HEADER = /^\s*\[\[?\s*([A-Za-z0-9_."' -]+?)\s*\]\]?\s*(#.*)?$/
const KEY_VALUE = /^\s*[A-Za-z0-9_."'-]+(\s*\.\s*[A-Za-z0-9_"'-]+)*\s*=\s*\S/

/**
 * A light structural check (headers, key = value, comments, multi-line arrays and strings):
 * enough to refuse to touch a file that is clearly not TOML.
 */
export const checkToml = (file: string, text: string): void => {
  let depth = 0
  let inString: string | null = null
  text.split("\n").forEach((line, i) => {
    if (inString !== null) {
      if (line.includes(inString)) inString = null
      return
    }
    const trimmed = line.trim()
    if (depth > 0) {
      depth += (trimmed.match(/\[/g)?.length ?? 0) - (trimmed.match(/\]/g)?.length ?? 0)
      return
    }
    if (trimmed === "" || trimmed.startsWith("#") || HEADER.test(trimmed)) return
    if (!KEY_VALUE.test(trimmed)) throw new TomlParseError(`${file}:${i + 1} is not valid TOML (${trimmed.slice(0, 40)}); left untouched`)
    const value = trimmed.slice(trimmed.indexOf("=") + 1).trim()
    for (const q of ["\"\"\"", "'''"]) {
      if (value.startsWith(q) && value.indexOf(q, 3) < 0) inString = q
    }
    if (value.startsWith("[")) depth = (value.match(/\[/g)?.length ?? 0) - (value.match(/\]/g)?.length ?? 0)
  })
  if (inString !== null || depth > 0) throw new TomlParseError(`${file} ends inside an unterminated value; left untouched`)
}

const featuresHeader = /^\s*\[\s*features\s*\]\s*(#.*)?$/

export const hasBlock = (text: string) => text.includes(BEGIN)

/** Adds the block (tables in `body`) and `codex_hooks = true` under [features]. */
export const addBlock = (text: string, body: string, featureLine: string): string => {
  if (hasBlock(text)) return text
  const lines = text === "" ? [] : text.replace(/\n$/, "").split("\n")
  const featureAt = lines.findIndex((l) => featuresHeader.test(l))
  const featureKey = featureLine.split("=")[0]!.trim()
  const alreadySet = lines.some((l) => new RegExp(`^\\s*${featureKey}\\s*=`).test(l))
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
