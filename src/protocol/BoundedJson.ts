import { ParseResult, Schema } from "effect"
import { MAX_JSON_DEPTH, parseJsonBounded } from "./JsonDepth.js"

/** `Schema.parseJson(schema)` with the nesting bound: the codec for JSON text at a boundary. */
export const parseJsonWithin = <A, I, R>(schema: Schema.Schema<A, I, R>, maxDepth: number = MAX_JSON_DEPTH) =>
  Schema.compose(
    Schema.transformOrFail(Schema.String, Schema.Unknown, {
      strict: true,
      decode: (text, _, ast) => {
        const parsed = parseJsonBounded(text, maxDepth)
        return parsed.ok
          ? ParseResult.succeed(parsed.value)
          : ParseResult.fail(new ParseResult.Type(ast, text.slice(0, 40), parsed.reason))
      },
      encode: (value, _, ast) =>
        ParseResult.try({
          try: () => JSON.stringify(value),
          catch: () => new ParseResult.Type(ast, undefined, "not serialisable as JSON")
        })
    }),
    schema
  )
