import * as fs from "node:fs"
import * as path from "node:path"
import { binPath, DAEMON_NODE_FLAGS } from "../daemon/Launcher.js"

/**
 * `$REPOWIRE_HOME/bin/repowire`: the one command agents' configs call. setup (re)writes it to
 * exec this install's node and dist/bin.mjs, so an upgrade in place needs nothing and a moved
 * install needs only `repowire setup` (or any `repowire` command) run from the new place. When
 * the install it names is gone, it falls back to another repowire bundle on PATH.
 */
export const shimPath = (home: string) => path.join(home, "bin", "repowire")

export interface ShimTarget {
  readonly node: string
  readonly bin: string
}

const sq = (s: string) => `'${s.replace(/'/g, "'\\''")}'`

export const currentTarget = (): ShimTarget => {
  const bin = binPath()
  return { node: process.execPath, bin: fs.existsSync(bin) ? fs.realpathSync(bin) : bin }
}

export const shimText = (home: string, target: ShimTarget): string =>
  `#!/bin/sh
# repowire: written by \`repowire setup\` (rewritten on each run), removed by \`repowire uninstall\`.
# Agents' configs call this file, so they survive an upgrade or a move of the install.
node=${sq(target.node)}
bin=${sq(target.bin)}
export REPOWIRE_HOME="\${REPOWIRE_HOME:-${home.replace(/(["$\`\\])/g, "\\$1")}}"
if [ ! -f "$bin" ]; then
  # That install is gone: use another repowire bundle on PATH (never upstream's, never this file).
  IFS=:
  for d in $PATH; do
    case "$(readlink -f "$d/repowire" 2>/dev/null)" in
      */dist/bin.mjs) exec "$d/repowire" "$@" ;;
    esac
  done
  echo "repowire: $bin is gone; run \\\`repowire setup\\\` from the current install" >&2
  exit 127
fi
[ -x "$node" ] || node=node
if [ "$1" = serve ]; then
  exec "$node" ${DAEMON_NODE_FLAGS.join(" ")} "$bin" "$@"
fi
exec "$node" "$bin" "$@"
`

/** The node and bundle a shim execs, read back from its text. */
export const readShimTarget = (text: string): ShimTarget | undefined => {
  const value = (name: string) => {
    const m = new RegExp(`^${name}='((?:[^']|'\\\\'')*)'$`, "m").exec(text)
    return m ? m[1]!.replace(/'\\''/g, "'") : undefined
  }
  const node = value("node")
  const bin = value("bin")
  return node !== undefined && bin !== undefined ? { node, bin } : undefined
}

export type ShimState =
  | { readonly state: "ok"; readonly target: ShimTarget }
  | { readonly state: "missing" }
  | { readonly state: "broken"; readonly detail: string }

export const shimState = (home: string): ShimState => {
  let text: string
  try {
    text = fs.readFileSync(shimPath(home), "utf8")
  } catch {
    return { state: "missing" }
  }
  const target = readShimTarget(text)
  if (target === undefined) return { state: "broken", detail: `${shimPath(home)} is not repowire's shim` }
  if (!fs.existsSync(target.bin)) {
    return { state: "broken", detail: `${shimPath(home)} runs ${target.bin}, which is gone` }
  }
  try {
    fs.accessSync(shimPath(home), fs.constants.X_OK)
  } catch {
    return { state: "broken", detail: `${shimPath(home)} is not executable` }
  }
  return { state: "ok", target }
}

/** Writes the shim for this install; true when it changed. */
export const writeShim = (home: string, target: ShimTarget = currentTarget()): boolean => {
  const file = shimPath(home)
  const text = shimText(home, target)
  try {
    if (fs.readFileSync(file, "utf8") === text) return false
  } catch {
    // not there yet
  }
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 })
  const tmp = `${file}.${process.pid}.tmp`
  fs.writeFileSync(tmp, text, { mode: 0o755 })
  fs.renameSync(tmp, file)
  return true
}

export const removeShim = (home: string): boolean => {
  const file = shimPath(home)
  if (!fs.existsSync(file)) return false
  fs.rmSync(file, { force: true })
  try {
    fs.rmdirSync(path.dirname(file))
  } catch {
    // something else lives there
  }
  return true
}

/**
 * Any `repowire` command run from a real install repairs a shim whose install is gone, so a
 * moved install heals itself without a second setup. Cheap: one read when the shim is fine.
 */
export const repairShim = (home: string): boolean => {
  const state = shimState(home)
  if (state.state !== "broken") return false
  const target = currentTarget()
  return fs.existsSync(target.bin) ? writeShim(home, target) : false
}
