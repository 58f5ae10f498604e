/**
 * Starts the dashboard app inside the loader's page: its index, script and style come through
 * the sealed channel from the daemon and run from blob: URLs, the only scripts the loader's
 * CSP admits besides its own.
 */
export const startApp = async (sealedFetch: typeof fetch): Promise<void> => {
  const index = await sealedFetch(location.pathname, { headers: { accept: "text/html" } })
  if (!index.ok) throw new Error(`the daemon answered ${index.status} for the dashboard`)
  const page = new DOMParser().parseFromString(await index.text(), "text/html")
  const script = page.querySelector("script[type=module][src]")?.getAttribute("src")
  const style = page.querySelector("link[rel=stylesheet][href]")?.getAttribute("href")
  if (script == null) throw new Error("the daemon's dashboard page names no script")
  const blobOf = async (href: string, type: string) => {
    const response = await sealedFetch(href)
    if (!response.ok) throw new Error(`the daemon answered ${response.status} for ${href}`)
    return URL.createObjectURL(new Blob([await response.arrayBuffer()], { type }))
  }
  const [scriptUrl, styleUrl] = await Promise.all([
    blobOf(script, "text/javascript"),
    style == null ? undefined : blobOf(style, "text/css")
  ])
  if (styleUrl !== undefined) {
    const link = document.createElement("link")
    link.rel = "stylesheet"
    link.href = styleUrl
    await new Promise((resolve) => {
      link.onload = resolve
      link.onerror = resolve
      document.head.append(link)
    })
  }
  const root = document.createElement("div")
  root.id = "app"
  document.body.replaceChildren(root)
  const module = document.createElement("script")
  module.type = "module"
  module.src = scriptUrl
  // A module script's load event comes after it ran: "started" means the app is there.
  await new Promise<void>((resolve, reject) => {
    module.onload = () => resolve()
    module.onerror = () => reject(new Error("the dashboard's script did not load"))
    document.head.append(module)
  })
}
