/** The text/event-stream format (HTML §9.2.6), fed in pieces as the body arrives. */
export class SseParser {
  private buffer = ""
  private type = ""
  private data: Array<string> = []
  private lastId = ""

  constructor(private readonly dispatch: (type: string, data: string, lastEventId: string) => void) {}

  push(text: string): void {
    this.buffer += text
    // A \r at the very end may be the first half of a \r\n: it waits for the next piece.
    const held = this.buffer.endsWith("\r") ? "\r" : ""
    const lines = this.buffer.slice(0, this.buffer.length - held.length).split(/\r\n|\r|\n/)
    // The last piece has no line end yet.
    this.buffer = (lines.pop() ?? "") + held
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
