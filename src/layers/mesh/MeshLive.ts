import { Clock, Effect, Either, Fiber, Layer, Schema, Stream } from "effect"
import * as fs from "node:fs"
import { MachineName } from "../../protocol/ConfigFile.js"
import { BadRequest, NotFound, Unavailable } from "../../protocol/Errors.js"
import { formatMeshCode, parseMeshCode } from "../../protocol/MeshCode.js"
import type { MeshLink, MeshMessage } from "../../protocol/MeshWire.js"
import { toHex } from "../../protocol/sealed/Bytes.js"
import { newPairingSecret, pairingPsk } from "../../protocol/sealed/Pairing.js"
import { Asks } from "../../services/Asks.js"
import { Attachments } from "../../services/Attachments.js"
import { Config } from "../../services/Config.js"
import { Database } from "../../services/Database.js"
import { Deliveries } from "../../services/Deliveries.js"
import { EventLog } from "../../services/EventLog.js"
import { Mesh, MESH_CODE_TTL_MS } from "../../services/Mesh.js"
import { MessageRouter } from "../../services/MessageRouter.js"
import { PeerRegistry } from "../../services/PeerRegistry.js"
import { SealedIdentity } from "../../services/SealedIdentity.js"
import { Transports } from "../../services/Transports.js"
import { limitsOf } from "../AttachmentLimits.js"
import { decodeConfigValues, readConfigDocument } from "../ConfigLive.js"
import { defaultDaemonId, settingsOf } from "../TunnelClientLive.js"
import { makeFilesIn } from "./FilesIn.js"
import { makeInbound } from "./Inbound.js"
import { Links } from "./Links.js"
import { machineNameOf } from "./MachineName.js"
import { MeshDialer } from "./MeshDialer.js"
import { makeMeshStore } from "./MeshStore.js"
import { makeOutbound } from "./Outbound.js"

const MaxEventId = Schema.Struct({ id: Schema.NullOr(Schema.Number) })
const RETRY_MS = 3_000
const isMachineName = Schema.is(MachineName)

/** Extra CA for a relay with a private or self-signed certificate, as the tunnel reads it. */
const caFromEnv = (): Buffer | undefined => {
  const file = process.env.REPOWIRE_RELAY_CA_FILE
  return file === undefined || file === "" ? undefined : fs.readFileSync(file)
}

/**
 * The mesh across machines: the relay switch link, the sealed link state machine, and the
 * parts that move messages, receipts, acks and peer lists over it.
 */
export const MeshLive = Layer.scoped(
  Mesh,
  Effect.gen(function*() {
    const config = yield* Config
    const { values } = config
    const db = yield* Database
    const identity = yield* SealedIdentity
    const registry = yield* PeerRegistry
    const transports = yield* Transports
    const router = yield* MessageRouter
    const deliveries = yield* Deliveries
    const asks = yield* Asks
    const attachments = yield* Attachments
    const events = yield* EventLog
    const machine = machineNameOf(values)
    let settings = settingsOf(values)
    const daemonId = settings?.daemonId ?? values.relay.daemon_id ?? defaultDaemonId()
    const store = makeMeshStore(db)
    let closed = false
    // Sessions' promise chains may still hand over a message while the daemon stops: dropped then.
    const run = <A>(effect: Effect.Effect<A>) =>
      closed ? undefined : void Effect.runFork(effect.pipe(Effect.catchAllCause(Effect.logWarning)))

    let dialer: MeshDialer | undefined
    const links: Links = new Links(
      identity,
      { machine, daemon_id: daemonId },
      store,
      (to, payload) => dialer?.send(to, payload) ?? false,
      {
        up: (remote) => run(outbound.up(remote)),
        down: (remote) => {
          files.dropOrigin(remote)
          run(Effect.zipRight(registry.remoteGone(remote, false), outbound.refresh(remote)))
        },
        // A file's parts are taken in the order they came, ahead of the message that refers to them.
        message: (remote, message) =>
          message.t === "part"
            ? files.part(remote, message)
            : message.t === "deliver"
            ? runNow(() => inbound.deliverNow(remote, message))
            : message.t === "receipt"
            ? runNow(() => inbound.receiptNow(remote, message))
            : run(onMessage(remote, message))
      }
    )
    const outbound = makeOutbound({
      store,
      registry,
      transports,
      router,
      deliveries,
      machine,
      attachments,
      pipeOf: (remote) => links.pipeOf(remote),
      backlog: () => dialer?.backlog ?? 0,
      transaction: db.now.transaction,
      fork: run
    })
    const files = makeFilesIn({
      attachments,
      maxBytes: limitsOf(config).maxBytes,
      fork: run,
      taken: (remote, messageId) => store.inbound(remote, messageId) !== undefined
    })
    const inbound = makeInbound({
      db,
      store,
      registry,
      router,
      deliveries,
      asks,
      machine,
      attachments,
      files,
      owe: (remote) => run(outbound.sendOwed(remote)),
      receipt: (remote, messageId, toPeer) => outbound.sendReceipt(remote, messageId, toPeer)
    })

    /**
     * A step run at once in the link's callback, with no fiber (the usual message and every
     * receipt: they are on each cross-machine message's path); what it leaves runs as `run` does.
     */
    const runNow = (step: () => Effect.Effect<void> | void) => {
      if (closed) return
      let rest: Effect.Effect<void> | void
      try {
        rest = step()
      } catch (defect) {
        rest = Effect.die(defect)
      }
      if (rest !== undefined) run(rest)
    }

    const forget = (remote: string) =>
      Effect.gen(function*() {
        const link = store.linkByMachine(remote)
        store.unpin(remote)
        if (link !== undefined) links.drop(link.daemon_id)
        yield* registry.remoteGone(remote, true)
        yield* outbound.refresh(remote)
      })

    const onMessage = (remote: string, message: MeshMessage): Effect.Effect<void> => {
      switch (message.t) {
        case "peers":
          return Effect.zipRight(registry.syncRemote(remote, message.peers), outbound.refresh(remote))
        case "deliver":
          return Effect.suspend(() => inbound.deliverNow(remote, message) ?? Effect.void)
        case "out": {
          const pipe = links.pipeOf(remote)
          return Effect.flatMap(
            inbound.owed(remote, message.item),
            (taken) => taken ? Effect.sync(() => pipe?.send({ t: "done", id: message.id })) : Effect.void
          )
        }
        case "receipt":
          return Effect.sync(() => inbound.receiptNow(remote, message))
        case "done":
          return outbound.done(remote, message.id)
        case "part":
          return Effect.sync(() => files.part(remote, message))
        case "unlink":
          return forget(remote)
      }
    }

    /** (Re)dials the relay's switch with `next` (none: the relay is off); sessions start over. */
    const dial = (next: typeof settings) => {
      dialer?.stop()
      dialer = undefined
      links.relayDown()
      settings = next
      if (next === undefined) return
      dialer = new MeshDialer(next, caFromEnv(), {
        onFrame: (from, payload) => links.frame(from, payload),
        onNote: (note) => links.note(note),
        onDown: () => links.relayDown()
      })
    }
    yield* Effect.acquireRelease(
      Effect.sync(() => {
        dial(settings)
        return setInterval(() => links.retry(), RETRY_MS)
      }),
      (timer) =>
        Effect.sync(() => {
          closed = true
          links.stop()
          clearInterval(timer)
          dialer?.stop()
        })
    )

    const reconnect = Effect.gen(function*() {
      const doc = yield* readConfigDocument(config.paths)
      const fresh = yield* decodeConfigValues(config.paths, doc.toJS(), process.env)
      dial(settingsOf(fresh))
    }).pipe(Effect.catchAll((e) => Effect.logWarning(`mesh link: config not reloaded: ${e.message}`)))

    // Local events linked daemons must hear of, from where the last run left off.
    const since = store.cursor() ??
      (yield* db.one(MaxEventId, "SELECT MAX(id) AS id FROM events")).pipe((row) =>
        row._tag === "Some" ? row.value.id ?? 0 : 0
      )
    const follower = yield* Effect.forkScoped(Effect.scoped(Effect.gen(function*() {
      const stream = yield* events.follow(since)
      yield* Stream.runForEach(
        stream,
        (event) =>
          outbound.onEvent(event, () => store.links().map((l) => l.machine)).pipe(
            Effect.catchAllCause(Effect.logWarning)
          )
      )
    })))
    yield* Effect.addFinalizer(() => Fiber.interrupt(follower))

    const pair = Effect.gen(function*() {
      if (settings === undefined) {
        return yield* new Unavailable({
          message: "the relay is not configured: run `repowire setup --relay URL` first"
        })
      }
      const secret = newPairingSecret()
      const psk = yield* pairingPsk(secret.key)
      const at = yield* Clock.currentTimeMillis
      store.insertCode(secret.id, toHex(psk), at, at + MESH_CODE_TTL_MS)
      return {
        code: formatMeshCode({ daemonId, fingerprint: identity.fingerprint, secret }),
        expiresAt: at + MESH_CODE_TTL_MS
      }
    }).pipe(Effect.withSpan("Mesh.pair"))

    const join = Effect.fn("Mesh.join")(function*(text: string) {
      const code = parseMeshCode(text)
      if (Either.isLeft(code)) return yield* new BadRequest({ message: code.left })
      if (settings === undefined || dialer === undefined) {
        return yield* new Unavailable({
          message: "the relay is not configured: run `repowire setup --relay URL` first"
        })
      }
      if (code.right.daemonId === daemonId) {
        return yield* new BadRequest({
          message: "this daemon printed that code: run `repowire mesh join` on the other one"
        })
      }
      return yield* Effect.flatten(Effect.promise(() => links.join(code.right)))
    })

    const list = Effect.sync(() =>
      store.links().map((link): MeshLink => ({
        machine: link.machine,
        daemon_id: link.daemon_id,
        fingerprint: link.fingerprint,
        status: links.pipeOf(link.machine) !== undefined
          ? "linked"
          : links.isPresent(link.daemon_id)
          ? "connecting"
          : "away",
        linked_at: new Date(link.created_at).toISOString(),
        last_seen: link.last_seen === null ? null : new Date(link.last_seen).toISOString()
      }))
    )

    const remove = Effect.fn("Mesh.remove")(function*(remote: string) {
      if (!isMachineName(remote) || store.linkByMachine(remote) === undefined) {
        return yield* new NotFound({ message: `no linked machine named ${remote} (repowire mesh list shows them)` })
      }
      // Sealed and handed to the relay link at once: the session may end right after.
      links.pipeOf(remote)?.send({ t: "unlink" })
      yield* forget(remote)
    })

    return Mesh.of({ pair, join, list, remove, reconnect })
  })
)
