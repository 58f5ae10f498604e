// No imports: the hook reads these without loading effect.

/**
 * Files under the repowire home that the daemon and its local clients both use: their names
 * are a contract between them, like the HTTP API.
 */

/** The local human credential: made by the daemon (0600), presented by the CLI to register as a human. */
export const HUMAN_CREDENTIAL_FILE = "human.token"
