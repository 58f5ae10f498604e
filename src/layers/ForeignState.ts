import BetterSqlite from "better-sqlite3"
import * as fs from "node:fs"

/**
 * A state.db that is not ours (upstream repowire's, another schema: no repowire_migrations
 * table) is renamed to `state.db.upstream-<time>`, with its WAL files, so the daemon starts
 * fresh instead of failing its first migration. Nothing in it is read or changed.
 * Returns the new name, or undefined when the file is ours, absent, or not a database at all
 * (then the migrator reports it as before).
 */
export const moveAsideForeignState = (filename: string, now: Date = new Date()): string | undefined => {
  if (!fs.existsSync(filename)) return undefined
  let foreign = false
  try {
    const db = new BetterSqlite(filename, { readonly: true, fileMustExist: true })
    try {
      const tables =
        (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'").all() as Array<
          { name: string }
        >)
          .map((r) => r.name)
      foreign = tables.length > 0 && !tables.includes("repowire_migrations")
    } finally {
      db.close()
    }
  } catch {
    return undefined
  }
  if (!foreign) return undefined
  const target = `${filename}.upstream-${now.toISOString().replace(/[:.]/g, "-")}`
  fs.renameSync(filename, target)
  for (const suffix of ["-wal", "-shm"]) {
    if (fs.existsSync(filename + suffix)) fs.renameSync(filename + suffix, target + suffix)
  }
  return target
}

/** The state files moved aside so far, for `repowire doctor`. */
export const movedAsideStates = (stateDb: string): ReadonlyArray<string> => {
  const dir = stateDb.slice(0, stateDb.lastIndexOf("/"))
  const base = stateDb.slice(stateDb.lastIndexOf("/") + 1)
  try {
    return fs.readdirSync(dir).filter((n) => n.startsWith(`${base}.upstream-`) && !/-(wal|shm)$/.test(n)).map((n) =>
      `${dir}/${n}`
    )
  } catch {
    return []
  }
}
