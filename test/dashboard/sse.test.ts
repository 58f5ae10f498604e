import { assert, describe, it } from "@effect/vitest"
import { SseParser } from "../../dashboard/src/sealed/sse.js"

// The sealed EventSource parses the event stream itself (the browser's parser only reads a
// real connection): the same events out of the same bytes however the body is cut.

const parse = (pieces: ReadonlyArray<string>) => {
  const events: Array<[string, string, string]> = []
  const parser = new SseParser((type, data, id) => events.push([type, data, id]))
  for (const piece of pieces) parser.push(piece)
  return events
}

const STREAM =
  ": hello\n\nid: 7\nevent: ask\ndata: {\"a\":1}\n\ndata: one\r\ndata: two\r\n\r\nevent: chat\nid: 9\ndata:x\n\n"

describe("the event-stream parser", () => {
  it("reads types, ids, multi-line data and comments", () => {
    assert.deepStrictEqual(parse([STREAM]), [
      ["ask", "{\"a\":1}", "7"],
      ["message", "one\ntwo", "7"],
      ["chat", "x", "9"]
    ])
  })

  it("gives the same events whatever the pieces, even a CRLF cut in two", () => {
    const whole = parse([STREAM])
    for (let cut = 1; cut < STREAM.length; cut++) {
      assert.deepStrictEqual(parse([STREAM.slice(0, cut), STREAM.slice(cut)]), whole, `cut at ${cut}`)
    }
    assert.deepStrictEqual(parse([...STREAM]), whole)
  })

  it("dispatches nothing for an event without data, or one not yet ended by a blank line", () => {
    assert.deepStrictEqual(parse(["event: ask\n\n", "data: pending\n"]), [])
  })
})
