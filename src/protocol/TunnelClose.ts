/**
 * WebSocket close codes the relay ends a daemon's tunnel with. The close reason starts with
 * the name (`flow_control: …`), so the daemon's `relay.last_error` says which rule it broke.
 */
export const TunnelClose = {
  /** A newer tunnel with the same key and daemon id took over. */
  replaced: 4001,
  /** The key was revoked or rotated. */
  revoked: 4003,
  /** The daemon sent past its credit, queued more than the relay holds, or stopped reading. */
  flowControl: 4008,
  /** The key already has as many tunnels open as the relay allows. */
  tooManyTunnels: 4029
} as const
