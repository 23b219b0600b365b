// Errors raised by the DHT node. Every one carries a stable `code`; a KRPC error reply from a remote node keeps
// its numeric KRPC code and message in `krpcCode` / `message`.

export type DHTErrorCode =
  | 'TIMEOUT' // a query got no reply within the hard timeout
  | 'ABORTED' // the caller's AbortSignal fired
  | 'DESTROYED' // the node was destroyed while the operation ran
  | 'KRPC_ERROR' // the remote node answered with a KRPC error (`y: e`)
  | 'BAD_REPLY' // a reply that parsed but lacks what the query needs (e.g. no 20-byte `id`)
  | 'WRONG_ID' // a node answered under another id than the one it was listed with
  | 'NOT_LISTENING' // an operation that needs the socket before listen()
  | 'TOO_MANY_PENDING' // the transaction table is full
  | 'BAD_ADDRESS' // an endpoint of the wrong family, or not an IP literal
  | 'BAD_ARGUMENT' // an argument of the wrong shape (e.g. a 19-byte info hash)
  | 'STATE_FILE' // a state file could not be read or written
  | 'SEQ_TOO_LOW' // BEP 44: a mutable put met a newer item in the DHT (StorageConflictError carries its seq)
  | 'CAS_MISMATCH' // BEP 44: a mutable put's `cas` is not the seq the DHT holds

export class DHTError extends Error {
  override readonly name: string = 'DHTError'
  readonly code: DHTErrorCode
  /** For `KRPC_ERROR`: the remote's numeric error code (201..204 or other). */
  readonly krpcCode: number | undefined
  constructor(code: DHTErrorCode, message: string, krpcCode?: number) {
    super(message)
    this.code = code
    this.krpcCode = krpcCode
  }
}

export function abortError(): DHTError {
  return new DHTError('ABORTED', 'operation aborted')
}
