import * as fs from "node:fs"
import * as path from "node:path"
import { isRepowireHookCommand } from "./Upstream.js"

/**
 * Whether what an agent's config runs for repowire still exists: the programs named by its
 * repowire hooks and its repowire MCP entry. For `repowire doctor`.
 */

const isObject = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null && !Array.isArray(u)

/** The program a shell command line starts (its first word, unquoted). */
export const programOf = (command: string): string => {
  const m = /^\s*(?:'([^']*)'|"([^"]*)"|(\S+))/.exec(command)
  return m ? (m[1] ?? m[2] ?? m[3] ?? "") : ""
}

/** The programs a JSON config runs for repowire (hooks, MCP entries). */
export const repowirePrograms = (text: string): ReadonlyArray<string> => {
  let doc: unknown
  try {
    doc = JSON.parse(text)
  } catch {
    return []
  }
  if (!isObject(doc)) return []
  const out: Array<string> = []
  if (isObject(doc.hooks)) {
    for (const list of Object.values(doc.hooks)) {
      if (!Array.isArray(list)) continue
      for (const g of list) {
        if (!isObject(g) || !Array.isArray(g.hooks)) continue
        for (const h of g.hooks) {
          if (isObject(h) && typeof h.command === "string" && isRepowireHookCommand(h.command)) {
            out.push(programOf(h.command))
          }
        }
      }
    }
  }
  for (const section of ["mcpServers", "mcp"]) {
    const entry = isObject(doc[section]) ? (doc[section] as Record<string, unknown>).repowire : undefined
    if (!isObject(entry)) continue
    const command = Array.isArray(entry.command) ? entry.command[0] : entry.command
    if (typeof command === "string") out.push(command)
  }
  return [...new Set(out)]
}

/** A program that would start: an executable file, or a name found on PATH. */
export const runs = (program: string, env: NodeJS.ProcessEnv = process.env): boolean => {
  const executable = (file: string) => {
    try {
      fs.accessSync(file, fs.constants.X_OK)
      return fs.statSync(file).isFile()
    } catch {
      return false
    }
  }
  if (program.includes("/")) return executable(program)
  return (env.PATH ?? "").split(path.delimiter).some((d) => d !== "" && executable(path.join(d, program)))
}
