// The common shape of a bus-attached service: an RPC server on (topic, host) plus a heartbeat that holds its lease.
import { RpcServer, served, type ServedEndpoint } from '../rpc';
import { startServiceHeartbeat, type Heartbeat } from './heartbeat';
import { SERVICE_INFO_CONTRACT, ServiceInfoEndpoint } from './info-endpoint';
import { FERRY_VERSION, type RunningService, type ServiceDeps } from './service';

export interface RpcServiceSpec {
  binary: string;
  topic: string;
  host: string;
  /** Each with its contract; the service-info endpoint (ping) is added to them. */
  endpoints: ServedEndpoint[];
  /**
   * The service's heartbeat when it was started before (a compute claims its host before it touches anything there);
   * otherwise one is started here, before the server consumes anything. Either way stop() ends it.
   */
  heartbeat?: Heartbeat;
  /** Called at stop once the server takes no new messages, before waiting for those being handled: tells long handlers to wind down. */
  onStopping?: () => void;
  /** Extra work to undo at stop, after the messages being handled finished. */
  onStop?: () => Promise<void>;
  /** Steps running beside the message handlers (recovery, background jobs), named for a stop that cannot wait for them. */
  runningSteps?: () => string[];
}

export async function startRpcService(deps: ServiceDeps, spec: RpcServiceSpec): Promise<RunningService> {
  const log = deps.log.child({ service: spec.binary, host: spec.host });
  const identity = { binary: spec.binary, host: spec.host, version: FERRY_VERSION };
  const heartbeat = spec.heartbeat ?? (await startServiceHeartbeat(deps, { binary: spec.binary, topic: spec.topic, host: spec.host }, log));
  const server = new RpcServer(deps.transport, { topic: spec.topic, server: spec.host }, [...spec.endpoints, served(new ServiceInfoEndpoint(identity), SERVICE_INFO_CONTRACT)], { log });
  try {
    await server.start();
  } catch (err) {
    await heartbeat.stop();
    throw err;
  }
  log.info({ topic: spec.topic }, 'service started');
  return {
    name: `${spec.binary}@${spec.host}`,
    leaseLost: heartbeat.lost,
    async stop() {
      // Consuming stops first (a message not taken stays queued for the next start), then running steps wind down.
      const draining = server.stop();
      spec.onStopping?.();
      await draining;
      await spec.onStop?.();
      // The lease is held until nothing of this service runs any more: only then may another process take the host.
      await heartbeat.stop();
    },
    unfinished: () => [...server.runningMessages(), ...(spec.runningSteps?.() ?? [])],
  };
}
