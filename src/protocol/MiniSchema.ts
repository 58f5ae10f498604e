/**
 * A few decoders for what hooks read: their stdin, the daemon's answers and daemon.json. Hooks
 * run on every tool call and importing `effect/Schema` costs ~0.5 s of start-up (measured), so
 * they decode with these instead. Each failure names the field, like describeParseError does
 * for Effect schemas.
 */
export type Decoded<A> = { readonly ok: true; readonly value: A } | { readonly ok: false; readonly error: string }

export type Decoder<A> = (u: unknown, path: string) => Decoded<A>

const ok = <A>(value: A): Decoded<A> => ({ ok: true, value })
const fail = (path: string, expected: string, u: unknown): Decoded<never> => ({
  ok: false,
  error: `${path === "" ? "payload" : path}: expected ${expected}, got ${shown(u)}`
})

/** A short sketch of a value: its type for objects and arrays (never walked), else its text. */
const shown = (u: unknown): string =>
  u === undefined
    ? "nothing"
    : Array.isArray(u)
    ? "an array"
    : typeof u === "object" && u !== null
    ? "an object"
    : String(JSON.stringify(u)).slice(0, 40)

export const string: Decoder<string> = (u, path) => (typeof u === "string" ? ok(u) : fail(path, "a string", u))
export const number: Decoder<number> = (u, path) => (typeof u === "number" ? ok(u) : fail(path, "a number", u))
export const boolean: Decoder<boolean> = (u, path) => (typeof u === "boolean" ? ok(u) : fail(path, "a boolean", u))
export const unknown: Decoder<unknown> = (u) => ok(u)

export const optional = <A>(d: Decoder<A>): Decoder<A | undefined> => (u, path) =>
  u === undefined || u === null ? ok(undefined) : d(u, path)

export const nullable = <A>(d: Decoder<A>): Decoder<A | null> => (u, path) => u === null ? ok(null) : d(u, path)

export const array = <A>(d: Decoder<A>): Decoder<ReadonlyArray<A>> => (u, path) => {
  if (!Array.isArray(u)) return fail(path, "an array", u)
  const out: Array<A> = []
  for (let i = 0; i < u.length; i++) {
    const r = d(u[i], `${path}[${i}]`)
    if (!r.ok) return r
    out.push(r.value)
  }
  return ok(out)
}

/** An array of which only the entries that decode are kept (a newer daemon may add kinds of entry). */
export const entries = <A>(d: Decoder<A>): Decoder<ReadonlyArray<A>> => (u, path) => {
  if (!Array.isArray(u)) return fail(path, "an array", u)
  return ok(u.flatMap((entry, i) => {
    const r = d(entry, `${path}[${i}]`)
    return r.ok ? [r.value] : []
  }))
}

export const literal = <const L extends string>(...values: ReadonlyArray<L>): Decoder<L> => (u, path) =>
  typeof u === "string" && (values as ReadonlyArray<string>).includes(u)
    ? ok(u as L)
    : fail(path, values.map((v) => JSON.stringify(v)).join(" | "), u)

type Shape = Record<string, Decoder<unknown>>
type Out<S extends Shape> = { readonly [K in keyof S]: S[K] extends Decoder<infer A> ? A : never }

/** An object with these fields; other fields are allowed (runtimes add fields over time). */
export const struct = <S extends Shape>(shape: S): Decoder<Out<S>> => (u, path) => {
  if (typeof u !== "object" || u === null || Array.isArray(u)) return fail(path, "an object", u)
  const out: Record<string, unknown> = {}
  for (const [key, decoder] of Object.entries(shape)) {
    const r = decoder((u as Record<string, unknown>)[key], path === "" ? key : `${path}.${key}`)
    if (!r.ok) return r
    if (r.value !== undefined) out[key] = r.value
  }
  return ok(out as Out<S>)
}

/**
 * `d`, checked at compile time to read every value `E` (a contract Schema's Encoded type) can
 * be: a field the contract renames or retypes fails to compile here, not at run time.
 */
export const reading = <E>() => <A>(d: Decoder<A>, ..._check: [E] extends [A] ? [] : [never]): Decoder<A> => d

export const decode = <A>(d: Decoder<A>, u: unknown): Decoded<A> => d(u, "")

/** The decoded value, or `fallback` when `u` does not decode. */
export const decodeOr = <A>(d: Decoder<A>, u: unknown, fallback: A): A => {
  const decoded = d(u, "")
  return decoded.ok ? decoded.value : fallback
}
