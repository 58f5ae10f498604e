import { Command, Options } from "@effect/cli"
import { Effect } from "effect"
import { VERSION } from "../../../Version.js"
import { AGENT_BACKENDS } from "../../agent/Identity.js"
import { serveStdio } from "../../mcp/Stdio.js"
import { runCommand } from "../Client.js"

const backend = Options.choice("backend", AGENT_BACKENDS).pipe(
  Options.withDescription("the agent runtime this server runs in (identity and peer backend)"),
  Options.withDefault("claude-code" as const)
)

export const mcpCommand = Command.make(
  "mcp",
  { backend },
  ({ backend }) => runCommand(serveStdio(backend, VERSION).pipe(Effect.asVoid))
).pipe(
  Command.withDescription("MCP server over stdio (the agent's tools: list_peers, ask, ack, ...)")
)
