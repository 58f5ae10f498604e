// No imports: the hook's promise client says this too, without loading effect.

/** What every local client says when the daemon does not answer: where it looked, why, and the way out. */
export const unreachableMessage = (baseUrl: string, cause: string) =>
  `daemon not reachable at ${baseUrl} (${cause}); start it with \`repowire daemon start\``

/** A socket error as the cause in that message. */
export const unreachableCause = (code: unknown, message: string) =>
  code === "ECONNREFUSED" ? "connection refused" : message
