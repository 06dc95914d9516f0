// A VM whose definition is gone from its host while its disk stays (an operator's `virsh undefine`, a lost file, a move
// that never wrote it) is defined anew from the database before a start or a hard reboot. A missing disk is not
// papered over: the driver refuses (DiskNotFound) and the action fails with a fault.
import { getInstance } from '@ferry/common/db';
import type { ComputeContext } from '../compute-context';
import { vmSpecOf } from '../compute-context';
import { VmNotFound } from '../drivers';

/**
 * Runs op; when the host has no VM for the instance, rebuilds its definition from the database (shut off, on the disk
 * the host holds) and runs op once more. Any other failure, or a missing disk (DiskNotFound), is op's failure.
 */
export async function withDefinition(c: ComputeContext, uuid: string, op: () => Promise<void>): Promise<void> {
  try {
    await op();
    return;
  } catch (err) {
    if (!(err instanceof VmNotFound)) throw err;
  }
  const instance = await getInstance(c.ds, uuid);
  if (!instance) throw VmNotFound.forUuid(uuid, c.host);
  c.log.warn({ instance_uuid: uuid, host: c.host }, 'the VM is not defined on its host; defining it again from the database over its disk');
  await c.driver.redefine(vmSpecOf(instance));
  c.log.info({ instance_uuid: uuid, host: c.host }, 'VM definition regenerated from the database');
  await op();
}
