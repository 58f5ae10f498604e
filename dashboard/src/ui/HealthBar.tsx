import type { Health } from "../state/types.js"
import type { StreamState } from "../store.js"
import { sealedInfo } from "../transport.js"

/** Through a sealed relay: the daemon identity this browser pinned and the loader page it ran. */
const Sealed = () => {
  const sealed = sealedInfo()
  if (sealed === undefined) return null
  const loader = sealed.loaderSha256()
  return (
    <span
      class="sealed"
      data-fingerprint={sealed.daemonFingerprint}
      data-loader-sha256={loader ?? ""}
      title={`sealed channel to daemon ${sealed.daemonFingerprint}; loader page SHA-256 ${loader ?? "(checking)"}`}
    >
      sealed · daemon {sealed.daemonFingerprint.slice(0, 16)}
      {loader === undefined ? null : ` · loader ${loader.slice(0, 16)}`}
    </span>
  )
}

const uptime = (
  s: number
) => (s < 120 ? `${Math.round(s)}s` : s < 7200 ? `${Math.round(s / 60)}m` : `${Math.round(s / 3600)}h`)

export const HealthBar = ({ health, stream }: { health: Health | null; stream: StreamState }) => (
  <div class="health" data-stream={stream}>
    <span class={`dot live-${stream}`} title={`event stream ${stream}`} />
    <span class="stream">{stream}</span>
    <Sealed />
    {health === null ? null : (
      <>
        <span title="daemon">v{health.version} · up {uptime(health.uptime_s)}</span>
        <span title="peers">
          {health.peers.online} online · {health.peers.busy} busy · {health.peers.offline} offline
        </span>
        <span class={`relay r-${health.relay.status}`} title={health.relay.last_error ?? health.relay.url ?? "relay"}>
          relay {health.relay.status}
          {health.relay.status === "down" && health.relay.last_error !== null ? `: ${health.relay.last_error}` : ""}
        </span>
        {health.policy.status === "none" ?
          null :
          (
            <a
              href="#/rules"
              class={`policy p-${health.policy.status}`}
              title={health.policy.error ?? "access rules in force"}
            >
              {health.policy.status === "invalid" ? "rules: invalid file" : `${health.policy.rules} rules`}
            </a>
          )}
      </>
    )}
  </div>
)
