// KRPC (BEP 5) in one import: builders, the parser, types and error codes. `query` and `reply` group the
// builders the way the seed's `:query` and `:reply` export tags do.
import { buildGetQuery, buildGetReply, buildPutQuery, buildPutReply } from './bep44-build.js'
import { buildSampleInfohashesQuery, buildSampleInfohashesReply } from './bep51.js'
import {
  buildAnnouncePeerQuery,
  buildAnnouncePeerReply,
  buildErrorReply,
  buildFindNodeQuery,
  buildFindNodeReply,
  buildGetPeersQuery,
  buildGetPeersReply,
  buildPingQuery,
  buildPingReply,
} from './krpc-build.js'

export * from './krpc-build.js'
export { type ParseKrpcOptions, parseKrpc } from './krpc-parse.js'
export * from './krpc-types.js'

/** Query builders: `query.ping(tid, nid)`, `query.findNode(tid, nid, target)`, … */
export const query = Object.freeze({
  ping: buildPingQuery,
  findNode: buildFindNodeQuery,
  getPeers: buildGetPeersQuery,
  announcePeer: buildAnnouncePeerQuery,
  get: buildGetQuery,
  put: buildPutQuery,
  sampleInfohashes: buildSampleInfohashesQuery,
})

/** Reply builders: `reply.ping(tid, nid)`, `reply.getPeers(tid, nid, values, nodes, token)`, `reply.error(…)`. */
export const reply = Object.freeze({
  ping: buildPingReply,
  findNode: buildFindNodeReply,
  getPeers: buildGetPeersReply,
  announcePeer: buildAnnouncePeerReply,
  get: buildGetReply,
  put: buildPutReply,
  sampleInfohashes: buildSampleInfohashesReply,
  error: buildErrorReply,
})
