import { Effect } from "effect"
import { PaneInjectorTmux } from "/work/wt-agents/src/layers/PaneInjectorTmux.ts"
import { PaneInjector } from "/work/wt-agents/src/services/PaneInjector.ts"
process.on("exit", (c) => console.error("exit", c))
Effect.runPromise(Effect.flatMap(PaneInjector, (i) => i.exists({ pane: "%0", socket: "/tmp/rw-tmux.sock" })).pipe(Effect.provide(PaneInjectorTmux))).then(console.log, console.error)
