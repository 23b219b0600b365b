// A typed EventEmitter: the event map fixes each event's argument tuple, so listeners and emits are checked.
import { EventEmitter } from 'node:events'

// biome-ignore lint/suspicious/noExplicitAny: the constraint of an event map must accept any tuple
export type EventMap = Record<string, any[]>

export class TypedEventEmitter<E extends EventMap> extends EventEmitter {
  override on<K extends keyof E & string>(event: K, listener: (...args: E[K]) => void): this {
    return super.on(event, listener as (...args: unknown[]) => void)
  }
  override once<K extends keyof E & string>(event: K, listener: (...args: E[K]) => void): this {
    return super.once(event, listener as (...args: unknown[]) => void)
  }
  override off<K extends keyof E & string>(event: K, listener: (...args: E[K]) => void): this {
    return super.off(event, listener as (...args: unknown[]) => void)
  }
  override emit<K extends keyof E & string>(event: K, ...args: E[K]): boolean {
    return super.emit(event, ...args)
  }
}
