// Recent positive token validations, per database, so a burst of API calls costs one lookup per token.
import type { DataSource } from 'typeorm';
import type { TokenInfo } from '../http/auth';

/**
 * How long a validation is trusted without asking the database again. Revocations do not wait for this:
 * the revision watch empties the cache as soon as any API process changes who may do what.
 */
export const TOKEN_CACHE_TTL_MS = 5_000;
const MAX_ENTRIES = 10_000;

interface Entry {
  info: TokenInfo;
  until: number;
}

export class TokenCache {
  private readonly entries = new Map<string, Entry>();
  private generationCount = 0;

  constructor(private readonly ttlMs = TOKEN_CACHE_TTL_MS, private readonly maxEntries = MAX_ENTRIES) {}

  get(idHash: string, now = Date.now()): TokenInfo | undefined {
    const entry = this.entries.get(idHash);
    if (!entry) return undefined;
    if (entry.until > now) return entry.info;
    this.entries.delete(idHash);
    return undefined;
  }

  /** Moves on at every clear(): a lookup that began before a clear must not refill the cache. */
  get generation(): number {
    return this.generationCount;
  }

  /**
   * Never outlives the token itself. `since` is the generation read before the lookup began: if the
   * cache was cleared meanwhile, the lookup may predate a revocation and is not kept.
   */
  set(idHash: string, info: TokenInfo, since = this.generationCount, now = Date.now()): void {
    if (since !== this.generationCount) return;
    if (this.entries.size >= this.maxEntries) this.dropOldest();
    this.entries.delete(idHash);
    this.entries.set(idHash, { info, until: Math.min(now + this.ttlMs, info.expires_at.getTime()) });
  }

  evict(idHash: string): void {
    this.entries.delete(idHash);
  }

  clear(): void {
    this.entries.clear();
    this.generationCount++;
  }

  /** Insertion order is age order: drop the first tenth, whatever their state. */
  private dropOldest(): void {
    let n = Math.max(1, Math.floor(this.maxEntries / 10));
    for (const key of this.entries.keys()) {
      if (n-- <= 0) break;
      this.entries.delete(key);
    }
  }
}

const caches = new WeakMap<DataSource, TokenCache>();

/** The cache every validator and the revoke route of one database share, so a revocation evicts at once. */
export function tokenCacheFor(ds: DataSource): TokenCache {
  let cache = caches.get(ds);
  if (!cache) {
    cache = new TokenCache();
    caches.set(ds, cache);
  }
  return cache;
}
