import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { execFileSync } from "node:child_process"
import * as path from "node:path"
import { PaneInjectorTmux } from "../../src/layers/PaneInjectorTmux.js"
import { PaneInjector, type PaneTarget } from "../../src/services/PaneInjector.js"
import { tempDir } from "./Harness.js"

/** A real tmux pane whose terminal echoes exactly what is typed (`cat` discards it). */
const pane = Effect.acquireRelease(
  Effect.sync(() => {
    execFileSync("sh", [path.join(import.meta.dirname, "..", "..", "scripts", "ensure-tmux.sh")])
    const socket = path.join(tempDir("rw-pane-"), "tmux.sock")
    const tmux = (...args: Array<string>) => execFileSync("tmux", ["-S", socket, ...args], { encoding: "utf8" })
    tmux("-f", "/dev/null", "new-session", "-d", "-s", "t", "-x", "200", "-y", "60", "cat > /dev/null")
    const id = tmux("list-panes", "-t", "t", "-F", "#{pane_id}").trim()
    return {
      target: { pane: id, socket } satisfies PaneTarget,
      screen: () => tmux("capture-pane", "-p", "-J", "-t", id, "-S", "-300"),
      tmux
    }
  }),
  ({ tmux }) => Effect.sync(() => void tmux("kill-server"))
)

describe("PaneInjectorTmux", () => {
  it.scopedLive("pastes whole messages, one at a time, even when injected at once", () =>
    Effect.gen(function*() {
      const { screen, target } = yield* pane
      const injector = yield* PaneInjector
      yield* Effect.all(
        [1, 2, 3, 4].map((i) => injector.inject(target, `[repowire] message ${i}:\nline a of ${i}\nline b of ${i}`)),
        { concurrency: "unbounded" }
      )
      const deadline = Date.now() + 5000
      while (!screen().includes("line b of 4\n") && Date.now() < deadline) yield* Effect.sleep("50 millis")
      const text = screen()
      for (const i of [1, 2, 3, 4]) {
        assert.match(text, new RegExp(`\\[repowire\\] message ${i}:\\nline a of ${i}\\nline b of ${i}\\n`))
      }
      assert.isTrue(yield* injector.exists(target))
      assert.isFalse(yield* injector.exists({ ...target, pane: "%999" }))
    }).pipe(Effect.provide(PaneInjectorTmux)), 60_000)

  it.scopedLive("fails with InjectError for a pane that is gone", () =>
    Effect.gen(function*() {
      const { target } = yield* pane
      const injector = yield* PaneInjector
      const error = yield* Effect.flip(injector.inject({ ...target, pane: "%999" }, "hello"))
      assert.strictEqual(error._tag, "InjectError")
    }).pipe(Effect.provide(PaneInjectorTmux)), 60_000)
})
