import * as fs from "node:fs"

const TAIL_BYTES = 256 * 1024

const textOf = (content: unknown): string | undefined => {
  if (typeof content === "string") return content
  if (!Array.isArray(content)) return undefined
  const parts = content
    .filter((c): c is { type: string; text: string } =>
      typeof c === "object" && c !== null && (c as { type?: unknown }).type === "text" &&
      typeof (c as { text?: unknown }).text === "string"
    )
    .map((c) => c.text)
  return parts.length > 0 ? parts.join("\n") : undefined
}

/** The last assistant text of a Claude Code transcript (JSONL), reading only its tail. */
export const lastAssistantText = (file: string): string | undefined => {
  let fd: number | undefined
  try {
    fd = fs.openSync(file, "r")
    const size = fs.fstatSync(fd).size
    const start = Math.max(0, size - TAIL_BYTES)
    const buffer = Buffer.alloc(size - start)
    fs.readSync(fd, buffer, 0, buffer.length, start)
    const lines = buffer.toString("utf8").split("\n").reverse()
    for (const line of lines) {
      if (!line.includes("\"assistant\"")) continue
      try {
        const entry = JSON.parse(line) as { type?: unknown; message?: { role?: unknown; content?: unknown } }
        if (entry.type !== "assistant" && entry.message?.role !== "assistant") continue
        const text = textOf(entry.message?.content)
        if (text !== undefined && text.trim() !== "") return text
      } catch {
        // a partial first line of the tail
      }
    }
    return undefined
  } catch {
    return undefined
  } finally {
    if (fd !== undefined) fs.closeSync(fd)
  }
}
