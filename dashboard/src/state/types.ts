// The wire types, imported as types only so the bundle carries no schema code.
export type { AttachmentRef } from "../../../src/protocol/Attachment.js"
export type { Health, RelayStatus } from "../../../src/protocol/DaemonApi.js"
export type { MeshEvent, MeshEventType } from "../../../src/protocol/MeshEvent.js"
export type { Ask } from "../../../src/protocol/Message.js"
export type { Peer, PeerStatus } from "../../../src/protocol/Peer.js"
export type { PolicyView } from "../../../src/protocol/Policy.js"
export type { Schedule } from "../../../src/protocol/Schedule.js"
