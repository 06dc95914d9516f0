import type { TokenInfo } from '../http/auth';
import { TokenCache } from './token-cache';

const info = (expiresAt: number): TokenInfo => ({
  user_id: 'u', user_name: 'demo', project_id: 'p', project_name: 'demo', roles: ['member'], expires_at: new Date(expiresAt),
});

describe('token cache', () => {
  it('serves an entry until its ttl passes', () => {
    const cache = new TokenCache(5_000);
    cache.set('h', info(100_000), cache.generation, 1_000);
    expect(cache.get('h', 5_999)).toBeDefined();
    expect(cache.get('h', 6_000)).toBeUndefined();
    expect(cache.get('h', 1_000)).toBeUndefined();
  });

  it('never serves a token past its expiry', () => {
    const cache = new TokenCache(5_000);
    cache.set('h', info(2_000), cache.generation, 1_000);
    expect(cache.get('h', 1_999)).toBeDefined();
    expect(cache.get('h', 2_000)).toBeUndefined();
  });

  it('forgets an evicted entry at once', () => {
    const cache = new TokenCache(5_000);
    cache.set('h', info(100_000), cache.generation, 0);
    cache.evict('h');
    expect(cache.get('h', 1)).toBeUndefined();
  });

  it('stays bounded, dropping the oldest entries first', () => {
    const cache = new TokenCache(60_000, 10);
    for (let i = 0; i < 25; i++) cache.set(`h${i}`, info(100_000), cache.generation, 0);
    expect(cache.get('h0', 1)).toBeUndefined();
    expect(cache.get('h24', 1)).toBeDefined();
    const kept = Array.from({ length: 25 }, (_, i) => cache.get(`h${i}`, 1)).filter(Boolean).length;
    expect(kept).toBeLessThanOrEqual(10);
  });
});

describe('TokenCache clear', () => {
  it('empties the cache and refuses a lookup that began before the clear', () => {
    const cache = new TokenCache(60_000);
    cache.set('a', info(100_000), cache.generation, 0);
    const before = cache.generation;
    cache.clear();
    expect(cache.get('a', 1)).toBeUndefined();
    cache.set('b', info(100_000), before, 0);
    expect(cache.get('b', 1)).toBeUndefined();
    cache.set('c', info(100_000), cache.generation, 0);
    expect(cache.get('c', 1)).toBeDefined();
  });
});
