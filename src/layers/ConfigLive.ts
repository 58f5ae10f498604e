import { Effect, Layer, ParseResult, Schema } from "effect"
import * as fs from "node:fs/promises"
import * as YAML from "yaml"
import { ConfigFile } from "../protocol/ConfigFile.js"
import { resolvePaths } from "../protocol/HomeFiles.js"
import { describeParseError } from "../protocol/Issues.js"
import { adoptUpstreamConfig } from "../protocol/UpstreamConfig.js"
import { Config, ConfigError, redactedOrUndefined, type RepowirePaths } from "../services/Config.js"

const ENV_PREFIX = "REPOWIRE_"

const failWith = (message: string) => (cause: unknown) =>
  new ConfigError({ message: `${message}: ${cause instanceof Error ? cause.message : String(cause)}` })

/** Creates the home 0700 (tightening an existing one). */
export const ensureHome = (paths: RepowirePaths) =>
  Effect.tryPromise({
    try: async () => {
      await fs.mkdir(paths.home, { recursive: true, mode: 0o700 })
      const stat = await fs.stat(paths.home)
      if ((stat.mode & 0o077) !== 0) await fs.chmod(paths.home, 0o700)
    },
    catch: failWith(`cannot create ${paths.home}`)
  })

/** The raw document of config.yaml, or an empty one when there is no file yet. */
export const readConfigDocument = (paths: RepowirePaths) =>
  Effect.gen(function*() {
    const text = yield* Effect.tryPromise({
      try: async () => {
        try {
          const stat = await fs.stat(paths.configFile)
          if ((stat.mode & 0o077) !== 0) {
            throw new Error(
              `${paths.configFile} is readable by other users (mode ${(stat.mode & 0o777).toString(8)}); ` +
                `it may hold secrets. Fix it with: chmod 600 ${paths.configFile}`
            )
          }
          return await fs.readFile(paths.configFile, "utf8")
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code === "ENOENT") return ""
          throw e
        }
      },
      catch: (e) => new ConfigError({ message: e instanceof Error ? e.message : String(e) })
    })
    const doc = YAML.parseDocument(text)
    if (doc.errors.length > 0) {
      const first = doc.errors[0]!
      return yield* new ConfigError({
        message: `${paths.configFile}: not valid YAML (line ${first.linePos?.[0]?.line ?? "?"}): ${
          first.message.split("\n")[0]
        }`
      })
    }
    return doc
  })

/** Upstream repowire's flat variables, as it documents them (they win over the nested form, as there). */
const upstreamEnv = (env: NodeJS.ProcessEnv) => [
  ...(env.REPOWIRE_AUTH_TOKEN
    ? [{ key: "REPOWIRE_AUTH_TOKEN", keyPath: ["daemon", "auth_token"], value: env.REPOWIRE_AUTH_TOKEN as unknown }]
    : []),
  ...(env.REPOWIRE_RELAY_URL
    ? [{ key: "REPOWIRE_RELAY_URL", keyPath: ["relay", "url"], value: env.REPOWIRE_RELAY_URL as unknown }]
    : []),
  ...(env.REPOWIRE_API_KEY
    ? [
      { key: "REPOWIRE_API_KEY", keyPath: ["relay", "api_key"], value: env.REPOWIRE_API_KEY as unknown },
      { key: "REPOWIRE_API_KEY", keyPath: ["relay", "enabled"], value: true as unknown }
    ]
    : [])
]

const envOverrides = (env: NodeJS.ProcessEnv) => [
  ...Object.entries(env).flatMap(([key, value]) => {
    if (!key.startsWith(ENV_PREFIX) || !key.includes("__") || value === undefined) return []
    const keyPath = key.slice(ENV_PREFIX.length).split("__").map((part) => part.toLowerCase())
    return [{ key, keyPath, value: value === "" ? null : YAML.parse(value) as unknown }]
  }),
  ...upstreamEnv(env)
]

const setIn = (target: Record<string, unknown>, keyPath: ReadonlyArray<string>, value: unknown) => {
  let node = target
  keyPath.slice(0, -1).forEach((part) => {
    const next = node[part]
    node = (node[part] = typeof next === "object" && next !== null ? next : {}) as Record<string, unknown>
  })
  node[keyPath[keyPath.length - 1]!] = value
}

const decodeConfig = Schema.decodeUnknown(ConfigFile, { onExcessProperty: "error" })

/** Decodes a raw config (file contents + env overrides), naming the file or variable at fault. */
export const decodeConfigValues = (paths: RepowirePaths, raw: unknown, env: NodeJS.ProcessEnv) =>
  Effect.gen(function*() {
    // An upstream repowire file is cut down to the keys that mean something here.
    const adopted = adoptUpstreamConfig(raw).value
    const fileValue = typeof adopted === "object" && adopted !== null ? adopted : {}
    if (raw !== null && raw !== undefined && typeof raw !== "object") {
      return yield* new ConfigError({
        message: `${paths.configFile}: expected a mapping of sections (daemon, relay, logging)`
      })
    }
    const fromFile = yield* decodeConfig(fileValue).pipe(
      Effect.mapError((e) => new ConfigError({ message: `${paths.configFile}: ${describeParseError(e)}` }))
    )
    const merged = structuredClone(fileValue) as Record<string, unknown>
    const overrides = envOverrides(env)
    overrides.forEach(({ keyPath, value }) => setIn(merged, keyPath, value))
    if (overrides.length === 0) return fromFile
    return yield* decodeConfig(merged).pipe(
      Effect.mapError((e: ParseResult.ParseError) => {
        const names = [...new Set(overrides.map((o) => o.key))].join(", ")
        return new ConfigError({ message: `environment (${names}): ${describeParseError(e)}` })
      })
    )
  })

export const loadConfig = (env: NodeJS.ProcessEnv = process.env) =>
  Effect.gen(function*() {
    const paths = resolvePaths(env)
    yield* ensureHome(paths)
    const doc = yield* readConfigDocument(paths)
    const raw: unknown = doc.toJS()
    const values = yield* decodeConfigValues(paths, raw, env)
    const { ignored, renamed } = adoptUpstreamConfig(raw)
    return Config.of({
      paths,
      values,
      authToken: redactedOrUndefined(values.daemon.auth_token),
      ...(ignored.length + renamed.length > 0 ? { upstream: { ignored, renamed } } : {})
    })
  }).pipe(Effect.withSpan("Config.load"))

/** Writes config.yaml atomically with mode 0600, keeping comments and unrelated keys. */
export const updateConfigFile = (
  paths: RepowirePaths,
  changes: ReadonlyArray<{ readonly keyPath: ReadonlyArray<string>; readonly value: unknown }>
) =>
  Effect.gen(function*() {
    yield* ensureHome(paths)
    const doc = yield* readConfigDocument(paths)
    if (doc.contents === null) doc.contents = doc.createNode({}) as unknown as typeof doc.contents
    changes.forEach(({ keyPath, value }) => value === undefined ? doc.deleteIn(keyPath) : doc.setIn(keyPath, value))
    yield* decodeConfigValues(paths, doc.toJS(), {})
    const tmp = `${paths.configFile}.${process.pid}.tmp`
    yield* Effect.tryPromise({
      try: async () => {
        await fs.writeFile(tmp, doc.toString(), { mode: 0o600 })
        await fs.rename(tmp, paths.configFile)
      },
      catch: failWith(`cannot write ${paths.configFile}`)
    })
  })

export const ConfigLive = Layer.effect(Config, loadConfig())

/** A Config for tests and embedded use: values decoded from a partial object, no file read. */
export const ConfigMemory = (home: string, raw: unknown = {}) =>
  Layer.effect(
    Config,
    Effect.gen(function*() {
      const paths = resolvePaths({ REPOWIRE_HOME: home })
      const values = yield* decodeConfigValues(paths, raw, {})
      return Config.of({ paths, values, authToken: redactedOrUndefined(values.daemon.auth_token) })
    })
  )
