// GET /os-ferry-bus (Ferry's extension, admin only): every call, cast, reply and notification on the bus from now on,
// as JSON lines (application/x-ndjson) — what `ferry bus tail` shows, for a deployment whose bus only the API process
// can reach (the all-in-one's in-process bus). Filters: topic, method, instance, host, request_id. A client reading
// slower than the bus gets a {"notice": {"kind": "dropped", ...}} line for what it missed; a blank line every 15 s
// keeps idle connections open.
import { PassThrough } from 'node:stream';
import { BadRequest } from '@ferry/common/domain';
import { checkTailFilter, FILTER_KEYS, startBusTail, type BusTailFilter } from '@ferry/common/rpc';
import type { RoutesPlugin } from '../../api-deps';
import { requireAdmin } from '../../http/policy';
import { lastValue, rejectRepeated, rejectUnknownParams, type Query } from '../common/request-params';
import { ferryTapOptions } from './tap-options';

const POLICY = 'os_compute_api:os-ferry-bus';
export const BUS_STREAM_TYPE = 'application/x-ndjson';
/** What the response may buffer for a slow client before the stream starts dropping (and says so). */
const STREAM_BUFFER_BYTES = 4 * 1024 * 1024;
const KEEPALIVE_MS = 15_000;

export const ferryBusRoutes: RoutesPlugin = async (app, { deps }) => {
  const open = new Set<() => void>();
  // A stream never ends by itself: end them all, or closing the server would wait for them forever.
  app.addHook('preClose', async () => {
    for (const end of [...open]) end();
  });

  app.get('/os-ferry-bus', { exposeHeadRoute: false }, async (req, reply) => {
    requireAdmin(req.ctx, POLICY);
    const filter = readFilter(req.query as Query);
    const stream = new PassThrough({ highWaterMark: STREAM_BUFFER_BYTES });
    const out = new DroppingWriter(stream);
    const tail = await startBusTail(deps.transport, {
      filter,
      tap: await ferryTapOptions(deps.db.dataSource),
      onEvent: (event) => out.write(event),
      onNotice: (notice) => out.write({ notice }),
    });
    // A blank line at once: it sends the headers, so the client knows the tap is in place.
    stream.write('\n');
    const keepalive = setInterval(() => stream.write('\n'), KEEPALIVE_MS);
    const end = (): void => {
      if (!open.delete(end)) return;
      clearInterval(keepalive);
      void tail.stop().finally(() => stream.end());
    };
    open.add(end);
    reply.raw.on('close', end);
    return reply.type(BUS_STREAM_TYPE).send(stream);
  });
};

function readFilter(query: Query): BusTailFilter {
  rejectUnknownParams(query, FILTER_KEYS);
  rejectRepeated(query, FILTER_KEYS);
  try {
    return checkTailFilter(Object.fromEntries(FILTER_KEYS.map((k) => [k, lastValue(query, k)])));
  } catch (err) {
    throw new BadRequest(`Invalid input for query parameters: ${(err as Error).message}`);
  }
}

/** Writes JSON lines while the client keeps up; past the buffer, counts what it drops and says so once it drains. */
class DroppingWriter {
  private blocked = false;
  private dropped = 0;
  private total = 0;

  constructor(private readonly stream: PassThrough) {}

  write(record: unknown): void {
    if (this.blocked) {
      this.dropped++;
      return;
    }
    if (this.stream.write(`${JSON.stringify(record)}\n`)) return;
    this.blocked = true;
    this.stream.once('drain', () => {
      this.blocked = false;
      if (this.dropped === 0) return;
      this.total += this.dropped;
      const count = this.dropped;
      this.dropped = 0;
      this.write({ notice: { kind: 'dropped', count, total: this.total } });
    });
  }
}
