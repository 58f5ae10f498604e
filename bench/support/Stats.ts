export const percentile = (values: ReadonlyArray<number>, p: number) => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN
}

export const median = (values: ReadonlyArray<number>) => percentile(values, 50)

export const ms = (n: number) => `${n.toFixed(2)} ms`

export const ratio = (value: number, baseline: number) => `${(value / baseline).toFixed(2)}×`

export const sleep = (msec: number) => new Promise((r) => setTimeout(r, msec))

export const report = (title: string, rows: ReadonlyArray<readonly [string, string]>) => {
  console.log(`\n## ${title}`)
  const width = Math.max(...rows.map(([k]) => k.length))
  for (const [k, v] of rows) console.log(`  ${k.padEnd(width)}  ${v}`)
}
