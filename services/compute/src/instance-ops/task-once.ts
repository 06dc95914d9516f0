// One run per instance task in this process: the message handler and the reconciler's re-drive of the same task
// cannot both drive the driver at once; the second is a no-op (the first's CAS settles the task).
import type { ComputeContext } from '../compute-context';

export async function onceHere(c: ComputeContext, uuid: string, fn: () => Promise<void>): Promise<void> {
  if (c.activeTasks.has(uuid)) {
    c.log.info({ instance_uuid: uuid }, 'a run of this task is already under way here; ignored');
    return;
  }
  c.activeTasks.add(uuid);
  try {
    await fn();
  } finally {
    c.activeTasks.delete(uuid);
  }
}
