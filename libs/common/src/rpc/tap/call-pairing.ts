// Pairs each reply with the call it answers (by message id): the reply gets the call's method, instance and request id,
// its sender and target, and the latency between the two.
import type { BusEvent } from './bus-event';

/** Calls remembered at most, and for how long: a call whose reply the tap never sees must not be kept forever. */
export const PAIRING_CAPACITY = 100_000;
export const PAIRING_TTL_MS = 10 * 60_000;

interface SeenCall {
  readonly at: number;
  readonly event: BusEvent;
}

export class CallPairing {
  /** In the order seen, so the oldest come first when evicting. */
  private readonly calls = new Map<string, SeenCall>();

  constructor(
    private readonly capacity = PAIRING_CAPACITY,
    private readonly ttlMs = PAIRING_TTL_MS,
  ) {}

  /** event as the tail shows it: a reply completed from its call, anything else as it is. at is when the tap saw it. */
  pair(event: BusEvent, at: number): BusEvent {
    if (event.msg_id === null) return event;
    if (event.kind === 'call') {
      this.remember(event.msg_id, { at, event });
      return event;
    }
    if (event.kind !== 'reply') return event;
    const call = this.calls.get(event.msg_id);
    if (!call) return event;
    this.calls.delete(event.msg_id);
    const c = call.event;
    return {
      ...event,
      // The process that answered, when it said and is not the caller's own (all services in one process); otherwise
      // the server the call went to. The reply goes back to whoever called.
      sender: event.sender !== null && event.sender !== c.sender ? event.sender : c.target,
      target: c.sender ?? event.target,
      topic: c.topic,
      method: c.method,
      version: c.version,
      instance: c.instance,
      migration: c.migration,
      request_id: c.request_id,
      latency_ms: Math.max(0, Math.round((at - call.at) * 1000) / 1000),
    };
  }

  /** Calls waiting for a reply. */
  get size(): number {
    return this.calls.size;
  }

  private remember(msgId: string, call: SeenCall): void {
    this.calls.set(msgId, call);
    for (const [id, oldest] of this.calls) {
      if (this.calls.size <= this.capacity && oldest.at >= call.at - this.ttlMs) break;
      this.calls.delete(id);
    }
  }
}
