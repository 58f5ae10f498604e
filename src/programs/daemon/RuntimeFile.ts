import type { RepowirePaths } from "../../services/Config.js"

/** The pid file, `daemon.json` in the home: pid, port and URL of the running daemon (0600, removed on exit). */
export const runtimeFile = (paths: RepowirePaths) => paths.pidFile
