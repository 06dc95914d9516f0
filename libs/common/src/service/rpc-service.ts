// The common shape of a bus-attached service: an RPC server on (topic, host) plus a heartbeat.
import { RpcServer, served, type ServedEndpoint } from '../rpc';
import { startHeartbeat } from './heartbeat';
import { SERVICE_INFO_CONTRACT, ServiceInfoEndpoint } from './info-endpoint';
import { FERRY_VERSION, type RunningService, type ServiceDeps } from './service';

export interface RpcServiceSpec {
  binary: string;
  topic: string;
  host: string;
  /** Each with its contract; the service-info endpoint (ping) is added to them. */
  endpoints: ServedEndpoint[];
  /** Called first at stop, before waiting for the messages being handled: tells long handlers to wind down. */
  onStopping?: () => void;
  /** Extra work to undo at stop, after the server stopped consuming. */
  onStop?: () => Promise<void>;
}

export async function startRpcService(deps: ServiceDeps, spec: RpcServiceSpec): Promise<RunningService> {
  const log = deps.log.child({ service: spec.binary, host: spec.host });
  const identity = { binary: spec.binary, host: spec.host, version: FERRY_VERSION };
  const server = new RpcServer(deps.transport, { topic: spec.topic, server: spec.host }, [...spec.endpoints, served(new ServiceInfoEndpoint(identity), SERVICE_INFO_CONTRACT)], { log });
  await server.start();
  const heartbeat = await startHeartbeat({
    dataSource: deps.db.dataSource, host: spec.host, binary: spec.binary, topic: spec.topic, version: FERRY_VERSION,
    intervalMs: deps.config.heartbeatSeconds * 1000, log,
  });
  log.info({ topic: spec.topic }, 'service started');
  return {
    name: `${spec.binary}@${spec.host}`,
    async stop() {
      spec.onStopping?.();
      await heartbeat.stop();
      await server.stop();
      await spec.onStop?.();
    },
  };
}
