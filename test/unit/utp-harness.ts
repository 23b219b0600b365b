// Scripted-test helpers for the uTP connection state machine: a host that records everything, and packet builders.
import { decodeUtpPacket, encodeUtpPacket, type UtpPacket, type UtpPacketInit } from '../../src/codec/utp-packet.js'
import type { UtpConnection } from '../../src/utp/connection.js'
import type { ConnectionHost } from '../../src/utp/host.js'
import type { UtpError } from '../../src/utp/options.js'

export class RecordingHost implements ConnectionHost {
  sent: Uint8Array[] = []
  data: Uint8Array[] = []
  connected = 0
  ended = 0
  finished = 0
  closed: UtpError | null | undefined = undefined
  unread = 0
  conn!: UtpConnection

  send(p: Uint8Array): void {
    this.sent.push(p)
  }
  onConnect(): void {
    this.connected++
  }
  onData(p: Uint8Array): void {
    this.data.push(Uint8Array.from(p))
  }
  onEnd(): void {
    this.ended++
  }
  onFinished(): void {
    this.finished++
  }
  onClose(err: UtpError | null): void {
    this.closed = err
  }
  unreadBytes(): number {
    return this.unread
  }
  /** Decodes and forgets everything sent so far. */
  take(): UtpPacket[] {
    const out = this.sent.map((b) => decodeUtpPacket(b))
    this.sent = []
    return out
  }
  text(): string {
    return Buffer.concat(this.data).toString()
  }
}

/** Builds a decoded packet (through the real encoder/decoder, so tests exercise the wire format). */
export function pkt(init: Partial<UtpPacketInit> & Pick<UtpPacketInit, 'type'>): UtpPacket {
  return decodeUtpPacket(
    encodeUtpPacket({ connId: 0, timestamp: 0, timestampDiff: 0, wnd: 1 << 20, seq: 0, ack: 0, ...init }),
  )
}

/** Delivers packets from one host to a connection, optionally dropping some. */
export function deliver(
  from: RecordingHost,
  to: UtpConnection,
  now: number,
  drop: (p: UtpPacket, i: number) => boolean = () => false,
): UtpPacket[] {
  const ps = from.take()
  ps.forEach((p, i) => {
    if (!drop(p, i)) to.receive(p, now)
  })
  return ps
}
