import { Cron } from "croner"
import { Either } from "effect"

/** Schedule arithmetic, pure and in UTC: no local time zone (and so no DST) is ever involved. */

const relativeUnits: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }
const RELATIVE = /^(\d{1,6})(s|m|h|d)$/
/** Date and time with no offset: read as UTC, never as the machine's local time. */
const ISO_NO_OFFSET = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?$/
const ISO = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2}))?$/

/** When `at` falls, seen at `now` (ms): ISO 8601 or relative (`30s`, `10m`, `2h`, `1d`). */
export const parseAt = (at: string, now: number): Either.Either<number, string> => {
  const text = at.trim()
  const relative = RELATIVE.exec(text)
  if (relative !== null) return Either.right(now + Number(relative[1]) * relativeUnits[relative[2]!]!)
  if (ISO_NO_OFFSET.test(text)) return parseIso(`${text}Z`, at)
  if (ISO.test(text)) return parseIso(text, at)
  return Either.left(`bad time \`${at}\`: use ISO 8601 (2026-05-01T09:00:00Z; no offset means UTC) or 30s, 10m, 2h, 1d`)
}

const parseIso = (text: string, original: string): Either.Either<number, string> => {
  const ms = Date.parse(text)
  return Number.isNaN(ms) ? Either.left(`bad time \`${original}\`: not a real date`) : Either.right(ms)
}

const cronOf = (expression: string) => new Cron(expression.trim(), { timezone: "UTC", paused: true, mode: "5-part" })

/** Checks a cron expression: five fields or an @nickname (@hourly, @daily, …), read in UTC. */
export const checkCron = (expression: string): Either.Either<string, string> => {
  try {
    cronOf(expression)
    return Either.right(expression.trim())
  } catch (e) {
    const reason = e instanceof Error ? e.message.replace(/^CronPattern:\s*/, "") : String(e)
    return Either.left(
      `bad cron expression \`${expression}\`: ${reason} (use five fields, minute hour day month weekday, or @hourly, @daily, @weekly, @monthly, @yearly; times are UTC)`
    )
  }
}

/** The first fire of `expression` strictly after `after` (ms), or undefined when there is none. */
export const nextCronFire = (expression: string, after: number): number | undefined => {
  const next = cronOf(expression).nextRun(new Date(after))
  return next === null ? undefined : next.getTime()
}

/**
 * After a schedule fires at `now`: a cron schedule's next fire lies after `now`, so any ticks
 * missed while the daemon was down fold into the one fire just made; a one-shot is over.
 */
export const afterFire = (cron: string | null, now: number): number | undefined =>
  cron === null ? undefined : nextCronFire(cron, now)
