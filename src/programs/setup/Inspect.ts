import * as fs from "node:fs"
import { detect, type Integration } from "./Integrations.js"

export interface IntegrationStatus {
  readonly backend: string
  readonly label: string
  readonly detected: boolean
  readonly files: ReadonlyArray<
    { readonly path: string; readonly state: "installed" | "missing" | "unreadable"; readonly detail?: string }
  >
  readonly support: string
}

/** What setup installed, per runtime and file, read from the files themselves. */
export const inspect = (
  all: ReadonlyArray<Integration>,
  env: NodeJS.ProcessEnv = process.env
): ReadonlyArray<IntegrationStatus> =>
  all.map((i) => ({
    backend: i.backend,
    label: i.label,
    detected: detect(i, env),
    support: i.support,
    files: i.files.filter((f) => !f.displaced || fs.existsSync(f.path)).map((f) => {
      let text: string
      try {
        text = fs.readFileSync(f.path, "utf8")
      } catch {
        return { path: f.path, state: "missing" as const }
      }
      try {
        f.check(text)
      } catch (e) {
        return { path: f.path, state: "unreadable" as const, detail: e instanceof Error ? e.message : String(e) }
      }
      if (f.installed(text)) return { path: f.path, state: "installed" as const }
      const foreign = f.foreign?.(text) ?? []
      return {
        path: f.path,
        state: "missing" as const,
        ...(foreign.length > 0 ? { detail: `another repowire's entries: ${foreign.join("; ")}` } : {})
      }
    })
  }))
