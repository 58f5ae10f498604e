import type { KeyPair } from "../../../src/protocol/sealed/core/Crypto.js"

/**
 * What a paired browser keeps in IndexedDB: its X25519 key pair (the private half a
 * non-extractable CryptoKey, which IndexedDB stores without ever exposing its bytes) and the
 * daemon identity key it pinned at pairing.
 */
export interface StoredDevice {
  readonly deviceId: string
  readonly key: KeyPair
  readonly daemonKey: Uint8Array
  readonly daemonFingerprint: string
}

const DB = "repowire-sealed"
const STORE = "device"
const SLOT = "this-browser"

const open = () =>
  new Promise<IDBDatabase>((resolve, reject) => {
    const request = indexedDB.open(DB, 1)
    request.onupgradeneeded = () => request.result.createObjectStore(STORE)
    request.onsuccess = () => resolve(request.result)
    request.onerror = () => reject(request.error)
  })

const run = async <A>(mode: IDBTransactionMode, f: (store: IDBObjectStore) => IDBRequest<A>): Promise<A> => {
  const db = await open()
  try {
    return await new Promise<A>((resolve, reject) => {
      const tx = db.transaction(STORE, mode)
      const request = f(tx.objectStore(STORE))
      tx.oncomplete = () => resolve(request.result)
      tx.onerror = () => reject(tx.error)
      tx.onabort = () => reject(tx.error)
    })
  } finally {
    db.close()
  }
}

const isStoredDevice = (value: unknown): value is StoredDevice => {
  const v = value as StoredDevice | undefined
  return typeof v?.deviceId === "string" && v.key?.privateKey instanceof CryptoKey &&
    v.key.publicKey instanceof Uint8Array && v.daemonKey instanceof Uint8Array &&
    typeof v.daemonFingerprint === "string"
}

export const loadDevice = async (): Promise<StoredDevice | undefined> => {
  const value = await run("readonly", (s) => s.get(SLOT))
  return isStoredDevice(value) ? value : undefined
}

export const saveDevice = (device: StoredDevice) => run("readwrite", (s) => s.put(device, SLOT))
