// The in-process message bus: queues, fanout bindings and reply boxes shared by every transport on one inproc:// URL.
import type { TapHandler, TappedMessage } from '../tap/tapped-message';

/** A message as it sits in a queue: an encoded body, so no two parties share an object. */
export interface BusMessage {
  readonly body: string;
  /** Epoch ms after which nobody should pick the message up (calls whose caller gave up). */
  readonly expiresAt?: number;
  /** Calls only: the reply box and message id the reply goes to. */
  readonly replyTo?: string;
  readonly msgId?: string;
}

/** One consumer of up to `capacity` messages at a time, possibly attached to several queues. */
export class BusConsumer {
  active = 0;
  readonly queues = new Set<BusQueue>();

  constructor(
    readonly capacity: number,
    private readonly handle: (m: BusMessage) => Promise<void>,
  ) {}

  get hasRoom(): boolean {
    return this.active < this.capacity;
  }

  deliver(m: BusMessage): Promise<void> {
    this.active++;
    return this.handle(m).finally(() => {
      this.active--;
      for (const q of this.queues) q.schedule();
    });
  }
}

/** A FIFO delivered round-robin to consumers with room, always on a later turn of the event loop. */
export class BusQueue {
  private readonly messages: BusMessage[] = [];
  private readonly consumers: BusConsumer[] = [];
  private next = 0;
  private scheduled = false;

  push(m: BusMessage): void {
    this.messages.push(m);
    this.schedule();
  }

  attach(consumer: BusConsumer): void {
    this.consumers.push(consumer);
    consumer.queues.add(this);
    this.schedule();
  }

  detach(consumer: BusConsumer): void {
    const i = this.consumers.indexOf(consumer);
    if (i >= 0) this.consumers.splice(i, 1);
    consumer.queues.delete(this);
  }

  schedule(): void {
    if (this.scheduled || this.messages.length === 0) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.drain();
    });
  }

  private drain(): void {
    while (this.messages.length > 0) {
      const head = this.messages[0];
      if (head.expiresAt !== undefined && head.expiresAt <= Date.now()) {
        this.messages.shift();
        continue;
      }
      const consumer = this.pickConsumer();
      if (!consumer) return;
      this.messages.shift();
      void consumer.deliver(head);
    }
  }

  private pickConsumer(): BusConsumer | undefined {
    for (let i = 0; i < this.consumers.length; i++) {
      const c = this.consumers[(this.next + i) % this.consumers.length];
      if (c.hasRoom) {
        this.next = (this.next + i + 1) % this.consumers.length;
        return c;
      }
    }
    return undefined;
  }
}

export type ReplyBox = (msgId: string, body: string) => void;

export class InprocBus {
  private readonly queues = new Map<string, BusQueue>();
  private readonly fanouts = new Map<string, Set<BusQueue>>();
  private readonly replyBoxes = new Map<string, ReplyBox>();
  private readonly taps = new Set<TapHandler>();
  users = 0;

  /** True while a tap watches: only then do transports describe what they send. */
  get tapped(): boolean {
    return this.taps.size > 0;
  }

  addTap(tap: TapHandler): void {
    this.taps.add(tap);
  }

  removeTap(tap: TapHandler): void {
    this.taps.delete(tap);
  }

  /** Hands m to every tap; a tap that throws is its own problem, never the sender's. */
  observe(m: TappedMessage): void {
    for (const tap of this.taps) {
      try {
        tap(m);
      } catch {
        // A tap's failure must not fail the message it watched.
      }
    }
  }

  /** The queue called name, created on first use; it outlives its consumers, like a durable queue. */
  declareQueue(name: string): BusQueue {
    let q = this.queues.get(name);
    if (!q) {
      q = new BusQueue();
      this.queues.set(name, q);
    }
    return q;
  }

  /** Routes m to the queue called name; false when no such queue was declared (a broker returns a mandatory message). */
  publish(name: string, m: BusMessage): boolean {
    const q = this.queues.get(name);
    q?.push(m);
    return q !== undefined;
  }

  bindFanout(exchange: string, q: BusQueue): void {
    let bound = this.fanouts.get(exchange);
    if (!bound) {
      bound = new Set();
      this.fanouts.set(exchange, bound);
    }
    bound.add(q);
  }

  unbindFanout(exchange: string, q: BusQueue): void {
    this.fanouts.get(exchange)?.delete(q);
  }

  publishFanout(exchange: string, m: BusMessage): void {
    for (const q of this.fanouts.get(exchange) ?? []) q.push(m);
  }

  openReplyBox(address: string, box: ReplyBox): void {
    this.replyBoxes.set(address, box);
  }

  closeReplyBox(address: string): void {
    this.replyBoxes.delete(address);
  }

  /** Delivers a reply on a later turn; dropped when its caller's transport is gone. */
  reply(address: string, msgId: string, body: string): void {
    setImmediate(() => this.replyBoxes.get(address)?.(msgId, body));
  }
}

const buses = new Map<string, InprocBus>();

/** The bus for url, shared by every transport of this process that names the same url. */
export function acquireBus(url: string): InprocBus {
  let bus = buses.get(url);
  if (!bus) {
    bus = new InprocBus();
    buses.set(url, bus);
  }
  bus.users++;
  return bus;
}

/** Forgets the bus when its last transport closes, so the next one starts empty. */
export function releaseBus(url: string, bus: InprocBus): void {
  bus.users--;
  if (bus.users <= 0 && buses.get(url) === bus) buses.delete(url);
}
