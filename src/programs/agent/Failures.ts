/** The first line of a failure's message, for one-line CLI errors and MCP tool errors. */
export const messageOf = (e: unknown): string =>
  typeof e === "object" && e !== null && typeof (e as { message?: unknown }).message === "string" &&
    (e as { message: string }).message !== ""
    ? (e as { message: string }).message.split("\n")[0]!
    : String(e)

/** The daemon no longer knows this caller (a fresh state file, or the peer was removed). */
export const isStaleCaller = (peerId: string) => (e: unknown): boolean => {
  const tag = (e as { _tag?: unknown } | null)?._tag
  return tag === "Unauthorized" || (tag === "PeerNotFound" && messageOf(e).includes(peerId))
}
