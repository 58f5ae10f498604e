/** The relay as a child process for benches (bench/relayServer.ts), with its certificate and keys. */
import { Effect, Redacted } from "effect"
import { spawn } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { createInterface } from "node:readline"
import { RelayLive } from "../../src/layers/RelayLive.js"
import { ApiKeys } from "../../src/services/ApiKeys.js"
import { makeCert as makeTestCert } from "../../test/relay/harness.js"

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "rw-bench-relay-"))

/** A self-signed certificate for 127.0.0.1 (the tests' helper), as file paths and the CA to trust. */
export const makeCert = () => {
  const made = makeTestCert(tmp)
  return { key: made.keyFile, cert: made.certFile, ca: made.cert }
}

export const cpuOf = (pid: number) => {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ")
  return (Number(fields[11]) + Number(fields[12])) * 10
}

export const startRelayProcess = async (
  cert: { key: string; cert: string },
  db: string,
  env: Record<string, string> = {}
) => {
  const child = spawn(process.execPath, [
    ...(process.env.BENCH_PROF ? ["--cpu-prof", `--cpu-prof-dir=${process.env.BENCH_PROF}`] : []),
    "--expose-gc",
    "--import",
    "tsx",
    path.join(import.meta.dirname, "..", "relayServer.ts")
  ], {
    env: { ...process.env, RELAY_CERT: cert.cert, RELAY_KEY: cert.key, RELAY_DB: db, ...env },
    stdio: ["ignore", "pipe", "inherit", "ipc"]
  })
  const line = await new Promise<string>((resolve) => createInterface({ input: child.stdout! }).once("line", resolve))
  /** The relay process's CPU time so far (user + system, all its threads), in µs. */
  const cpuMicros = () =>
    new Promise<number>((resolve) => {
      child.once("message", (u: NodeJS.CpuUsage) => resolve(u.user + u.system))
      child.send("cpu")
    })
  return { child, port: (JSON.parse(line) as { port: number }).port, cpuMicros }
}

export const mint = (db: string, users: ReadonlyArray<string>) =>
  Effect.forEach(
    users,
    (u) => Effect.flatMap(ApiKeys, (k) => k.create(u)).pipe(Effect.map((m) => Redacted.value(m.key)))
  ).pipe(
    Effect.provide(RelayLive(db)),
    Effect.scoped,
    Effect.runPromise
  )
