// ferry-scheduler: picks and claims destinations; serves the scheduler topic.
import { startRpcService, type RunningService, type ServiceDeps } from '@ferry/common/service';

export const SCHEDULER_BINARY = 'ferry-scheduler';
export const SCHEDULER_TOPIC = 'scheduler';

export async function startScheduler(deps: ServiceDeps, opts: { host: string }): Promise<RunningService> {
  return startRpcService(deps, { binary: SCHEDULER_BINARY, topic: SCHEDULER_TOPIC, host: opts.host, endpoints: [] });
}
