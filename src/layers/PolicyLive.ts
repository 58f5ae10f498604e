import { Effect, Layer, Runtime } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { Config } from "../services/Config.js"
import { Policy, PolicyFileError } from "../services/Policy.js"
import { type LoadOutcome, makePolicyHolder } from "./policy/Holder.js"

export const POLICY_FILE = "policy.yaml"
const SETTLE_MS = 25

/** policy.yaml's text, undefined when there is none; a file others may read or write is refused. */
const readPolicyFile = (file: string): { readonly text: string | undefined } | { readonly refused: string } => {
  let stat: fs.Stats
  try {
    stat = fs.statSync(file)
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return { text: undefined }
    return { refused: `cannot read it (${(e as Error).message})` }
  }
  const mode = stat.mode & 0o777
  if ((mode & 0o077) !== 0) return { refused: `mode ${mode.toString(8)} lets other users read it; chmod 600 it` }
  try {
    return { text: fs.readFileSync(file, "utf8") }
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return { text: undefined }
    return { refused: `cannot read it (${(e as Error).message})` }
  }
}

/**
 * The access rules from `$REPOWIRE_HOME/policy.yaml`. An invalid file at start-up stops the
 * daemon with its line and reason. Later changes are picked up by a watcher on the folder
 * (so an editor's or a script's atomic rename is seen); an invalid change keeps the rules in
 * force and shows in GET /health.
 */
export const PolicyLive = Layer.scoped(
  Policy,
  Effect.gen(function*() {
    const { paths } = yield* Config
    const file = path.join(paths.home, POLICY_FILE)
    const holder = makePolicyHolder(file)
    const runFork = Runtime.runFork(yield* Effect.runtime<never>())

    const reload = (): LoadOutcome => {
      const read = readPolicyFile(file)
      return "refused" in read ? holder.refuse(read.refused) : holder.load(read.text)
    }

    const first = reload()
    if (first._tag === "Invalid") return yield* new PolicyFileError({ message: first.message })
    if (first._tag === "Loaded") yield* Effect.logInfo(`access rules: ${first.rules} rule(s) from ${file}`)

    let timer: NodeJS.Timeout | undefined
    const changed = () => {
      const outcome = reload()
      runFork(
        outcome._tag === "Invalid"
          ? Effect.logWarning(`access rules unchanged: ${outcome.message}`)
          : Effect.logInfo(
            outcome._tag === "Loaded" ? `access rules reloaded: ${outcome.rules} rule(s)` : "access rules removed"
          )
      )
    }
    yield* Effect.acquireRelease(
      Effect.sync(() => {
        try {
          return fs.watch(paths.home, { persistent: false }, (_event, name) => {
            if (name !== null && name !== POLICY_FILE) return
            // A write arrives as several events: read once they settle.
            if (timer !== undefined) clearTimeout(timer)
            timer = setTimeout(changed, SETTLE_MS)
          })
        } catch {
          return undefined
        }
      }),
      (watcher) =>
        Effect.sync(() => {
          if (timer !== undefined) clearTimeout(timer)
          watcher?.close()
        })
    )
    return holder.shape
  })
)

/** A fixed policy from text, for tests; an invalid text is a defect. */
export const PolicyMemory = (text: string | undefined, file = POLICY_FILE) => {
  const holder = makePolicyHolder(file)
  const outcome = holder.load(text)
  if (outcome._tag === "Invalid") throw new Error(outcome.message)
  return Layer.succeed(Policy, holder.shape)
}
