// One `cleanup` step on this host, as the API's cleanup asks for it: each op says which presences it starts from and
// which mean it is already done, so a repeated or late step is a no-op and a copy that changed since the plan was made
// is refused, never acted on. Destroying only ever touches a copy the plan proved not to be the guest.
import { getInstance, openMigrationOf } from '@ferry/common/db';
import { Conflict, guestName, VM_STATES } from '@ferry/common/domain';
import { vmSpecOf, type ComputeContext } from '../compute-context';
import type { GuestPresence } from '../client/wire-types';
import type { CleanupOp, CleanupStepRequest } from '../client/cleanup-step';

interface OpSpec {
  /** Presences in which the op has nothing left to do. */
  done(presence: GuestPresence, req: CleanupStepRequest, name: string | undefined): boolean;
  /** Presences the op may act on. */
  from(presence: GuestPresence, req: CleanupStepRequest): boolean;
  run(c: ComputeContext, uuid: string): Promise<void>;
}

const OPS: Readonly<Record<CleanupOp, OpSpec>> = {
  destroy: {
    done: () => false,
    // A disk alone is removed whatever the plan saw; a VM only in the presence the plan proved stale.
    from: (p, req) => p === 'absent' || p === req.expect,
    run: (c, uuid) => c.driver.destroy(uuid),
  },
  rename_back: {
    done: (_p, req, name) => name === guestName(req.instance_uuid),
    from: (p) => p !== 'absent',
    run: (c, uuid) => c.driver.renameGuest(uuid, guestName(uuid)),
  },
  resume_incoming: {
    done: (p) => p === 'running' || p === 'paused',
    from: (p) => p === 'incoming',
    run: async (c, uuid) => {
      // A guest that was paused when it left stays paused where it arrives, as the move's own Finish leaves it.
      const paused = (await getInstance(c.ds, uuid))?.vm_state === VM_STATES.PAUSED;
      await c.driver.liveMigrationFinish(uuid, {}, { success: true, paused });
    },
  },
  persist_definition: {
    done: () => false,
    from: (p) => p === 'running' || p === 'paused' || p === 'stopped',
    run: async (c, uuid) => {
      const instance = await getInstance(c.ds, uuid);
      if (!instance) throw new Conflict(`Instance ${uuid} is not in the database; no definition to write on ${c.host}`);
      await c.driver.persistDefinition(vmSpecOf(instance));
    },
  },
};

/** Runs one step; answers what this host holds of the guest afterwards. */
export async function runCleanupStep(c: ComputeContext, req: CleanupStepRequest): Promise<{ presence: GuestPresence; changed: boolean }> {
  const spec = OPS[req.op];
  // A move of the guest that this host is driving right now (a flow, or its own settle) owns the copies until it ends.
  const open = await openMigrationOf(c.ds, req.instance_uuid);
  if (open && (c.activeMoves.has(open.id) || c.live.running(open.id))) {
    throw new Conflict(`cleanup step ${req.op} refused on ${c.host}: it is driving migration ${open.id} of the instance right now; run cleanup again once it stops`);
  }
  const before = await c.driver.guestPresence(req.instance_uuid);
  const name = (await c.driver.getVm(req.instance_uuid))?.name;
  if (spec.done(before, req, name)) return { presence: before, changed: false };
  if (!spec.from(before, req)) {
    throw new Conflict(`cleanup step ${req.op} refused on ${c.host}: the guest is ${before} here now${req.expect ? `, not ${req.expect}` : ''}`);
  }
  await spec.run(c, req.instance_uuid);
  c.log.info({ instance_uuid: req.instance_uuid, op: req.op, before }, 'cleanup step done');
  return { presence: await c.driver.guestPresence(req.instance_uuid), changed: true };
}
