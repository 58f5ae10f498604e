// Dashboard performance against the real daemon in headless Chromium:
// - first load (cold and warm cache) against a baseline page load of the same server (/health);
// - time to show 1,000 mesh events, from the backlog on load and live over the event stream;
// - a 10,000-event log: DOM rows kept and frame times while scrolling (virtualised list).
// Figures only; nothing here asserts a time.
import * as fs from "node:fs/promises"
import { pathToFileURL } from "node:url"
import type { Browser, Page } from "playwright-core"
import { buildDashboard } from "../dashboard/build.mjs"
import { Daemon, FakeAgent, launchChromium, tempHome } from "../test/dashboard/e2eHelpers.js"

const RUNS = 5

const median = (xs: ReadonlyArray<number>) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
const ms = (x: number) => `${x.toFixed(1)} ms`

const shownCount = (page: Page) =>
  page.evaluate(() => {
    const match = /(\d+) \/ (\d+)/.exec(document.querySelector(".log .count")?.textContent ?? "")
    return match === null ? -1 : Number(match[2])
  })

const untilCount = async (page: Page, n: number) => {
  await page.waitForFunction(
    (want) => {
      const match = /(\d+) \/ (\d+)/.exec(document.querySelector(".log .count")?.textContent ?? "")
      return match !== null && Number(match[2]) >= want
    },
    n,
    { timeout: 120_000, polling: "raf" }
  )
}

/** Reports chat turns as an agent's hooks would, `concurrency` requests at a time. */
const report = async (agent: FakeAgent, count: number, concurrency = 8) => {
  let next = 0
  const worker = async () => {
    while (next < count) {
      const i = next++
      await agent.post("/events/chat", {
        peer: agent.peerId,
        report: {
          kind: "chat",
          role: i % 2 === 0 ? "user" : "assistant",
          text: `turn ${i}: ${"lorem ipsum ".repeat(4)}`
        }
      })
    }
  }
  await Promise.all(Array.from({ length: concurrency }, worker))
}

const timedLoad = async (browser: Browser, url: string, ready: (page: Page) => Promise<unknown>, warm = false) => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } })
  const page = await context.newPage()
  if (warm) {
    await page.goto(url)
    await ready(page)
  }
  const start = performance.now()
  await page.goto(url)
  await ready(page)
  const elapsed = performance.now() - start
  await context.close()
  return elapsed
}

export async function run() {
  const manifest = await buildDashboard({ quiet: true })
  const home = await tempHome()
  const daemon = await Daemon.start(home)
  const browser = await launchChromium()
  try {
    const agent = await FakeAgent.register(daemon, "bench", "bench")
    const dashboard = `${daemon.url}/dashboard`
    const ready = (page: Page) => page.locator(".health[data-stream=live]").waitFor()

    const baseline: Array<number> = []
    const cold: Array<number> = []
    const warm: Array<number> = []
    for (let i = 0; i < RUNS; i++) {
      baseline.push(await timedLoad(browser, `${daemon.url}/health`, (p) => p.waitForLoadState("load")))
      cold.push(await timedLoad(browser, dashboard, ready))
      warm.push(await timedLoad(browser, dashboard, ready, true))
    }

    // 1,000 events streamed live to an open page.
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } })
    const page = await context.newPage()
    await page.goto(dashboard)
    await ready(page)
    const base = await shownCount(page)
    const liveStart = performance.now()
    await report(agent, 1000)
    const postsDone = performance.now() - liveStart
    await untilCount(page, base + 1000)
    const liveShown = performance.now() - liveStart

    // 1,000 events in the backlog of a fresh page.
    const backlog: Array<number> = []
    for (let i = 0; i < RUNS; i++) {
      backlog.push(await timedLoad(browser, dashboard, (p) => untilCount(p, base + 1000)))
    }

    // Grow the open page's log to 10,000 events, then scroll it top to bottom measuring frames.
    const growStart = performance.now()
    await report(agent, 10_000 - (base + 1000))
    await untilCount(page, 10_000)
    const grown = performance.now() - growStart
    const scroll = await page.evaluate(async () => {
      const list = document.querySelector<HTMLElement>(".vlist")!
      const frames: Array<number> = []
      let rowsMax = 0
      let last = performance.now()
      for (let step = 0; step <= 120; step++) {
        list.scrollTop = (list.scrollHeight - list.clientHeight) * (step / 120)
        await new Promise((r) => requestAnimationFrame(r))
        const now = performance.now()
        frames.push(now - last)
        last = now
        rowsMax = Math.max(rowsMax, list.querySelectorAll(".event").length)
      }
      frames.sort((a, b) => a - b)
      return {
        rowsMax,
        p50: frames[Math.floor(frames.length * 0.5)]!,
        p95: frames[Math.floor(frames.length * 0.95)]!,
        max: frames[frames.length - 1]!
      }
    })
    await context.close()

    // A fresh page on the 10,000-event log loads its newest 5,000.
    const bigShown = await timedLoad(browser, dashboard, (p) => untilCount(p, 5000))

    const lines = [
      "dashboard (headless Chromium, real daemon on 127.0.0.1)",
      `  bundle: ${manifest.js} ${(manifest.jsGzipBytes / 1024).toFixed(1)} KiB gzipped JS, ${
        (manifest.cssGzipBytes / 1024).toFixed(1)
      } KiB gzipped CSS`,
      `  baseline page load (/health):      ${ms(median(baseline))}`,
      `  first load, cold cache:            ${ms(median(cold))}  (${
        (median(cold) / median(baseline)).toFixed(1)
      }x baseline)`,
      `  first load, warm cache:            ${ms(median(warm))}  (${
        (median(warm) / median(baseline)).toFixed(1)
      }x baseline)`,
      `  1,000 events live: posts done in   ${ms(postsDone)}, all shown at ${ms(liveShown)} (${
        (liveShown / postsDone).toFixed(2)
      }x the posting time)`,
      `  load with 1,000 events in backlog: ${ms(median(backlog))}  (${
        (median(backlog) / median(baseline)).toFixed(1)
      }x baseline)`,
      `  grow an open page to 10,000 events: ${ms(grown)} for ${10_000 - (base + 1000)} more events (posting included)`,
      `  load of a 10,000-event log (newest 5,000 shown): ${ms(bigShown)}`,
      `  scrolling 10,000 events: at most ${scroll.rowsMax} rows in the DOM; frame p50 ${ms(scroll.p50)}, p95 ${
        ms(scroll.p95)
      }, max ${ms(scroll.max)}`
    ]
    console.log(lines.join("\n"))
    agent.close()
  } finally {
    await browser.close()
    await daemon.kill()
    await fs.rm(home, { recursive: true, force: true })
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  run().then(() => process.exit(0), (e) => {
    console.error(e)
    process.exit(1)
  })
}
