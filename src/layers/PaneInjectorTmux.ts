import { Effect, Layer, Schedule } from "effect"
import { execFile } from "node:child_process"
import { randomBytes } from "node:crypto"
import { InjectError, PaneInjector, type PaneTarget } from "../services/PaneInjector.js"

const tmux = (target: PaneTarget, args: ReadonlyArray<string>, input?: string) =>
  Effect.async<string, InjectError>((resume) => {
    const child = execFile(
      "tmux",
      [...(target.socket ? ["-S", target.socket] : []), ...args],
      { timeout: 5000, maxBuffer: 4 * 1024 * 1024 },
      (error, stdout, stderr) =>
        resume(
          error
            ? Effect.fail(
              new InjectError({ pane: target.pane, message: `tmux ${args[0]}: ${(stderr || error.message).trim()}` })
            )
            : Effect.succeed(stdout)
        )
    )
    if (input !== undefined) child.stdin?.end(input)
    return Effect.sync(() => child.kill())
  })

/**
 * Messages come from other peers: control characters (ESC, C1 CSI, ...) go, so a message can
 * neither end the bracketed paste early (ESC[201~) nor send keystrokes of its own.
 */
export const paneSafe = (text: string) =>
  text.replace(/\r\n?/g, "\n").replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g, "")

/** What must be visible afterwards: the first line, which names the sender and the ask id. */
const markerOf = (text: string) => text.split("\n")[0]!.trim().slice(0, 60)

/** Claude Code folds a long paste into a placeholder; seeing it also proves the paste landed. */
const landed = (screen: string, marker: string) => {
  const flat = screen.replace(/\n/g, "")
  return flat.includes(marker) || /\[Pasted text #\d+/.test(screen)
}

export const PaneInjectorTmux = Layer.sync(PaneInjector, () => {
  const locks = new Map<string, Effect.Semaphore>()
  const lockFor = (target: PaneTarget) => {
    const key = `${target.socket ?? ""}|${target.pane}`
    let lock = locks.get(key)
    if (lock === undefined) {
      lock = Effect.unsafeMakeSemaphore(1)
      locks.set(key, lock)
    }
    return lock
  }

  const paste = (target: PaneTarget, raw: string) =>
    Effect.gen(function*() {
      const text = paneSafe(raw)
      const buffer = `repowire-${randomBytes(6).toString("hex")}`
      yield* tmux(target, ["load-buffer", "-b", buffer, "-"], text)
      // -p: bracketed paste, so the agent's input box takes newlines literally; -d: drop the buffer.
      yield* tmux(target, ["paste-buffer", "-p", "-d", "-b", buffer, "-t", target.pane])
      // A TUI (Claude Code, Codex) needs a moment to take in the paste before Enter submits it.
      yield* Effect.sleep("80 millis")
      yield* tmux(target, ["send-keys", "-t", target.pane, "Enter"])
      const marker = markerOf(text)
      yield* tmux(target, ["capture-pane", "-p", "-J", "-t", target.pane, "-S", "-200"]).pipe(
        Effect.filterOrFail(
          (screen) => landed(screen, marker),
          () => new InjectError({ pane: target.pane, message: "the text did not appear in the pane" })
        ),
        Effect.retry(Schedule.spaced("20 millis").pipe(Schedule.intersect(Schedule.recurs(100))))
      )
    })

  return PaneInjector.of({
    inject: (target, text) =>
      lockFor(target).withPermits(1)(paste(target, text)).pipe(Effect.withSpan("PaneInjector.inject")),
    exists: (target) =>
      tmux(target, ["display-message", "-p", "-t", target.pane, "#{pane_id}"]).pipe(
        Effect.map((out) => out.trim() === target.pane),
        Effect.orElseSucceed(() => false)
      )
  })
})
