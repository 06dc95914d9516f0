// Server listings take turns (api_list_concurrency): a listing reads, builds and encodes up to 1,000 servers holding
// one, first come first served. A client that hangs up while its listing waits gives its turn away unused.
import type { FastifyReply } from 'fastify';
import { Counter, Gauge } from 'prom-client';
import { processMetrics } from '@ferry/common/metrics';
import { Slots } from '@ferry/common/service';

const waiting = new Gauge({
  name: 'ferry_api_listings_waiting',
  help: 'Server listings waiting for their turn in this API process (FERRY_API_LIST_CONCURRENCY at a time build theirs).',
  registers: [processMetrics],
});
const abandoned = new Counter({
  name: 'ferry_api_listings_abandoned_total',
  help: 'Server listings whose client hung up while they waited for their turn: nothing was read, built or sent for them.',
  registers: [processMetrics],
});

export class ListingTurns {
  private readonly slots: Slots;

  constructor(concurrency: number) {
    this.slots = new Slots(concurrency);
  }

  /** The listing's answer, built by `answer` in its turn; undefined (nothing to send) if the client left first. */
  async take(reply: FastifyReply, answer: () => Promise<Buffer>): Promise<Buffer | undefined> {
    const gone = new AbortController();
    reply.raw.once('close', () => gone.abort());
    // Gone already (while it was authenticated, say): the close event has passed.
    if (!reply.raw.socket || reply.raw.socket.destroyed) gone.abort();
    waiting.inc();
    const admitted = await this.slots.acquire(gone.signal);
    waiting.dec();
    if (!admitted) {
      abandoned.inc();
      return undefined;
    }
    try {
      return await answer();
    } finally {
      this.slots.release();
    }
  }
}
