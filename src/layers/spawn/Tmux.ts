import { Data, Effect } from "effect"
import { execFile } from "node:child_process"

export class TmuxFailed extends Data.TaggedError("TmuxFailed")<{ readonly message: string }> {}

export interface TmuxWindow {
  readonly session: string
  readonly window: string
  readonly pane: string
  readonly panePid: number
  readonly socket: string
}

const FORMAT = "#{session_name}\t#{window_id}\t#{pane_id}\t#{pane_pid}\t#{socket_path}"

/** The tmux commands spawning needs, on one server: `socket` (tmux -S) or the default one. */
export const makeTmux = (socket: string | null) => {
  const run = (args: ReadonlyArray<string>) =>
    Effect.async<string, TmuxFailed>((resume) => {
      const child = execFile(
        "tmux",
        [...(socket === null ? [] : ["-S", socket]), ...args],
        { encoding: "utf8", timeout: 5000 },
        (error, stdout, stderr) =>
          resume(
            error === null
              ? Effect.succeed(stdout)
              : Effect.fail(new TmuxFailed({ message: (stderr.trim() || error.message).split("\n")[0]! }))
          )
      )
      return Effect.sync(() => child.kill())
    })

  const parse = (out: string): Effect.Effect<TmuxWindow, TmuxFailed> => {
    const [session, window, pane, pid, path] = out.trim().split("\t")
    return session && window && pane && pid && path
      ? Effect.succeed({ session, window, pane, panePid: Number(pid), socket: path })
      : Effect.fail(new TmuxFailed({ message: `unexpected answer from tmux: ${out.trim()}` }))
  }

  /** A new window running `command` in `cwd`, in `session` (created when missing). */
  const open = (options: {
    readonly session: string
    readonly name: string
    readonly cwd: string
    readonly command: string
    readonly env: Readonly<Record<string, string>>
  }) => {
    const common = [
      "-d",
      "-P",
      "-F",
      FORMAT,
      "-n",
      options.name,
      "-c",
      options.cwd,
      ...Object.entries(options.env).flatMap(([k, v]) => ["-e", `${k}=${v}`])
    ]
    const newWindow = run(["new-window", ...common, "-t", `=${options.session}:`, options.command])
    const newSession = run(["new-session", ...common, "-s", options.session, options.command])
    return run(["has-session", "-t", `=${options.session}`]).pipe(
      Effect.matchEffect({
        onSuccess: () => newWindow,
        // Two spawns may race to create the session: the loser opens a window in it.
        onFailure: () => Effect.orElse(newSession, () => newWindow)
      }),
      Effect.flatMap(parse)
    )
  }

  /** The pid running in `pane`, or undefined when the pane is gone (or the server is). */
  const panePid = (pane: string) =>
    run(["display-message", "-p", "-t", pane, "#{pane_pid}"]).pipe(
      Effect.map((out) => Number(out.trim()) || undefined),
      Effect.orElseSucceed(() => undefined)
    )

  return {
    open,
    panePid,
    /** Wakes what waits on `channel` (tmux wait-for); a signal sent before the wait is kept. */
    signal: (channel: string) => Effect.asVoid(run(["wait-for", "-S", channel])),
    killWindow: (window: string) => Effect.asVoid(run(["kill-window", "-t", window]))
  }
}

export type Tmux = ReturnType<typeof makeTmux>
