/** The text/event-stream format (HTML §9.2.6), fed in pieces as the body arrives. */
export class SseParser {
  private buffer = ""
  private type = ""
  private data: Array<string> = []
  private lastId = ""

  constructor(private readonly dispatch: (type: string, data: string, lastEventId: string) => void) {}

  push(text: string): void {
    this.buffer += text
    const lines = this.buffer.split(/\r\n|\r|\n/)
    // The last piece has no line end yet (a lone \r at the end could still become \r\n).
    this.buffer = lines.pop() ?? ""
    for (const line of lines) this.line(line)
  }

  private line(line: string) {
    if (line === "") {
      if (this.data.length > 0) {
        this.dispatch(this.type === "" ? "message" : this.type, this.data.join("\n"), this.lastId)
      }
      this.type = ""
      this.data = []
      return
    }
    if (line.startsWith(":")) return
    const colon = line.indexOf(":")
    const field = colon === -1 ? line : line.slice(0, colon)
    let value = colon === -1 ? "" : line.slice(colon + 1)
    if (value.startsWith(" ")) value = value.slice(1)
    if (field === "event") this.type = value
    else if (field === "data") this.data.push(value)
    else if (field === "id" && !value.includes("\0")) this.lastId = value
  }
}
