import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { BIN, cleanEnv, runBin, startDaemon, tempDir } from "../test/agents/Harness.js"
import { ms as fmt, percentile } from "./support/Stats.js"

/**
 * `repowire hook post-tool-use` (it runs on every agent tool call) against a bare `node -e 0`
 * start, interleaved in one run so both see the same machine load. Goal: p50 ratio ≤ 2.
 */
const timed = (args: ReadonlyArray<string>, env: NodeJS.ProcessEnv, input: string, cwd: string) => {
  const started = process.hrtime.bigint()
  const r = spawnSync(process.execPath, args, { env, input, cwd })
  const ms = Number(process.hrtime.bigint() - started) / 1e6
  if (r.status !== 0) throw new Error(`${args.join(" ")} failed: ${r.stderr}`)
  return ms
}

export const run = async (iterations = 40): Promise<void> => {
  const daemon = await startDaemon()
  try {
    const project = path.join(tempDir("rw-bench-"), "api")
    fs.mkdirSync(project)
    const start = await runBin(["hook", "session-start"], {
      env: daemon.env,
      cwd: project,
      input: JSON.stringify({ cwd: project })
    })
    if (start.code !== 0) throw new Error(start.stderr)
    const payload = JSON.stringify({
      session_id: "bench",
      cwd: project,
      hook_event_name: "PostToolUse",
      tool_name: "Bash",
      tool_input: { command: "npm test" },
      tool_response: { stdout: "ok" }
    })
    const env = cleanEnv({ REPOWIRE_HOME: daemon.home })
    const node: Array<number> = []
    const hook: Array<number> = []
    for (let i = 0; i < 3; i++) timed([BIN, "hook", "post-tool-use"], env, payload, project)
    for (let i = 0; i < iterations; i++) {
      node.push(timed(["-e", "0"], env, "", project))
      hook.push(timed([BIN, "hook", "post-tool-use"], env, payload, project))
    }
    const ratio = percentile(hook, 50) / percentile(node, 50)
    console.log(`hook post-tool-use (${iterations} runs, interleaved with the baseline)`)
    console.log(`  baseline node -e 0         p50 ${fmt(percentile(node, 50))}  p90 ${fmt(percentile(node, 90))}`)
    console.log(`  repowire hook post-tool-use p50 ${fmt(percentile(hook, 50))}  p90 ${fmt(percentile(hook, 90))}`)
    console.log(`  ratio p50 ${ratio.toFixed(2)}x (goal ≤ 2x)`)
  } finally {
    await daemon.stop()
  }
}

if (process.argv[1] && import.meta.url.endsWith(path.basename(process.argv[1]))) await run()
