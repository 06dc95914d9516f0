// ferry-api: the OpenStack-compatible HTTP front door.
import { startHeartbeat, FERRY_VERSION, type RunningService, type ServiceDeps } from '@ferry/common/service';
import { buildApp } from './app';
import { API_BINARY } from './binary';

export { buildApp } from './app';
export type { ApiDeps } from './api-deps';
export { API_BINARY } from './binary';
export const API_TOPIC = 'api';

export interface RunningApi extends RunningService {
  /** Base URL the API is reachable at, e.g. http://127.0.0.1:8774 */
  readonly url: string;
}

export async function startApi(deps: ServiceDeps, opts: { host: string }): Promise<RunningApi> {
  const log = deps.log.child({ service: API_BINARY, host: opts.host });
  let url = deps.config.publicUrl ?? '';
  const app = buildApp({ ...deps, log, publicUrl: () => url });
  await app.listen({ host: deps.config.apiListen, port: deps.config.apiPort });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : deps.config.apiPort;
  if (!deps.config.publicUrl) url = `http://${deps.config.apiListen === '0.0.0.0' ? '127.0.0.1' : deps.config.apiListen}:${port}`;
  const heartbeat = await startHeartbeat({
    dataSource: deps.db.dataSource, host: opts.host, binary: API_BINARY, topic: API_TOPIC, version: FERRY_VERSION,
    intervalMs: deps.config.heartbeatSeconds * 1000, log,
  });
  log.info({ url }, 'API listening');
  return {
    name: `${API_BINARY}@${opts.host}`,
    url,
    async stop() {
      await heartbeat.stop();
      await app.close();
    },
  };
}
