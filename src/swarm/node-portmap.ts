// SwarmNode's router port mapping: maps the node's UDP port (DHT + uTP) and TCP port through net/portmap when the
// node starts, forwards the mapper's events as `portmap:*`, and answers which port to announce. Kept out of
// node.ts, which only starts it, asks it and closes it.
import { isLoopback } from '../codec/ip.js'
import {
  type PortMapFailure,
  PortMapper,
  type PortMapperOptions,
  type PortMapping,
} from '../net/portmap/port-mapper.js'
import type { Endpoint } from '../net/types.js'

export type { PortMapFailure, PortMapperOptions, PortMapping }

/** What the node's router mappings are now. */
export interface PortMappingState {
  udp?: PortMapping
  tcp?: PortMapping
  /** Where the Internet reaches the node: the UDP mapping's external endpoint (else the TCP one). */
  external?: Endpoint
}

export type PortMapEvents = {
  'portmap:mapped': [m: PortMapping]
  'portmap:renewed': [m: PortMapping]
  'portmap:removed': [m: PortMapping]
  'portmap:failed': [f: PortMapFailure]
}

/** Where the events go (the SwarmNode). */
export interface PortMapEmitter {
  emit<K extends keyof PortMapEvents>(name: K, ...args: PortMapEvents[K]): boolean
}

/**
 * Whether a node maps its ports: `option` when given; otherwise on for a node on real sockets (no `socket` given)
 * that does not listen on loopback only (nothing outside could reach that, and tests must not ask the machine's
 * real router).
 */
export function portMapWanted(option: boolean | PortMapperOptions | undefined, socketGiven: boolean, host: string) {
  if (option !== undefined) return option !== false
  return !socketGiven && !isLoopback(host)
}

export class NodePortMap {
  readonly mapper: PortMapper
  /** Settles when the first attempt for every port ended (mapped or failed); never rejects. */
  readonly started: Promise<void>

  constructor(local: Endpoint, tcp: boolean, options: PortMapperOptions, node: PortMapEmitter) {
    this.mapper = new PortMapper(options)
    this.mapper.on('mapped', (m) => node.emit('portmap:mapped', m))
    this.mapper.on('renewed', (m) => node.emit('portmap:renewed', m))
    this.mapper.on('removed', (m) => node.emit('portmap:removed', m))
    this.mapper.on('failed', (f) => node.emit('portmap:failed', f))
    const ports: { protocol: 'udp' | 'tcp'; port: number }[] = [{ protocol: 'udp', port: local.port }]
    if (tcp) ports.push({ protocol: 'tcp', port: local.port })
    this.started = this.mapper.start(ports)
  }

  /** Starts mapping `local` when the node's options want it (see portMapWanted). */
  static start(
    opts: { portmap?: boolean | PortMapperOptions; socket?: unknown; host?: string },
    local: Endpoint,
    tcp: boolean,
    node: PortMapEmitter,
  ): NodePortMap | undefined {
    if (!portMapWanted(opts.portmap, opts.socket !== undefined, opts.host ?? '0.0.0.0')) return undefined
    return new NodePortMap(local, tcp, typeof opts.portmap === 'object' ? opts.portmap : {}, node)
  }

  get state(): PortMappingState {
    const udp = this.mapper.mapping('udp')
    const tcp = this.mapper.mapping('tcp')
    return { udp, tcp, external: udp?.external ?? tcp?.external }
  }

  /** The port to announce on the DHT: the UDP mapping's external port once the attempt ended, else `local`. */
  async announcePort(local: number): Promise<number> {
    await this.started
    return this.state.udp?.external.port ?? local
  }

  close(): Promise<void> {
    return this.mapper.close()
  }
}
