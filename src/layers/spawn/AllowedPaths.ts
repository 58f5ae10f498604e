import { Effect } from "effect"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { SpawnRefused } from "../../protocol/Errors.js"

const expandHome = (p: string) => (p === "~" || p.startsWith("~/") ? path.join(os.homedir(), p.slice(1)) : p)

const realpath = (p: string) => Effect.promise(() => fs.realpath(p).catch(() => undefined))

const isWithin = (child: string, root: string) =>
  child === root || child.startsWith(root.endsWith(path.sep) ? root : root + path.sep)

/**
 * The real path of the folder `requested`, when it lies under one of `allowed` (each resolved to
 * its real path too). Symlinks and `..` are resolved first, so neither leads out.
 */
export const allowedFolder = (requested: string, allowed: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    if (!path.isAbsolute(expandHome(requested))) {
      return yield* new SpawnRefused({ message: `path \`${requested}\` must be absolute` })
    }
    const real = yield* realpath(expandHome(requested))
    if (real === undefined) return yield* new SpawnRefused({ message: `path \`${requested}\` does not exist` })
    const stat = yield* Effect.promise(() => fs.stat(real))
    if (!stat.isDirectory()) return yield* new SpawnRefused({ message: `path \`${requested}\` is not a folder` })
    const roots = (yield* Effect.forEach(allowed, (root) => realpath(expandHome(root)))).filter((r) => r !== undefined)
    if (!roots.some((root) => isWithin(real, root))) {
      return yield* new SpawnRefused({
        message: `${real}${real === requested ? "" : ` (from ${requested})`} is outside daemon.spawn.allowed_paths (${
          allowed.join(", ")
        })`
      })
    }
    return real
  })
