// `mainline dht put|get|keygen|sample|crawl|scrape`: BEP 44 items, BEP 51 samples and crawls, BEP 33 scrapes,
// on a short-lived read-only node (BEP 43), as the other one-shot dht commands.
import { decode } from '../codec/bencode.js'
import { toHex } from '../codec/bytes.js'
import { generateKeypair } from '../dht/bep44-crypto.js'
import { bootstrapList, endpoint, hash20, type Parsed, parse, portOption } from './dht-args.js'
import { bootstrapped, guarded, open, peerText } from './dht-session.js'
import { seqJson, seqOption, showValue, valueFromArgument } from './dht-values.js'
import { keyFileContents, readKeyFile, writeKeyFile } from './key-file.js'
import { type Output, quote, UsageError } from './output.js'

export const STORAGE_USAGE = `  mainline dht put <value> [--raw] [--hex] [--mutable --key FILE [--salt S] [--seq N] [--cas N]]
                   [--bootstrap H:P]... [--port P] [--host H] [--timeout S] [--json]
      Stores a BEP 44 item on the K nodes closest to its target. The value is a string (stored as a bencoded
      string), with --hex a string given in hex, with --raw a bencoded value (e.g. 'd3:fooi1ee'; with --hex too,
      its bytes in hex); 1000 bytes bencoded at most. Immutable by default (target = SHA-1 of the bencoded
      value); --mutable signs it with the key in FILE (see keygen) under the public key and the optional --salt,
      with sequence number --seq (default: one more than the newest found) and, with --cas N, only if the nodes
      hold seq N now. Prints "put" with the target and how many nodes stored it; exit 1 when none did, or when
      a newer item (or another seq than --cas) is stored. --timeout defaults to 30.
  mainline dht get <target|publickey> [--salt S] [--seq N] [--bootstrap H:P]... [--port P] [--host H]
                   [--timeout S] [--json]
      Finds a BEP 44 item: 40 hex digits are an immutable item's target, 64 hex digits a public key (a mutable
      item; with --salt, the one under that salt; with --seq, only one newer than N). Values are checked (hash,
      signature) and the newest valid one printed: as text when it is a printable string, its bencoding when that
      is printable, hex otherwise. Exit 1 when none was found. --timeout defaults to 30.
  mainline dht keygen [--out FILE] [--json]
      Makes an Ed25519 key for mutable items. With --out, writes it to FILE (a new file, mode 0600) and prints the
      public key; without, prints the whole key, seed included. Key file format: one JSON line,
      {"type":"ed25519","seed":"<64 hex>","publicKey":"<64 hex>"} (seed: RFC 8032's 32-byte private key).
  mainline dht sample <host:port> [--port P] [--host H] [--timeout S] [--json]
      Asks one node for a sample of the infohashes it stores (BEP 51). Prints "infohash" for each, then "sampled"
      with the node's id, its total ("num") and the seconds to wait before asking it again ("interval"). Exit 1
      on timeout (default 5) or when the node does not support sample_infohashes.
  mainline dht crawl [--limit N] [--bootstrap H:P]... [--port P] [--host H] [--timeout S] [--json]
      Walks the DHT with sample_infohashes (BEP 51), never asking a node again before its interval, and prints
      each infohash found once. Ends after --limit infohashes, at --timeout (default 60) or when every node met
      was asked, then prints "done". Exit 0 unless it failed.
  mainline dht scrape <infohash> [--bootstrap H:P]... [--port P] [--host H] [--timeout S] [--json]
      Estimates a torrent's seeds and downloaders from the bloom filters of the nodes closest to it (BEP 33).
      Prints "scrape"; exit 1 when no node answered. --timeout defaults to 30.`

export const STORAGE_EVENTS = `  {"event":"put","target":HEX,"stored":N,"nodes":N}        (+ "publicKey","seq", "salt" for mutable items)
  {"event":"item","target":HEX,"format":"text"|"bencode"|"hex","value":S,"v":HEX}
                                                            (+ "publicKey","seq","sig","salt" for mutable items)
  {"event":"not_found","target":HEX,"discarded":N}          (items that failed their hash or signature check)
  {"event":"keygen","publicKey":HEX,"file":FILE}            (without --out: "seed" instead of "file")
  {"event":"infohash","infoHash":HEX}
  {"event":"sampled","host":H,"port":P,"id":HEX,"num":N,"interval":S,"samples":N}
  {"event":"done","infoHashes":N,"ms":T}                    (crawl)
  {"event":"scrape","infoHash":HEX,"seeds":N,"peers":N,"nodes":N}`

// ---- commands -----------------------------------------------------------------------------------------------

const oneShot = (p: Parsed, timeoutS: number) => ({
  port: portOption(p.values.port, '--port', 0),
  timeoutS,
  readOnly: true,
})

function saltOption(v: unknown): Uint8Array | undefined {
  if (v === undefined) return undefined
  const salt = new TextEncoder().encode(String(v))
  if (salt.length > 64) throw new UsageError(`--salt is ${salt.length} bytes; BEP 44 allows 64`)
  return salt.length === 0 ? undefined : salt
}

/** The "publicKey"/"salt" fields of a mutable item's events. */
function mutableFields(publicKey: Uint8Array, salt: Uint8Array | undefined): Record<string, unknown> {
  return salt ? { publicKey: toHex(publicKey), salt: new TextDecoder().decode(salt) } : { publicKey: toHex(publicKey) }
}

async function put(argv: string[], out: Output): Promise<number> {
  const p = parse(
    argv,
    {
      raw: { type: 'boolean' },
      hex: { type: 'boolean' },
      mutable: { type: 'boolean' },
      key: { type: 'string' },
      salt: { type: 'string' },
      seq: { type: 'string' },
      cas: { type: 'string' },
    },
    1,
  )
  const v = valueFromArgument(p.positionals[0], { raw: p.values.raw === true, hex: p.values.hex === true })
  const mutable = p.values.mutable === true
  const salt = saltOption(p.values.salt)
  const seq = seqOption(p.values.seq, '--seq')
  const cas = seqOption(p.values.cas, '--cas')
  if (!mutable && (p.values.key !== undefined || salt || seq !== undefined || cas !== undefined))
    throw new UsageError('--key, --salt, --seq and --cas are for --mutable items')
  if (mutable && p.values.key === undefined)
    throw new UsageError('--mutable needs --key FILE (see mainline dht keygen)')
  const keypair = mutable ? await readKeyFile(p.values.key as string, (w) => out.error(`warning: ${w}`)) : undefined
  const s = await open(p, out, oneShot(p, 30), bootstrapList(p.values))
  return guarded(s, out, 'put', async () => {
    await bootstrapped(s, out)
    const value = decode(v)
    // The CLI process is about to end: nothing would keep republishing.
    const o = { signal: s.signal, republish: false }
    const r = keypair
      ? await s.dht.putMutable({ keypair, value, salt, seq, cas, ...o })
      : await s.dht.putImmutable(value, o)
    const fields: Record<string, unknown> = { target: toHex(r.target), stored: r.stored, nodes: r.nodes }
    if (keypair) Object.assign(fields, mutableFields(keypair.publicKey, salt), seqField(r))
    out.event('put', fields, `stored ${toHex(r.target)} on ${r.stored} of ${r.nodes} nodes`)
    if (r.stored > 0) return 0
    out.error('no node stored the item')
    return 1
  })
}

function seqField(r: { seq?: bigint }): Record<string, unknown> {
  return r.seq === undefined ? {} : { seq: seqJson(r.seq) }
}

async function get(argv: string[], out: Output): Promise<number> {
  const p = parse(argv, { salt: { type: 'string' }, seq: { type: 'string' } }, 1)
  const arg = p.positionals[0]
  const isKey = /^[0-9a-fA-F]{64}$/.test(arg)
  const key = isKey ? hash32(arg) : hash20(arg, 'a target (40 hex digits) or public key (64)')
  const salt = saltOption(p.values.salt)
  const seq = seqOption(p.values.seq, '--seq')
  if (!isKey && (salt || seq !== undefined))
    throw new UsageError('--salt and --seq are for mutable items (a public key)')
  const s = await open(p, out, oneShot(p, 30), bootstrapList(p.values))
  return guarded(s, out, 'get', async () => {
    await bootstrapped(s, out)
    if (isKey) {
      const r = await s.dht.getMutable(key, { salt, seq, signal: s.signal })
      if (!r.item) return notFound(out, undefined, r.discarded)
      const it = r.item
      const shown = showValue(it.v)
      out.event(
        'item',
        {
          target: toHex(it.target),
          ...shown,
          v: toHex(it.v),
          ...mutableFields(key, salt),
          seq: seqJson(it.seq),
          sig: toHex(it.sig),
          from: peerText(it.from),
        },
        shown.value,
      )
      return 0
    }
    const r = await s.dht.getImmutable(key, { signal: s.signal })
    if (!r.v) return notFound(out, key, r.discarded)
    const shown = showValue(r.v)
    out.event('item', { target: toHex(key), ...shown, v: toHex(r.v) }, shown.value)
    return 0
  })
}

function notFound(out: Output, target: Uint8Array | undefined, discarded: number): number {
  out.event('not_found', { target: target && toHex(target), discarded }, undefined)
  out.error(`not found${discarded ? ` (${discarded} invalid item${discarded === 1 ? '' : 's'} discarded)` : ''}`)
  return 1
}

function hash32(s: string): Uint8Array {
  return Uint8Array.from(Buffer.from(s, 'hex'))
}

async function keygen(argv: string[], out: Output): Promise<number> {
  const p = parse(argv, { out: { type: 'string' } })
  const file = p.values.out as string | undefined
  if (file === '') throw new UsageError('--out needs a file path')
  const kp = generateKeypair()
  if (file === undefined) {
    const c = keyFileContents(kp)
    out.event('keygen', { publicKey: c.publicKey, seed: c.seed }, JSON.stringify(c))
    return 0
  }
  try {
    await writeKeyFile(file, kp)
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    out.error(`cannot write ${quote(file)}: ${code === 'EEXIST' ? 'it exists (a key file is never replaced)' : code}`)
    return 1
  }
  out.event('keygen', { publicKey: toHex(kp.publicKey), file }, `public key ${toHex(kp.publicKey)} written to ${file}`)
  return 0
}

async function sample(argv: string[], out: Output): Promise<number> {
  const p = parse(argv, {}, 1)
  const node = endpoint(p.positionals[0])
  const s = await open(p, out, oneShot(p, 5), [])
  return guarded(s, out, 'sample', async () => {
    const r = await s.dht.sampleInfohashes(node, { signal: s.signal })
    for (const ih of r.samples) out.event('infohash', { infoHash: toHex(ih) }, toHex(ih))
    out.event(
      'sampled',
      { ...node, id: toHex(r.id), num: r.num, interval: r.interval, samples: r.samples.length },
      `${r.samples.length} of ${r.num} infohashes from ${peerText(node)} (ask again in ${r.interval} s)`,
    )
    return 0
  })
}

async function crawl(argv: string[], out: Output): Promise<number> {
  const p = parse(argv, { limit: { type: 'string' } }, 0)
  const limitArg = p.values.limit as string | undefined
  const limit = limitArg === undefined ? Number.POSITIVE_INFINITY : Number(limitArg)
  if (limitArg !== undefined && (!/^\d+$/.test(limitArg) || limit < 1))
    throw new UsageError(`--limit must be a positive integer, got ${quote(limitArg)}`)
  const s = await open(p, out, oneShot(p, 60), bootstrapList(p.values))
  const t0 = performance.now()
  let found = 0
  const done = () => {
    const ms = Math.round(performance.now() - t0)
    out.event('done', { infoHashes: found, ms }, `${found} infohash${found === 1 ? '' : 'es'} in ${ms} ms`)
    return 0
  }
  // The crawl's own end, --limit and --timeout are all normal ends once bootstrapped.
  return guarded(s, out, 'crawl', async () => {
    await bootstrapped(s, out)
    try {
      const stop = new AbortController()
      const signal = AbortSignal.any([s.signal, stop.signal])
      for await (const ih of s.dht.crawl({ signal })) {
        out.event('infohash', { infoHash: toHex(ih) }, toHex(ih))
        if (++found >= limit) {
          stop.abort()
          break
        }
      }
    } catch (err) {
      if (!s.timedOut()) throw err
    }
    return done()
  })
}

async function scrape(argv: string[], out: Output): Promise<number> {
  const p = parse(argv, {}, 1)
  const infoHash = hash20(p.positionals[0], 'infohash')
  const s = await open(p, out, oneShot(p, 30), bootstrapList(p.values))
  return guarded(s, out, 'scrape', async () => {
    await bootstrapped(s, out)
    const r = await s.dht.scrape(infoHash, { signal: s.signal })
    if (r.nodes === 0) throw new Error('no DHT node answered')
    out.event(
      'scrape',
      { infoHash: toHex(infoHash), seeds: r.seeds, peers: r.peers, nodes: r.nodes },
      `${toHex(infoHash)}: about ${r.seeds} seeds and ${r.peers} downloaders (from ${r.nodes} nodes)`,
    )
    return 0
  })
}

export const STORAGE_COMMANDS: Record<string, (argv: string[], out: Output) => Promise<number>> = {
  put,
  get,
  keygen,
  sample,
  crawl,
  scrape,
}
