// At startup: deletes of instances on this host that never finished (the terminate was lost, or this compute died in
// the middle of it) are carried out now, as Nova's init_host does for instances left in task `deleting`.
import { listInstancesOnHost } from '@ferry/common/db';
import { newRequestContext } from '@ferry/common/rpc';
import type { ComputeContext } from '../compute-context';
import { terminateInstance } from '../instance-ops/terminate';

export async function finishInterruptedDeletes(c: ComputeContext): Promise<number> {
  const deleting = (await listInstancesOnHost(c.ds, c.host)).filter((i) => i.task_state === 'deleting');
  for (const instance of deleting) {
    c.log.info({ instance_uuid: instance.uuid }, 'finishing a delete interrupted by a restart');
    await terminateInstance(c, newRequestContext(), instance.uuid).catch((err: unknown) =>
      c.log.error({ instance_uuid: instance.uuid, err: (err as Error).message }, 'cannot finish the interrupted delete; a repeated DELETE retries'));
  }
  return deleting.length;
}
