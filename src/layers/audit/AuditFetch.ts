import { Effect, Either, Schema } from "effect"
import * as http from "node:http"
import * as https from "node:https"
import { type AuditCheckpoint, AuditPage, type AuditRecord } from "../../protocol/Audit.js"

const decodePage = Schema.decodeUnknownEither(Schema.parseJson(AuditPage))

const getPage = (base: string, key: string, since: number, ca: Buffer | undefined) =>
  Effect.async<AuditPage, string>((resume) => {
    const target = new URL(`${base}/_relay/audit?since=${since}&limit=1000`)
    const client = target.protocol === "https:" ? https : http
    const req = client.get(target, {
      headers: { authorization: `Bearer ${key}`, accept: "application/json" },
      ...(ca === undefined ? {} : { ca }),
      timeout: 15_000
    }, (res) => {
      const chunks: Array<Buffer> = []
      res.on("data", (c: Buffer) => chunks.push(c))
      res.on("end", () => {
        const text = Buffer.concat(chunks).toString("utf8")
        if (res.statusCode !== 200) {
          return resume(Effect.fail(`the relay answered ${res.statusCode} for its audit log: ${text.slice(0, 200)}`))
        }
        const page = decodePage(text)
        resume(Either.isRight(page) ? Effect.succeed(page.right) : Effect.fail("the relay's audit page is malformed"))
      })
    })
    req.on("timeout", () => req.destroy(new Error("timed out")))
    req.on("error", (e) => resume(Effect.fail(`cannot reach the relay at ${base}: ${e.message}`)))
  })

/** The caller's whole chain after `since`, page by page, with its checkpoints and the relay's key. */
export const fetchAudit = (base: string, key: string, since: number, ca: Buffer | undefined) =>
  Effect.gen(function*() {
    let page = yield* getPage(base, key, since, ca)
    const records: Array<AuditRecord> = [...page.records]
    const checkpoints = new Map<string, AuditCheckpoint>()
    const keep = (p: AuditPage) => p.checkpoints.forEach((c) => checkpoints.set(`${c.seq}:${c.cut}`, c))
    keep(page)
    while (page.next_since !== null) {
      page = yield* getPage(base, key, page.next_since, ca)
      records.push(...page.records)
      keep(page)
    }
    return {
      user_id: page.user_id,
      chain: page.chain,
      head: page.head,
      public_key: page.public_key,
      records,
      checkpoints: [...checkpoints.values()]
    }
  })
