import type { IncomingMessage, ServerResponse } from "node:http"
import type { Duplex } from "node:stream"
import type { TunnelLink } from "../../../services/RelayRouter.js"
import { RelayTunnel } from "./RelayTunnel.js"

/** A tunnel that browser requests and WebSockets are streamed into, straight from node:http. */
export interface ProxyLink extends TunnelLink {
  proxyHttp(req: IncomingMessage, res: ServerResponse, path: string): void
  proxyUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, path: string): void
}

/** The proxy side of a link from the relay's table (every link it holds is a RelayTunnel). */
export const asProxyLink = (link: TunnelLink): ProxyLink | undefined => link instanceof RelayTunnel ? link : undefined
