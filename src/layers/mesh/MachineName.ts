import { hostname } from "node:os"
import type { ConfigFile } from "../../protocol/ConfigFile.js"

/** The name this daemon's peers carry as `machine`: `daemon.machine_name`, else the host name made name-safe. */
export const machineNameOf = (values: ConfigFile): string =>
  values.daemon.machine_name ??
    (hostname().replace(/[^A-Za-z0-9._-]/g, "-").replace(/^[^A-Za-z0-9]+/, "").slice(0, 63) || "machine")
