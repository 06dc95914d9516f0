// Password hashing does not wait behind libuv's thread pool (where disk I/O runs), and a flood is refused, not queued.
import { pbkdf2 } from 'node:crypto';
import { TooManyRequests } from '../../domain';
import { hashPassword, verifyPassword } from './identity';
import { MAX_QUEUED_HASHES, queuedHashes, scryptOffPool } from './scrypt-thread';

const POOL_SIZE = Number(process.env.UV_THREADPOOL_SIZE ?? 4);

describe('scrypt on its own thread', () => {
  it('hashes and verifies while every thread of the pool is busy', async () => {
    const finished: string[] = [];
    // Occupy the whole pool for far longer than one scrypt takes.
    const busy = Array.from({ length: POOL_SIZE }, () => new Promise<void>((resolve, reject) => {
      pbkdf2('occupy', 'the pool', 1_500_000, 64, 'sha512', (err) => {
        finished.push('pool');
        if (err) reject(err);
        else resolve();
      });
    }));
    const hash = await hashPassword('correct horse');
    const ok = await verifyPassword('correct horse', hash);
    finished.push('password');
    await Promise.all(busy);
    expect(ok).toBe(true);
    // On the pool, the password work would have queued behind every pbkdf2 and finished last.
    expect(finished[0]).toBe('password');
  }, 60_000);

  it('refuses hashes beyond the queue bound with TooManyRequests, and serves the rest', async () => {
    const salt = Buffer.from('0123456789abcdef');
    const params = { N: 1024, r: 8, p: 1, maxmem: 256 * 1024 * 8 };
    const results = await Promise.allSettled(Array.from({ length: MAX_QUEUED_HASHES + 6 }, (_, i) => scryptOffPool(`pw${i}`, salt, 32, params)));
    const refused = results.filter((r) => r.status === 'rejected');
    expect(refused).toHaveLength(6);
    for (const r of refused) expect((r as PromiseRejectedResult).reason).toBeInstanceOf(TooManyRequests);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(MAX_QUEUED_HASHES);
    expect(queuedHashes()).toBe(0);
  });

  it('gives the same key as before for the same inputs (stored hashes stay valid)', async () => {
    const stored = 'scrypt$16384$8$1$c2FsdHNhbHRzYWx0c2FsdA$' + (await scryptOffPool('pw', Buffer.from('saltsaltsaltsalt'), 32, { N: 16384, r: 8, p: 1, maxmem: 256 * 16384 * 8 })).toString('base64url');
    expect(await verifyPassword('pw', stored)).toBe(true);
    expect(await verifyPassword('other', stored)).toBe(false);
  });
});
