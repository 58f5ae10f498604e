/** A compact unified-style diff: the changed middle of two texts with 3 lines of context. */
export const diffText = (file: string, before: string | null, after: string | null): string => {
  const a = before === null || before === "" ? [] : before.replace(/\n$/, "").split("\n")
  const b = after === null || after === "" ? [] : after.replace(/\n$/, "").split("\n")
  let start = 0
  while (start < a.length && start < b.length && a[start] === b[start]) start++
  let endA = a.length
  let endB = b.length
  while (endA > start && endB > start && a[endA - 1] === b[endB - 1]) {
    endA--
    endB--
  }
  const from = Math.max(0, start - 3)
  const header = [`--- ${before === null ? "/dev/null" : file}`, `+++ ${after === null ? "/dev/null" : file}`]
  const hunk = `@@ -${from + 1},${Math.min(a.length, endA + 3) - from} +${from + 1},${
    Math.min(b.length, endB + 3) - from
  } @@`
  return [
    ...header,
    hunk,
    ...a.slice(from, start).map((l) => ` ${l}`),
    ...a.slice(start, endA).map((l) => `-${l}`),
    ...b.slice(start, endB).map((l) => `+${l}`),
    ...a.slice(endA, Math.min(a.length, endA + 3)).map((l) => ` ${l}`)
  ].join("\n")
}
