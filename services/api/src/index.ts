// ferry-api: the OpenStack-compatible HTTP front door.
import { isIP } from 'node:net';
import { usersWithBuiltInPasswords } from '@ferry/common/db';
import { StartRefused, startServiceHeartbeat, type RunningService, type ServiceDeps } from '@ferry/common/service';
import { buildApp } from './app';
import { API_BINARY } from './binary';

export { buildApp, type BuildAppOptions } from './app';
export type { ApiDeps } from './api-deps';
export { API_BINARY } from './binary';
export { DOWNTIME_BUCKETS, DURATION_BUCKETS, scrapeApiMetrics } from './metrics';
export { BUS_STREAM_TYPE } from './compute/ferry-bus';
export type { DrainView, DryRunView } from './compute/ferry-host-drains/view';
export { FERRY_TOPICS, ferryTapOptions } from './compute/ferry-bus/tap-options';
export const API_TOPIC = 'api';

export interface RunningApi extends RunningService {
  /** Base URL the API is reachable at, e.g. http://127.0.0.1:8774 */
  readonly url: string;
}

/** Thrown when the API would listen beyond this machine while anyone can log in with a published password. */
export class PublishedPasswordsError extends StartRefused {}

/** True for an address only this machine can reach. */
export function isLoopback(address: string): boolean {
  if (address === 'localhost') return true;
  if (isIP(address) === 4) return address.startsWith('127.');
  return address === '::1' || address.toLowerCase().startsWith('::ffff:127.');
}

/** Refuses to listen on a reachable address while a seeded user still has its built-in (documented) password. */
export async function refusePublishedPasswords(deps: ServiceDeps): Promise<void> {
  const listen = deps.config.apiListen;
  if (isLoopback(listen)) return;
  const users = await usersWithBuiltInPasswords(deps.db.dataSource);
  if (users.length === 0) return;
  throw new PublishedPasswordsError(
    `refusing to listen on ${listen}: ${users.map((u) => `user ${u}`).join(' and ')} still ${users.length > 1 ? 'have their' : 'has its'} built-in password. ` +
    `Set a new one with \`ferry user password ${users[0]}\` (reads it from standard input), ` +
    'or set FERRY_ADMIN_PASSWORD and FERRY_DEMO_PASSWORD before the database is first created, ' +
    'or listen on a loopback address (FERRY_API_LISTEN=127.0.0.1).',
  );
}

export async function startApi(deps: ServiceDeps, opts: { host: string }): Promise<RunningApi> {
  const log = deps.log.child({ service: API_BINARY, host: opts.host });
  await refusePublishedPasswords(deps);
  const heartbeat = await startServiceHeartbeat(deps, { binary: API_BINARY, topic: API_TOPIC, host: opts.host }, log);
  let url = deps.config.publicUrl ?? '';
  const app = buildApp({ ...deps, log, publicUrl: () => url });
  try {
    await app.listen({ host: deps.config.apiListen, port: deps.config.apiPort });
  } catch (err) {
    await heartbeat.stop();
    throw err;
  }
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : deps.config.apiPort;
  if (!deps.config.publicUrl) url = `http://${deps.config.apiListen === '0.0.0.0' ? '127.0.0.1' : deps.config.apiListen}:${port}`;
  log.info({ url }, 'API listening');
  return {
    name: `${API_BINARY}@${opts.host}`,
    url,
    leaseLost: heartbeat.lost,
    async stop() {
      // No new requests; those in progress are answered before the lease is given up.
      await app.close();
      await heartbeat.stop();
    },
    unfinished: () => [],
  };
}
