import * as fs from "node:fs"
import * as path from "node:path"
import { detect, type Integration, type ManagedFile, type PlannedText } from "./Integrations.js"
import { ConfigParseError, jsonEqual } from "./JsonEdit.js"
import { TomlParseError } from "./TomlBlock.js"

/** What setup/uninstall will do to one file. */
export interface FileChange {
  readonly integration: Integration
  readonly file: ManagedFile
  readonly before: string | null
  /** null: the file is deleted. */
  readonly after: string | null
}

export interface Planned {
  readonly changes: ReadonlyArray<FileChange>
  readonly unchanged: ReadonlyArray<{ readonly integration: Integration; readonly file: ManagedFile }>
  readonly errors: ReadonlyArray<string>
  readonly skipped: ReadonlyArray<Integration>
}

/** Per file, the bytes it had before the first setup, so uninstall can give them back exactly. */
export interface SetupState {
  readonly files: Record<string, { readonly original: string | null }>
  /** config.yaml keys setup changed, with the value each had before. */
  readonly config?: ReadonlyArray<{
    readonly keyPath: ReadonlyArray<string>
    /** null: the key was not in the file. */
    readonly previous: { readonly value: unknown } | null
  }>
  /** Files where setup replaced another repowire's entries (upstream's), with a copy of each. */
  readonly takeover?: ReadonlyArray<{
    readonly file: string
    readonly backup: string
    readonly entries: ReadonlyArray<string>
    readonly at: string
  }>
}

export const stateFile = (home: string) => path.join(home, "setup-state.json")

export const readState = (home: string): SetupState => {
  try {
    const parsed = JSON.parse(fs.readFileSync(stateFile(home), "utf8")) as SetupState
    return typeof parsed.files === "object" && parsed.files !== null ? parsed : { files: {} }
  } catch {
    return { files: {} }
  }
}

export const writeState = (home: string, state: SetupState) => {
  fs.mkdirSync(home, { recursive: true, mode: 0o700 })
  if (
    Object.keys(state.files).length === 0 && (state.config ?? []).length === 0 && (state.takeover ?? []).length === 0
  ) fs.rmSync(stateFile(home), { force: true })
  else fs.writeFileSync(stateFile(home), JSON.stringify(state, null, 2) + "\n", { mode: 0o600 })
}

const readText = (file: string): string | null => {
  try {
    return fs.readFileSync(file, "utf8")
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return null
    throw e
  }
}

const describe = (e: unknown) =>
  e instanceof ConfigParseError || e instanceof TomlParseError
    ? e.message
    : `${e instanceof Error ? e.message : String(e)}`

/**
 * Every file is planned before any is written; a file may depend on what an earlier one of its
 * integration will hold (Codex's config.toml trusts the hooks in hooks.json).
 */
const plan = (
  list: ReadonlyArray<Integration>,
  step: (file: ManagedFile, text: string | null, planned: PlannedText) => string | null
): Omit<Planned, "skipped"> => {
  const changes: Array<FileChange> = []
  const unchanged: Array<{ integration: Integration; file: ManagedFile }> = []
  const errors: Array<string> = []
  const afters = new Map<string, string | null>()
  const planned: PlannedText = (file) => (afters.has(file) ? afters.get(file)! : readText(file))
  for (const integration of list) {
    for (const file of integration.files) {
      try {
        const before = readText(file.path)
        const after = step(file, before, planned)
        afters.set(file.path, after)
        if (after === before) unchanged.push({ integration, file })
        else changes.push({ integration, file, before, after })
      } catch (e) {
        errors.push(describe(e))
      }
    }
  }
  return { changes, unchanged, errors }
}

export const planSetup = (all: ReadonlyArray<Integration>, env: NodeJS.ProcessEnv = process.env): Planned => {
  const found = all.filter((i) => detect(i, env))
  return {
    ...plan(found, (file, text, planned) => {
      if (text === null && file.displaced) return null
      if (text !== null) file.check(text)
      return file.add(text ?? "", planned)
    }),
    skipped: all.filter((i) => !found.includes(i))
  }
}

const emptyish = (text: string) => text.trim() === "" || text.trim() === "{}"

export const planUninstall = (all: ReadonlyArray<Integration>, home: string): Planned => {
  const state = readState(home)
  return {
    ...plan(all, (file, text, planned) => {
      if (file.displaced) return text ?? state.files[file.path]?.original ?? null
      if (text === null) return null
      if (file.owned) return file.installed(text) ? null : text
      file.check(text)
      const removed = file.remove(text)
      if (removed === text) return text
      if (!(file.path in state.files)) return removed
      const original = state.files[file.path]!.original
      // Unchanged since setup: give back the exact bytes it had (or no file at all).
      const untouched = (() => {
        try {
          const setUp = file.add(original ?? "", planned)
          return setUp === text || (setUp !== null && jsonEqual(JSON.parse(setUp), JSON.parse(text)))
        } catch {
          return false
        }
      })()
      if (untouched) return original
      return original === null && emptyish(removed) ? null : removed
    }),
    skipped: []
  }
}

export class PlanRefused extends Error {}

/**
 * All or nothing: a plan with an error writes nothing; otherwise every new text goes to a
 * temporary file next to its target first, and only when all are written are they renamed
 * into place (a failed write removes the temporaries and changes nothing).
 */
const writeAll = (writes: ReadonlyArray<{ readonly file: string; readonly text: string | null }>) => {
  const staged: Array<{ file: string; tmp: string | null }> = []
  try {
    for (const w of writes) {
      if (w.text === null) {
        staged.push({ file: w.file, tmp: null })
        continue
      }
      fs.mkdirSync(path.dirname(w.file), { recursive: true })
      let mode = 0o600
      try {
        mode = fs.statSync(w.file).mode & 0o777
      } catch {
        // a new file
      }
      const tmp = `${w.file}.repowire-${process.pid}.tmp`
      fs.writeFileSync(tmp, w.text, { mode })
      staged.push({ file: w.file, tmp })
    }
  } catch (e) {
    for (const s of staged) if (s.tmp !== null) fs.rmSync(s.tmp, { force: true })
    throw e
  }
  for (const s of staged) {
    if (s.tmp === null) fs.rmSync(s.file, { force: true })
    else fs.renameSync(s.tmp, s.file)
  }
}

const refuseErrors = (planned: Planned) => {
  if (planned.errors.length > 0) throw new PlanRefused(`nothing was changed: ${planned.errors.join("; ")}`)
}

/** A copy of a file whose upstream entries setup is about to replace, under $REPOWIRE_HOME/backups/. */
const backUp = (home: string, file: string, text: string, at: string): string => {
  const dir = path.join(home, "backups", at.replace(/[:.]/g, "-"))
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 })
  const copy = path.join(dir, file.replace(/^[/\\]+/, "").replace(/[/\\]/g, "__"))
  fs.writeFileSync(copy, text, { mode: 0o600 })
  return copy
}

export const applySetup = (planned: Planned, home: string, now: Date = new Date()) => {
  refuseErrors(planned)
  const state = readState(home)
  const files = { ...state.files }
  const takeover = [...(state.takeover ?? [])]
  const at = now.toISOString()
  for (const c of planned.changes) {
    if (!(c.file.path in files)) files[c.file.path] = { original: c.before }
    const entries = c.before === null ? [] : c.file.foreign?.(c.before) ?? []
    if (c.before !== null && entries.length > 0) {
      takeover.push({ file: c.file.path, backup: backUp(home, c.file.path, c.before, at), entries, at })
    }
  }
  writeAll(planned.changes.map((c) => ({ file: c.file.path, text: c.after })))
  writeState(home, { ...state, files, ...(takeover.length > 0 ? { takeover } : {}) })
}

export const applyUninstall = (planned: Planned, home: string) => {
  refuseErrors(planned)
  const state = readState(home)
  const files = { ...state.files }
  writeAll(planned.changes.map((c) => ({ file: c.file.path, text: c.after })))
  for (const c of planned.changes) delete files[c.file.path]
  for (const u of planned.unchanged) delete files[u.file.path]
  const restored = new Set(planned.changes.map((c) => c.file.path))
  const takeover = (state.takeover ?? []).filter((t) => !restored.has(t.file))
  writeState(home, {
    files,
    ...(state.config ? { config: state.config } : {}),
    ...(takeover.length > 0 ? { takeover } : {})
  })
}
