import type { Schema } from "effect"

/** Request bodies name every field they accept: an unknown one (a typo) is an error, not ignored. */
export const strict = <S extends Schema.Schema.Any>(schema: S): S =>
  schema.annotations({ parseOptions: { onExcessProperty: "error" } }) as S
