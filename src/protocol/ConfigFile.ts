import { Schema } from "effect"

const units: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }

/** "90s", "30m", "24h", "7d", "250ms", or a number of seconds → milliseconds. */
export const Duration = Schema.Union(
  Schema.Number.pipe(Schema.nonNegative()),
  Schema.String.pipe(Schema.pattern(/^\d+(ms|s|m|h|d)$/, {
    message: () => "a duration like 90s, 30m, 24h or 7d"
  }))
).pipe(
  Schema.annotations({ identifier: "Duration" })
)

export const durationMillis = (d: typeof Duration.Type): number => {
  if (typeof d === "number") return d * 1000
  const match = /^(\d+)(ms|s|m|h|d)$/.exec(d)!
  return Number(match[1]) * units[match[2]!]!
}

const PositiveDuration = Duration.pipe(Schema.filter((d) => durationMillis(d) > 0, {
  message: () => "a duration above zero, like 30s"
}))

const Port = Schema.Int.pipe(Schema.between(0, 65535, { message: () => "a port from 0 to 65535" }))
const Bytes = Schema.Int.pipe(Schema.positive({ message: () => "a positive number of bytes" }))
const Secret = Schema.NullOr(
  Schema.String.pipe(Schema.minLength(16, { message: () => "a secret of at least 16 characters" }))
)

const LoopbackHost = Schema.String.pipe(
  Schema.filter((h) => h === "127.0.0.1" || h === "localhost" || h === "::1", {
    message: () => "a loopback address (127.0.0.1, localhost or ::1): the daemon never listens on the network"
  })
)

const section = <F extends Schema.Struct.Fields>(fields: F, defaults: Schema.Struct.Type<F>) =>
  Schema.optionalWith(Schema.Struct(fields), { default: () => defaults })

const field = <A, I>(schema: Schema.Schema<A, I>, value: NoInfer<A>) =>
  Schema.optionalWith(schema, { default: () => value })

const SpawnCommand = Schema.String.pipe(Schema.minLength(1), Schema.maxLength(4096))

/** Spawning agents: off until a backend has a command and some folder is allowed. */
export const SpawnSection = Schema.Struct({
  /** The shell command a new tmux window runs, per backend (e.g. `claude`, `codex`). */
  commands: field(
    Schema.Struct({
      "claude-code": Schema.optional(SpawnCommand),
      codex: Schema.optional(SpawnCommand),
      gemini: Schema.optional(SpawnCommand),
      opencode: Schema.optional(SpawnCommand)
    }),
    {}
  ),
  /** Folders (and everything under them) an agent may be spawned in; `~` is the home folder. */
  allowed_paths: field(Schema.Array(Schema.String.pipe(Schema.minLength(1))), []),
  /** The tmux server's socket (`tmux -S`); null: the default server. */
  tmux_socket: field(Schema.NullOr(Schema.String.pipe(Schema.minLength(1))), null)
})

/** How this daemon's peers are shown on other machines (`name@machine`): null means the host name. */
export const MachineName = Schema.String.pipe(Schema.pattern(/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/, {
  message: () => "a machine name is 1-63 letters, digits, '.', '_' or '-', starting with a letter or digit"
}))

export const DaemonSection = Schema.Struct({
  host: field(LoopbackHost, "127.0.0.1"),
  machine_name: field(Schema.NullOr(MachineName), null),
  port: field(Port, 8377),
  auth_token: field(Secret, null),
  max_body_bytes: field(Bytes, 1_048_576),
  /** The longest wait for a request's headers and body, and for an upload's next bytes. */
  request_timeout: field(PositiveDuration, "60s"),
  mcp_http: section({ enabled: field(Schema.Boolean, false) }, { enabled: false }),
  attachments: section({
    max_bytes: field(Bytes, 10 * 1024 * 1024),
    quota_bytes: field(Bytes, 512 * 1024 * 1024),
    ttl: field(Duration, "7d")
  }, { max_bytes: 10 * 1024 * 1024, quota_bytes: 512 * 1024 * 1024, ttl: "7d" }),
  delivery_queue: section({
    max_per_peer: field(Schema.Int.pipe(Schema.between(1, 1_000_000)), 1000),
    ttl: field(Duration, "7d")
  }, { max_per_peer: 1000, ttl: "7d" }),
  peers: section({
    /** A peer with no live transport and no request for this long is shown offline. */
    idle_timeout: field(Duration, "10m"),
    /** Offline peers older than this leave the default listing. */
    forget_after: field(Duration, "24h")
  }, { idle_timeout: "10m", forget_after: "24h" }),
  events: section({ retain: field(Schema.Int.pipe(Schema.between(100, 10_000_000)), 100_000) }, { retain: 100_000 }),
  spawn: Schema.optionalWith(SpawnSection, { default: () => SpawnSection.make({}) })
})

export const RelaySection = Schema.Struct({
  enabled: field(Schema.Boolean, false),
  url: field(
    Schema.NullOr(Schema.String.pipe(Schema.pattern(/^(wss?|https?):\/\/[^\s/]+/, {
      message: () => "a relay URL like wss://relay.example.com"
    }))),
    null
  ),
  api_key: field(
    Schema.NullOr(Schema.String.pipe(Schema.pattern(/^rw_[A-Za-z0-9_-]{20,}$/, {
      message: () => "a relay key: rw_ followed by the key"
    }))),
    null
  ),
  daemon_id: field(Schema.NullOr(Schema.String.pipe(Schema.pattern(/^[A-Za-z0-9._-]{1,64}$/))), null),
  /** The relay server's PostgreSQL store (`relay serve --database-url`), also REPOWIRE_RELAY__DATABASE_URL. */
  database_url: field(
    Schema.NullOr(Schema.String.pipe(Schema.pattern(/^postgres(ql)?:\/\/\S+$/, {
      message: () => "a PostgreSQL URL like postgres://user:password@host/db"
    }))),
    null
  ),
  /**
   * `required`: tunnelled requests are answered only inside a paired device's sealed channel
   * (the relay cannot read or downgrade them), the default; `off`: the plain tunnel the relay
   * can read, for clients that do not speak the sealed channel.
   */
  e2e: field(Schema.Literal("required", "off"), "required")
})

export const LoggingSection = Schema.Struct({
  level: field(Schema.Literal("trace", "debug", "info", "warning", "error", "none"), "info")
})

export const ConfigFile = Schema.Struct({
  daemon: Schema.optionalWith(DaemonSection, { default: () => DaemonSection.make({}) }),
  relay: Schema.optionalWith(RelaySection, { default: () => RelaySection.make({}) }),
  logging: Schema.optionalWith(LoggingSection, { default: () => LoggingSection.make({}) })
})
export type ConfigFile = typeof ConfigFile.Type
export type ConfigFileEncoded = typeof ConfigFile.Encoded
