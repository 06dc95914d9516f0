// ferry-compute: the per-host agent. Registers its host's resources and serves the compute topic.
import { upsertComputeNode } from '@ferry/common/db';
import { startRpcService, type RunningService, type ServiceDeps } from '@ferry/common/service';
import { createDriver, type Driver } from './drivers';

export { createDriver, FakeDriver, type Driver, type HostInfo } from './drivers';

export const COMPUTE_BINARY = 'ferry-compute';
export const COMPUTE_TOPIC = 'compute';

export async function startCompute(deps: ServiceDeps, opts: { host: string; driver?: Driver }): Promise<RunningService> {
  const log = deps.log.child({ service: COMPUTE_BINARY, host: opts.host });
  const driver = opts.driver ?? createDriver(deps.config, opts.host);
  await driver.init();
  const info = await driver.hostInfo();
  await upsertComputeNode(deps.db.dataSource, { host: opts.host, ...info });
  log.info({ driver: driver.type, vcpus: info.vcpus, memory_mb: info.memory_mb, local_gb: info.local_gb }, 'compute node registered');
  return startRpcService(deps, { binary: COMPUTE_BINARY, topic: COMPUTE_TOPIC, host: opts.host, endpoints: [] });
}
