import { Layer, Logger } from "effect"

/**
 * Logs go to stderr: stdout carries command output and the MCP protocol. NodeRuntime.runMain
 * installs a stdout logger (STACK G4), so both default loggers are removed.
 */
export const StderrLogger = Layer.mergeAll(
  Logger.remove(Logger.defaultLogger),
  Logger.remove(Logger.prettyLoggerDefault),
  Logger.add(Logger.prettyLogger({ stderr: true, colors: false }))
)
