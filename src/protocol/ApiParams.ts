import { Schema } from "effect"

/** Query and path parameters the daemon's API groups share. */

/** `?flag=true|false|1|0` as a boolean. */
export const BooleanParam = Schema.Literal("true", "false", "1", "0").pipe(
  Schema.transform(Schema.Boolean, {
    strict: true,
    decode: (s) => s === "true" || s === "1",
    encode: (b) => (b ? "true" : "false")
  })
)
export const IntParam = (min: number, max: number) =>
  Schema.NumberFromString.pipe(Schema.int(), Schema.between(min, max))

export const RefPath = Schema.Struct({ ref: Schema.String.pipe(Schema.minLength(1), Schema.maxLength(128)) })
export const IdPath = Schema.Struct({ id: Schema.String.pipe(Schema.minLength(1), Schema.maxLength(128)) })
