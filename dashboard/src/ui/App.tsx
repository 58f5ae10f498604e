import type { Store } from "../store.js"
import { AccessLogView } from "./AccessLogView.js"
import { AsksView } from "./AsksView.js"
import { Composer } from "./Composer.js"
import { HealthBar } from "./HealthBar.js"
import { useRoute, useStore } from "./hooks.js"
import { LogView } from "./LogView.js"
import { NewAgent } from "./NewAgent.js"
import { PeerList } from "./PeerList.js"
import { PeerView } from "./PeerView.js"
import { RulesView } from "./RulesView.js"
import { SchedulesView } from "./SchedulesView.js"

const TABS = [
  { view: "peers", label: "Peers", hash: "#/peers" },
  { view: "log", label: "Log", hash: "#/log" },
  { view: "asks", label: "Asks", hash: "#/asks" },
  { view: "compose", label: "Compose", hash: "#/compose" },
  { view: "schedules", label: "Schedules", hash: "#/schedules" },
  { view: "spawn", label: "New agent", hash: "#/spawn" },
  { view: "rules", label: "Rules", hash: "#/rules" },
  { view: "access", label: "Access log", hash: "#/access" }
] as const

export const App = ({ store }: { store: Store }) => {
  const state = useStore(store)
  const route = useRoute()
  const openAsks = [...state.asks.values()].filter((a) => a.state !== "acked").length
  return (
    <div class={`app view-${route.view}`}>
      <header class="top">
        <h1>repowire</h1>
        <HealthBar health={state.health} stream={state.stream} />
      </header>
      {state.authRequired ?
        (
          <p class="banner">
            Your session has ended. <a href="dashboard">Log in again</a>
          </p>
        ) :
        null}
      {state.error === null ? null : <p class="banner err">{state.error}</p>}
      <nav class="tabs">
        {TABS.map((t) => (
          <a key={t.view} href={t.hash} class={route.view === t.view ? "tab active" : "tab"}>
            {t.label}
            {t.view === "asks" && openAsks > 0 ? <span class="pill">{openAsks}</span> : null}
            {t.view === "peers" ? <span class="pill">{state.peers.size}</span> : null}
          </a>
        ))}
      </nav>
      <div class="body">
        <aside class="side">
          <PeerList peers={state.peers} current={route.view === "peer" ? route.arg : ""} />
        </aside>
        <main class="main">
          {route.view === "log" || route.view === "peers"
            ? <LogView events={state.log.events} peers={state.peers} query={route.query} />
            : null}
          {route.view === "asks" ? <AsksView asks={state.asks} /> : null}
          {route.view === "schedules" ? <SchedulesView /> : null}
          {route.view === "spawn" ? <NewAgent /> : null}
          {route.view === "peer"
            ? <PeerView peerRef={route.arg} peers={state.peers} events={state.log.events} asks={state.asks} />
            : null}
          {route.view === "rules"
            ? (
              <RulesView
                version={`${state.health?.policy.status}:${state.health?.policy.rules}:${state.health?.policy.error}`}
              />
            )
            : null}
          {route.view === "access" ? <AccessLogView /> : null}
          {route.view === "compose" ?
            (
              <Composer
                key={`${route.arg}?${route.query}`}
                peers={state.peers}
                initialTo={route.arg}
                replyTo={new URLSearchParams(route.query).get("reply_to") ?? ""}
              />
            ) :
            null}
        </main>
      </div>
    </div>
  )
}
