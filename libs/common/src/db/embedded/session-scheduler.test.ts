import { silentLogger } from '../../log';
import { SessionScheduler, readyForQueryStatus, simpleQuery } from './session-scheduler';

const rfq = (status: 'I' | 'T' | 'E') => Uint8Array.of(0x5a, 0, 0, 0, 5, status.charCodeAt(0));
const msg = (type: string, body = '') => {
  const b = Buffer.from(body, 'utf8');
  const m = Buffer.alloc(5 + b.length);
  m.write(type, 0, 'latin1');
  m.writeInt32BE(4 + b.length, 1);
  b.copy(m, 5);
  return new Uint8Array(m);
};
const sqlOf = (m: Uint8Array) => Buffer.from(m.subarray(5, m.length - 1)).toString('utf8');

/** A stand-in for PGlite: tracks BEGIN/COMMIT/ROLLBACK, answers a cycle's end with ReadyForQuery. */
function fakeSession() {
  const log: string[] = [];
  let inTx = false;
  const exec = async (m: Uint8Array): Promise<Uint8Array> => {
    await new Promise((r) => setImmediate(r));
    const type = String.fromCharCode(m[0]);
    if (type === 'Q') {
      const sql = sqlOf(m);
      log.push(sql);
      if (sql === 'BEGIN') inTx = true;
      if (sql === 'COMMIT' || sql === 'ROLLBACK') inTx = false;
      return rfq(inTx ? 'T' : 'I');
    }
    log.push(type);
    if (type === 'S') return rfq(inTx ? 'T' : 'I');
    return Uint8Array.of(0x31, 0, 0, 0, 4); // ParseComplete-like: the cycle goes on
  };
  return { exec, log };
}

function scheduler(exec: (m: Uint8Array) => Promise<Uint8Array>, evicted: number[] = [], ownerIdleMs = 10_000) {
  return new SessionScheduler(exec, { log: silentLogger(), ownerIdleMs, evict: (id) => evicted.push(id) });
}

const noop = () => undefined;

describe('SessionScheduler', () => {
  it('reads the transaction status closing an answer', () => {
    expect(readyForQueryStatus(Uint8Array.of(1, 2, ...rfq('T')))).toBe('T');
    expect(readyForQueryStatus(rfq('I'))).toBe('I');
    expect(readyForQueryStatus(Uint8Array.of(0x31, 0, 0, 0, 4))).toBeNull();
    expect(sqlOf(simpleQuery('SELECT 1'))).toBe('SELECT 1');
  });

  it('does not let another connection in between the messages of an extended query', async () => {
    const { exec, log } = fakeSession();
    const s = scheduler(exec);
    const a1 = s.enqueue(1, msg('P'), noop);
    const b = s.enqueue(2, simpleQuery('B-query'), noop);
    await a1;
    const rest = [s.enqueue(1, msg('B'), noop), s.enqueue(1, msg('E'), noop), s.enqueue(1, msg('S'), noop)];
    await Promise.all([...rest, b]);
    expect(log).toEqual(['P', 'B', 'E', 'S', 'B-query']);
  });

  it('holds the session for a connection inside a transaction until it ends', async () => {
    const { exec, log } = fakeSession();
    const s = scheduler(exec);
    await s.enqueue(1, simpleQuery('BEGIN'), noop);
    const other = s.enqueue(2, simpleQuery('other'), noop);
    await s.enqueue(1, simpleQuery('work'), noop);
    await s.enqueue(1, simpleQuery('COMMIT'), noop);
    await other;
    expect(log).toEqual(['BEGIN', 'work', 'COMMIT', 'other']);
  });

  it('resets the session when its owner disconnects mid-transaction, then serves the rest', async () => {
    const { exec, log } = fakeSession();
    const s = scheduler(exec);
    await s.enqueue(1, simpleQuery('BEGIN'), noop);
    const other = s.enqueue(2, simpleQuery('other'), noop);
    s.clearQueueForHandler(1);
    await s.clearTransactionIfNeeded(1);
    await other;
    expect(log).toEqual(['BEGIN', 'S', 'ROLLBACK', 'other']);
  });

  it('disconnects an owner that sits idle in a transaction while others wait', async () => {
    const { exec } = fakeSession();
    const evicted: number[] = [];
    const s = scheduler(exec, evicted, 30);
    await s.enqueue(7, simpleQuery('BEGIN'), noop);
    const other = s.enqueue(8, simpleQuery('other'), noop);
    await new Promise((r) => setTimeout(r, 80));
    expect(evicted).toEqual([7]);
    await s.clearTransactionIfNeeded(7);
    await other;
  });

  it('passes answers to the connection and keeps Terminate away from the shared session', async () => {
    const { exec, log } = fakeSession();
    const s = scheduler(exec);
    const seen: number[] = [];
    await s.enqueue(1, simpleQuery('SELECT 1'), (d) => seen.push(d.length));
    expect(await s.enqueue(1, msg('X'), noop)).toBe(0);
    expect(seen).toEqual([6]);
    expect(log).toEqual(['SELECT 1']);
  });

  it('rejects what a departing connection still had queued', async () => {
    const { exec } = fakeSession();
    const s = scheduler(exec);
    await s.enqueue(1, simpleQuery('BEGIN'), noop);
    const queued = s.enqueue(2, simpleQuery('later'), noop);
    s.clearQueueForHandler(2);
    await expect(queued).rejects.toThrow('connection closed');
    expect(s.getQueueLength()).toBe(0);
  });
});
