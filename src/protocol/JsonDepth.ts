// No imports: the hook, which starts on every tool call, uses this without loading effect.

/**
 * How deeply JSON may nest at any way in. Schema error messages, `JSON.stringify` and most
 * formatters recurse over a value, and a few thousand levels (a 6 KB frame) overflow the stack;
 * no message of ours nests past a handful of levels, so deeper input is refused unread.
 */
export const MAX_JSON_DEPTH = 64

const OPEN_BRACE = 0x7b
const OPEN_BRACKET = 0x5b
const CLOSE_BRACE = 0x7d
const CLOSE_BRACKET = 0x5d
const QUOTE = 0x22
const BACKSLASH = 0x5c

/** Whether the nesting of `[` and `{` in a JSON text (outside its strings) stays within `max`. */
export const jsonDepthWithin = (text: string, max: number = MAX_JSON_DEPTH): boolean => {
  let depth = 0
  let inString = false
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (inString) {
      if (c === BACKSLASH) i++
      else if (c === QUOTE) inString = false
    } else if (c === QUOTE) {
      inString = true
    } else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      if (++depth > max) return false
    } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
      depth--
    }
  }
  return true
}

export type BoundedJson =
  | { readonly ok: true; readonly value: unknown }
  | { readonly ok: false; readonly reason: string }

export const tooDeep = (max: number = MAX_JSON_DEPTH) => `JSON nested deeper than ${max} levels`

/** JSON.parse, refusing text that nests deeper than `maxDepth` before parsing it. */
export const parseJsonBounded = (text: string, maxDepth: number = MAX_JSON_DEPTH): BoundedJson => {
  if (!jsonDepthWithin(text, maxDepth)) return { ok: false, reason: tooDeep(maxDepth) }
  try {
    return { ok: true, value: JSON.parse(text) }
  } catch {
    return { ok: false, reason: "not valid JSON" }
  }
}

const MAX_MESSAGE = 300

/** An error message cut to a length a response or a close reason can carry. */
export const boundedMessage = (message: string, max: number = MAX_MESSAGE) =>
  message.length <= max ? message : `${message.slice(0, max - 1)}…`
