// compute_task.migrate_server.error, Nova's notification for a cold move no host took: sent from here alone, whether
// the scheduler found no destination or the computes it tried all refused.
import { exceptionPayload } from './exception-payload';
import type { Notifier } from './notifier';
import { novaObject } from './nova-object';

export function notifyMoveNotPlaced(notifier: Pick<Notifier, 'error'> | undefined, instance: { uuid: string; vm_state: string }, err: unknown): Promise<void> {
  if (!notifier) return Promise.resolve();
  return notifier.error('compute_task.migrate_server.error', () =>
    novaObject('ComputeTaskPayload', '1.0', { instance_uuid: instance.uuid, reason: exceptionPayload(err), state: instance.vm_state }));
}
