/** Every decoder in `codec/` fails only with a `CodecError`: a stable `code`, the byte `offset` where it gave up. */
export type CodecErrorCode =
  | 'TRUNCATED' // input ended inside a value
  | 'UNEXPECTED_BYTE' // a byte that cannot start or continue a value here
  | 'LEADING_ZERO' // "i03e", "i-0e" or "03:abc"
  | 'NEGATIVE_LENGTH'
  | 'LENGTH_OVERFLOW' // a string length past the buffer or past the configured maximum
  | 'INTEGER_OVERFLOW'
  | 'UNSORTED_KEYS'
  | 'DUPLICATE_KEY'
  | 'TRAILING_BYTES'
  | 'TOO_DEEP'
  | 'TOO_MANY_ITEMS'
  | 'NOT_ENCODABLE' // encoder was given something bencode cannot represent
  | 'BAD_LENGTH' // a fixed-size or multiple-of-N field has the wrong length
  | 'BAD_VALUE' // a field that parsed but holds a value out of range
  | 'BAD_ADDRESS'
  | 'BAD_TYPE' // a value of the wrong bencode type (a KRPC key that must be a dict, a string, ...)
  | 'MISSING_KEY' // a required KRPC key is absent

export class CodecError extends Error {
  override readonly name: string = 'CodecError'
  readonly code: CodecErrorCode
  readonly offset: number
  constructor(code: CodecErrorCode, message: string, offset = -1) {
    super(offset >= 0 ? `${message} (at byte ${offset})` : message)
    this.code = code
    this.offset = offset
  }
}
