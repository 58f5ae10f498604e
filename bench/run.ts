// `npm run bench`: every benchmark, each printing its figures beside a baseline measured in
// the same run. Pass names to run a subset: `npm run bench -- daemon`.
const suites: Record<string, () => Promise<{ run: () => Promise<void> }>> = {
  daemon: () => import("./daemon.js"),
  daemonApp: () => import("./daemonApp.js"),
  dashboard: () => import("./dashboard.js"),
  agentTurn: () => import("./agentTurn.js"),
  hook: () => import("./hook.js"),
  inject: () => import("./inject.js"),
  mesh: () => import("./mesh.js"),
  pairing: () => import("./pairing.js"),
  policy: () => import("./policy.js"),
  relay: () => import("./relay.js"),
  relayCluster: () => import("./relayCluster.js"),
  relayClusterScale: () => import("./relayClusterScale.js"),
  audit: () => import("./audit.js"),
  sealed: () => import("./sealed.js")
}

const wanted = process.argv.slice(2).filter((a) => !a.startsWith("-"))
for (const [name, load] of Object.entries(suites)) {
  if (wanted.length > 0 && !wanted.includes(name)) continue
  console.log(`\n# ${name}`)
  await (await load()).run()
}
