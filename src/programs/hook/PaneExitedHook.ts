import { execFile } from "node:child_process"

/** repowire's place in tmux's pane-exited hook array (the daemon's default port): a user's own hooks stay. */
export const PANE_EXITED_HOOK_INDEX = 8377

/** A word for sh, double-quoted, to sit inside a tmux single-quoted string. */
const shWord = (s: string) => `"${s.replace(/["\\$`]/g, "\\$&")}"`

/**
 * `repowire hook pane-exited` as one sh command line; `pane` and `socket` are sh expressions.
 * None when a path holds a `'`, which a tmux single-quoted string cannot carry.
 */
export const paneExitedShell = (
  command: { readonly home: string; readonly node: string; readonly bin: string },
  pane: string,
  socket: string
): string | undefined =>
  [command.home, command.node, command.bin].some((p) => p.includes("'"))
    ? undefined
    : [
      `REPOWIRE_HOME=${shWord(command.home)}`,
      shWord(command.node),
      shWord(command.bin),
      `hook pane-exited --pane ${pane} --socket ${socket}`
    ].join(" ")

/** The tmux command for the server-wide hook: run in the background for the pane that exited. */
export const paneExitedHookCommand = (
  command: { readonly home: string; readonly node: string; readonly bin: string }
) => {
  const shell = paneExitedShell(command, `"#{hook_pane}"`, `"#{socket_path}"`)
  return shell === undefined ? undefined : `run-shell -b '${shell}'`
}

/**
 * Sets the hook on a tmux server (tmux 3.3 runs pane-exited only from the global table), at
 * its own index so setting it again changes nothing. Best effort: a failure is only reported.
 */
export const installPaneExitedHook = (
  socket: string | null,
  command: { readonly home: string; readonly node: string; readonly bin: string }
): Promise<string | undefined> =>
  new Promise((resolve) => {
    const hook = paneExitedHookCommand(command)
    if (hook === undefined) return resolve("a path holds a single quote")
    execFile(
      "tmux",
      [...(socket === null ? [] : ["-S", socket]), "set-hook", "-g", `pane-exited[${PANE_EXITED_HOOK_INDEX}]`, hook],
      { timeout: 1000 },
      (error, _stdout, stderr) => resolve(error === null ? undefined : (String(stderr).trim() || error.message))
    )
  })
