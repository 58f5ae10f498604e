// Placeholder with the signature the lead's Launcher exports on main; replaced on merge.
import type { ConfigFile } from "../../protocol/ConfigFile.js"
import type { RepowirePaths } from "../../services/Config.js"

export const daemonHealth = async (_baseUrl: string, _authToken?: string): Promise<unknown> => {
  throw new Error("not implemented")
}

export const ensureDaemon = async (
  _paths: RepowirePaths,
  values: ConfigFile
): Promise<{ started: boolean; baseUrl: string }> => ({
  started: false,
  baseUrl: `http://${values.daemon.host}:${values.daemon.port}`
})
