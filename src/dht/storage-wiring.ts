// How a node lends its parts to the storage part (storage-service.ts) and lends that to the client API
// (storage-api.ts): the StorageHost over the wiring's RPC layer, routing and lookups, the storage query methods
// registered with the query server. The facade (dht.ts) calls this once, after the other parts are built.
import type { DHTNode } from './options.js'
import { StorageApi } from './storage-api.js'
import { STORAGE_QUERY_METHODS, StorageService, type StorageServiceOptions } from './storage-service.js'
import type { NodeWiring } from './wiring.js'

/** Builds the storage part of the node `w` and its client API, and registers the storage query methods. */
export function wireStorage(
  w: NodeWiring,
  opts: StorageServiceOptions | undefined,
  tableNodes: () => DHTNode[],
): { service: StorageService; api: StorageApi } {
  const service = new StorageService(
    {
      get id() {
        return w.id
      },
      clock: w.clock,
      random: w.random,
      peers: w.store,
      tokens: w.tokens,
      closestCompact: (target, want, from) => w.context.closestCompact(target, want, from),
      queryOptions: w.queryOptions,
      version: w.version,
      sendQuery: (to, method, build, o) => w.rpc.query(to, method, build, o),
      toQueryReply: (msg, family, from) => {
        const reply = w.routing.toQueryReply(msg, family, from)
        for (const n of reply.nodes) w.tables[family].heardAbout(n)
        return reply
      },
      runLookup: async (target, query, signal) => {
        w.checkHash(target, 'target')
        const res = await Promise.all(
          w.families().map((family) => w.service.run({ target, family, query: query(family), signal })),
        )
        w.checkAlive()
        return res
      },
      drop: (r) => w.drop(r),
    },
    opts,
    (err) => w.warn(err instanceof Error ? err : new Error(String(err))),
  )
  const packets = { answer: service.serve.bind(service) }
  for (const m of STORAGE_QUERY_METHODS) w.server.registerPacket(m, packets)
  const api = new StorageApi({
    storage: service,
    clock: w.clock,
    random: w.random,
    checkAlive: () => w.checkAlive(),
    checkHash: (h, what) => w.checkHash(h, what),
    tableNodes,
  })
  return { service, api }
}
