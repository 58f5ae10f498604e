import { readdirSync } from "node:fs"
import * as path from "node:path"

/** Runs every bench/*.ts that exports `run()`, one after the other (`npm run bench`). */
const dir = import.meta.dirname
for (const file of readdirSync(dir).filter((f) => f.endsWith(".ts") && f !== "run.ts").sort()) {
  const mod = (await import(path.join(dir, file))) as { run?: () => Promise<unknown> }
  if (typeof mod.run !== "function") continue
  console.log(`\n== ${file}`)
  await mod.run()
}
