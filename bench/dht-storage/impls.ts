// The two BEP 44 implementations under one harness: ours (`DHT` over `UdpSocket`) and webtorrent's bittorrent-dht,
// both on real UDP on 127.0.0.1, every datagram a node sends or receives counted by one `DatagramCounter`
// (src/net/counting.ts): through `CountingSocket` for ours, through a wrapper of the anchor's `dgram` socket. Nodes
// start as in the DHT bench (`oursStarter`, `anchorStarter` in bench/dht/impls.ts).
import { generateKeypair, mutableTargetOf, verifySignature } from '../../src/dht/bep44-crypto.js'
import type { DatagramCounter } from '../../src/net/counting.js'
import type { Endpoint } from '../../src/net/types.js'
import { anchorStarter, type ImplSettings, oursStarter } from '../dht/impls.js'

export interface StorageNode {
  readonly port: number
  readonly counter: DatagramCounter
  /** Puts a string (a bencoded byte string); resolves with its target and how many nodes stored it. */
  putImmutable(text: string): Promise<{ target: Uint8Array; stored: number }>
  /** The string under `target`, or undefined. */
  getImmutable(target: Uint8Array): Promise<string | undefined>
  /** Puts a string under a fresh key and `salt` with sequence number `seq`. */
  putMutable(text: string, salt: string, seq: number): Promise<{ publicKey: Uint8Array; stored: number }>
  getMutable(publicKey: Uint8Array, salt: string): Promise<{ value: string; seq: number } | undefined>
  destroy(): Promise<void>
}

export interface StorageImpl {
  readonly name: string
  create(seed: Endpoint | null): Promise<StorageNode>
}

const text = (b: Uint8Array | undefined) => (b instanceof Uint8Array ? new TextDecoder().decode(b) : undefined)

export async function oursStorage(s: ImplSettings = {}): Promise<StorageImpl> {
  const start = await oursStarter(s)
  return {
    name: 'mainline',
    async create(seed) {
      const { dht, socket, destroy } = await start(seed)
      return {
        port: socket.address().port,
        counter: socket.counter,
        async putImmutable(t) {
          const r = await dht.putImmutable(t, { republish: false })
          return { target: r.target, stored: r.stored }
        },
        async getImmutable(target) {
          const r = await dht.getImmutable(target)
          return text(r.value as Uint8Array | undefined)
        },
        async putMutable(t, salt, seq) {
          const keypair = generateKeypair()
          const r = await dht.putMutable({ keypair, value: t, salt, seq, republish: false })
          return { publicKey: keypair.publicKey, stored: r.stored }
        },
        async getMutable(publicKey, salt) {
          const r = await dht.getMutable(publicKey, { salt })
          const v = text(r.item?.value as Uint8Array | undefined)
          return r.item && v !== undefined ? { value: v, seq: Number(r.item.seq) } : undefined
        },
        destroy,
      }
    },
  }
}

interface AnchorItem {
  v: Buffer
  seq?: number
}

export async function anchorStorage(s: ImplSettings = {}): Promise<StorageImpl> {
  // bittorrent-dht takes verify(sig, message, publicKey); the same Ed25519 check as ours (node:crypto).
  const verify = (sig: Uint8Array, msg: Uint8Array, k: Uint8Array) => verifySignature(k, msg, sig)
  const start = await anchorStarter(s, { verify })
  return {
    name: 'bittorrent-dht',
    async create(seed) {
      const { dht, counter } = await start(seed)
      const put = (o: Parameters<typeof dht.put>[0]) =>
        new Promise<{ target: Uint8Array; stored: number }>((resolve) =>
          dht.put(o, (err, hash, n) => resolve({ target: new Uint8Array(hash), stored: err ? 0 : (n ?? 0) })),
        )
      // cache: false — the network's answer, not the node's own copy (it would cost no datagram at all).
      const get = (target: Uint8Array, salt?: string) =>
        new Promise<AnchorItem | undefined>((resolve) =>
          dht.get(Buffer.from(target), { cache: false, ...(salt ? { salt: Buffer.from(salt) } : {}) }, (err, res) =>
            resolve(err || !res ? undefined : res),
          ),
        )
      return {
        port: dht.address().port,
        counter,
        putImmutable: (t) => put({ v: Buffer.from(t) }),
        async getImmutable(target) {
          return text((await get(target))?.v)
        },
        async putMutable(t, salt, seq) {
          const kp = generateKeypair()
          const r = await put({
            k: Buffer.from(kp.publicKey),
            v: Buffer.from(t),
            salt: Buffer.from(salt),
            seq,
            sign: (buf: Buffer) => Buffer.from(kp.sign(buf) as Uint8Array),
          })
          return { publicKey: kp.publicKey, stored: r.stored }
        },
        async getMutable(publicKey, salt) {
          const r = await get(mutableTargetOf(publicKey, new TextEncoder().encode(salt)), salt)
          const v = text(r?.v)
          return r && v !== undefined ? { value: v, seq: Number(r.seq) } : undefined
        },
        destroy: () => new Promise<void>((resolve) => dht.destroy(() => resolve())),
      }
    },
  }
}
