import { Effect } from "effect"
import { execFile, spawn, type SpawnOptions } from "node:child_process"
import { randomBytes } from "node:crypto"
import * as fs from "node:fs"
import * as net from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import Pg from "pg"

/**
 * A throwaway PostgreSQL server from Debian's `postgresql` binaries (scripts/ensure-postgres.sh
 * installs them): initdb in a temp dir, a free loopback port, a generated password. Tests run
 * as root and PostgreSQL refuses root, so as root it runs as the `postgres` user.
 */
export interface PostgresServer {
  readonly port: number
  /** The URL of a database on this server (`postgres` by default). */
  readonly url: (database?: string) => string
  /** A new empty database; its URL. */
  readonly createDatabase: () => Promise<string>
  /** Stops the server and removes its directory. */
  readonly stop: () => Promise<void>
}

const binDir = (): string => {
  const root = "/usr/lib/postgresql"
  const versions = fs.existsSync(root)
    ? fs.readdirSync(root).filter((v) => fs.existsSync(path.join(root, v, "bin", "initdb")))
    : []
  const newest = versions.sort((a, b) => Number(b) - Number(a))[0]
  if (newest === undefined) throw new Error("PostgreSQL is not installed: run scripts/ensure-postgres.sh")
  return path.join(root, newest, "bin")
}

/** As root, the `postgres` user's ids (from /etc/passwd); otherwise this process's own user. */
const serverUser = (): { readonly uid: number; readonly gid: number } | undefined => {
  if (process.getuid?.() !== 0) return undefined
  const line = fs.readFileSync("/etc/passwd", "utf8").split("\n").find((l) => l.startsWith("postgres:"))
  if (line === undefined) throw new Error("no postgres user: run scripts/ensure-postgres.sh")
  const [, , uid, gid] = line.split(":")
  return { uid: Number(uid), gid: Number(gid) }
}

const run = (file: string, args: ReadonlyArray<string>, user: ReturnType<typeof serverUser>, cwd: string) =>
  new Promise<void>((resolve, reject) => {
    execFile(
      file,
      args,
      { cwd, env: { PATH: process.env.PATH ?? "/usr/bin:/bin", LANG: "C" }, ...user },
      (error, _out, err) =>
        error === null ? resolve() : reject(new Error(`${path.basename(file)} failed: ${err || error.message}`))
    )
  })

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const server = net.createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const address = server.address() as net.AddressInfo
      server.close(() => resolve(address.port))
    })
  })

/**
 * Stops the server and removes its directory once this process is gone, however it ends: a
 * vitest worker killed mid-test leaves nothing running.
 */
const watchdog = (bin: string, dir: string, user: ReturnType<typeof serverUser>) => {
  const script = `while [ -d /proc/${process.pid} ]; do sleep 1; done
"${bin}/pg_ctl" -D "${dir}/data" stop -m immediate -w >/dev/null 2>&1
rm -rf "${dir}"`
  const options: SpawnOptions = { detached: true, stdio: "ignore", cwd: dir, ...user }
  const child = spawn("/bin/sh", ["-c", script], options)
  child.unref()
  return child
}

export const startPostgres = async (): Promise<PostgresServer> => {
  const bin = binDir()
  const user = serverUser()
  // As root the server's user must reach the dir: /tmp is open to all, a private TMPDIR may not be.
  const dir = fs.mkdtempSync(path.join(user === undefined ? os.tmpdir() : "/tmp", "rw-pg-"))
  if (user !== undefined) fs.chownSync(dir, user.uid, user.gid)
  const data = path.join(dir, "data")
  const password = randomBytes(18).toString("base64url")
  const pwfile = path.join(dir, "pw")
  fs.writeFileSync(pwfile, password, { mode: 0o600 })
  if (user !== undefined) fs.chownSync(pwfile, user.uid, user.gid)
  const guard = watchdog(bin, dir, user)
  try {
    await run(
      `${bin}/initdb`,
      [
        "-D",
        data,
        "-U",
        "postgres",
        `--pwfile=${pwfile}`,
        "--auth=scram-sha-256",
        "--encoding=UTF8",
        "--locale=C",
        "--no-sync"
      ],
      user,
      dir
    )
    // Durability is not what these servers test: no fsync, small memory; TCP only, as the relay connects.
    fs.appendFileSync(
      path.join(data, "postgresql.conf"),
      [
        "listen_addresses = '127.0.0.1'",
        "unix_socket_directories = ''",
        "fsync = off",
        "synchronous_commit = off",
        "full_page_writes = off",
        "shared_buffers = 16MB",
        "max_connections = 60",
        ""
      ].join("\n")
    )
    // Another worker may take the free port before the server binds it: try another.
    let port = 0
    for (let attempt = 1;; attempt++) {
      port = await freePort()
      try {
        await run(
          `${bin}/pg_ctl`,
          [
            "-D",
            data,
            "-l",
            path.join(dir, "log"),
            "-o",
            `-p ${port}`,
            "-w",
            "-t",
            "30",
            "start"
          ],
          user,
          dir
        )
        break
      } catch (error) {
        if (attempt >= 5) throw error
      }
    }
    const url = (database = "postgres") =>
      `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/${database}`
    return {
      port,
      url,
      createDatabase: async () => {
        const name = `t_${randomBytes(6).toString("hex")}`
        const client = new Pg.Client({ connectionString: url() })
        await client.connect()
        try {
          await client.query(`CREATE DATABASE ${name}`)
        } finally {
          await client.end()
        }
        return url(name)
      },
      stop: async () => {
        try {
          await run(`${bin}/pg_ctl`, ["-D", data, "stop", "-m", "immediate", "-w"], user, dir)
        } finally {
          guard.kill()
          fs.rmSync(dir, { recursive: true, force: true })
        }
      }
    }
  } catch (error) {
    await run(`${bin}/pg_ctl`, ["-D", data, "stop", "-m", "immediate", "-w"], user, dir).catch(() => undefined)
    guard.kill()
    fs.rmSync(dir, { recursive: true, force: true })
    throw error
  }
}

/** One server for the scope (a test file's layer): stopped and removed when the scope closes. */
export const PostgresScoped = Effect.acquireRelease(
  Effect.promise(startPostgres),
  (server) => Effect.promise(server.stop)
)
