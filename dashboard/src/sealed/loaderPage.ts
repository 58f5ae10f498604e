/** What the loader shows instead of the app: a heading and a line, and a state the tests can wait on. */
export type LoaderState = "opening" | "unpaired" | "pairing_failed" | "refused" | "revoked" | "failed" | "started"

export const setState = (state: LoaderState) => {
  document.documentElement.dataset.sealed = state
}

export const showMessage = (state: LoaderState, title: string, ...lines: ReadonlyArray<string>) => {
  setState(state)
  const main = document.createElement("main")
  main.id = "sealed-message"
  const h1 = document.createElement("h1")
  h1.textContent = title
  main.append(h1)
  for (const line of lines) {
    const p = document.createElement("p")
    p.textContent = line
    main.append(p)
  }
  // Whatever the app had shown goes with it: a refused browser keeps no data on screen.
  document.body.replaceChildren(main)
}

export const PAIR_HINT =
  "Pair this browser: run `repowire relay pair` on the daemon's machine and open the link it prints."
