import { Data, Effect } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { z } from "zod"
import { DaemonClient } from "../../services/DaemonClient.js"

/**
 * Tool arguments under our names or upstream repowire's (`peer_name`, `query`, `message`,
 * `show_offline`, `timeout_seconds`), so agents' prompts and skills written for upstream work.
 */
export class ToolArgumentError extends Data.TaggedError("ToolArgumentError")<{ readonly message: string }> {}

/** The first of the given values that is set, or a tool error naming both spellings. */
export const either = <A>(value: A | undefined, alias: A | undefined, names: string) =>
  value !== undefined ? Effect.succeed(value) : alias !== undefined ? Effect.succeed(alias) : Effect.fail(
    new ToolArgumentError({ message: `${names} is required` })
  )

export const attachmentsSchema = z.array(z.string().min(1)).max(16).optional().describe(
  "attachment ids (att-…, from POST /attachments) or paths of local files, which are uploaded"
)

/** Ids pass as they are; a path (absolute, or relative to the agent's folder) is uploaded first. */
export const resolveAttachments = (items: ReadonlyArray<string> | undefined, peerToken: string) =>
  Effect.gen(function*() {
    if (items === undefined || items.length === 0) return undefined
    const files = items.filter((a) => !/^att-[A-Za-z0-9_-]+$/.test(a) || fs.existsSync(a))
    const uploaded = files.length === 0
      ? []
      : yield* Effect.flatMap(DaemonClient, (c) => c.upload(files.map((f) => path.resolve(f)), { peerToken }))
    const ids = new Map(files.map((f, i) => [f, uploaded[i]!]))
    return items.map((a) => ids.get(a) ?? a)
  })
