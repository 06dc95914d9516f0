// Every API process polls one database counter that moves whenever a token is revoked, a role removed or a
// user or project disabled, and empties its token cache when it moves: revocation reaches all processes
// within a poll interval, not a cache lifetime.
import type { DataSource } from 'typeorm';
import type { Logger } from '@ferry/common/log';
import type { TokenCache } from './token-cache';

/** Well under the one second in which a revocation must take effect everywhere. */
export const IDENTITY_REVISION_POLL_MS = 250;

export interface RevisionWatch {
  stop(): void;
}

async function readRevision(ds: DataSource): Promise<string> {
  const rows = await ds.query('SELECT last_value, is_called FROM identity_revision') as { last_value: string; is_called: boolean }[];
  const row = rows[0];
  return row ? `${row.last_value}:${row.is_called}` : '';
}

export function watchIdentityRevision(ds: DataSource, cache: TokenCache, log: Logger, intervalMs = IDENTITY_REVISION_POLL_MS): RevisionWatch {
  let last: string | undefined;
  let failing = false;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;

  const poll = async () => {
    try {
      const revision = await readRevision(ds);
      if (last !== undefined && revision !== last) cache.clear();
      last = revision;
      if (failing) log.info('identity revision readable again');
      failing = false;
    } catch (err) {
      // Unable to tell whether anything was revoked: trust nothing cached until the database answers.
      cache.clear();
      last = undefined;
      if (!failing) log.warn({ err }, 'cannot read the identity revision; token validations are not cached meanwhile');
      failing = true;
    }
    if (!stopped) timer = setTimeout(() => void poll(), intervalMs).unref();
  };
  void poll();
  return {
    stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
    },
  };
}
