import { useEffect, useState } from "preact/hooks"
import type { AppState, Store } from "../store.js"

export const useStore = (store: Store): AppState => {
  const [state, setState] = useState(store.state)
  useEffect(() => store.subscribe(() => setState(store.state)), [store])
  return state
}

export interface Route {
  readonly view: "log" | "asks" | "peers" | "peer" | "compose" | "schedules" | "spawn" | "rules" | "access"
  readonly arg: string
  readonly query: string
}

export const parseRoute = (hash: string): Route => {
  const [path = "", query = ""] = hash.replace(/^#\/?/, "").split("?", 2)
  const [view = "", ...rest] = path.split("/")
  const arg = decodeURIComponent(rest.join("/"))
  switch (view) {
    case "asks":
    case "peers":
    case "compose":
    case "schedules":
    case "spawn":
    case "rules":
    case "access":
      return { view, arg, query }
    case "peer":
      return { view: "peer", arg, query }
    default:
      return { view: "log", arg: "", query }
  }
}

export const useRoute = (): Route => {
  const [route, setRoute] = useState(() => parseRoute(location.hash))
  useEffect(() => {
    const onChange = () => setRoute(parseRoute(location.hash))
    addEventListener("hashchange", onChange)
    // Effects run after the first paint: a hash that changed since the first render fired no event heard here.
    onChange()
    return () => removeEventListener("hashchange", onChange)
  }, [])
  return route
}

export const navigate = (hash: string) => {
  if (location.hash !== hash) location.hash = hash
}
