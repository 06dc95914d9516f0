// Fencing on a returning source: before this compute starts anything, it finds the evacuations away from it. A `done`
// one (the database places the instance elsewhere) has its local copy destroyed and its record completed; one not yet
// done keeps its local guest from running (paused or left stopped), since the destination may be rebuilding it. A hold
// ends with its evacuation: done, the copy is destroyed; ended unfinished, the guest stays as it is, no longer held.
import { advanceMigration, getInstance, getMigration, openMigrationsOnHost, releaseClaim, type Migration } from '@ferry/common/db';
import { isTerminal, POWER_STATES } from '@ferry/common/domain';
import { crashPoint } from '@ferry/common/chaos';
import type { ComputeContext } from '../compute-context';
import type { EvacuationData } from './rebuild';

export interface FenceReport {
  /** Local copies destroyed (their evacuation done elsewhere), by instance uuid. */
  destroyed: string[];
  /** Guests kept from running because their evacuation is not over. */
  held: string[];
}

/** Evacuations away from this host that are still open: what fencing acts on. */
async function evacuationsAway(c: ComputeContext): Promise<Migration[]> {
  return (await openMigrationsOnHost(c.ds, c.host, ['evacuation'])).filter((m) => m.source_compute === c.host);
}

export async function fenceEvacuatedGuests(c: ComputeContext): Promise<FenceReport> {
  const report: FenceReport = { destroyed: [], held: [] };
  for (const m of await evacuationsAway(c)) {
    if (m.status === 'done') {
      if (await completeEvacuation(c, m)) report.destroyed.push(m.instance_uuid);
    } else if (await holdGuest(c, m)) {
      report.held.push(m.instance_uuid);
    }
  }
  return report;
}

/**
 * The destination rebuilt the instance and the database names it: this host's copy is redundant. On shared storage
 * the disk is the destination's, so nothing here is destroyed. Returns whether a copy was destroyed.
 */
export async function completeEvacuation(c: ComputeContext, m: Migration): Promise<boolean> {
  const instance = await getInstance(c.ds, m.instance_uuid);
  if (instance && !instance.deleted_at && instance.host === c.host) {
    c.log.warn({ migration_id: m.id, instance_uuid: m.instance_uuid }, 'evacuation done but the database places the instance here again; local copy kept');
    return false;
  }
  const shared = (m.migrate_data as unknown as EvacuationData | null)?.shared_storage === true;
  const had = !shared && (await c.driver.getVm(m.instance_uuid)) !== undefined;
  if (!shared) await c.driver.destroy(m.instance_uuid);
  crashPoint('evacuate.source.after_destroy', c.host);
  await releaseClaim(c.ds, m.instance_uuid, c.host);
  c.fencedGuests.delete(m.instance_uuid);
  c.evacuationHolds.delete(m.instance_uuid);
  if (await advanceMigration(c.ds, m.id, ['done'], 'completed', 'source')) {
    c.log.info({ migration_id: m.id, instance_uuid: m.instance_uuid, dest: m.dest_compute, destroyed: had }, 'instance was evacuated away while this host was down; local copy removed, evacuation completed');
  }
  return had;
}

/** An evacuation not yet done: the local guest must not run, whatever the database says of its power state. */
async function holdGuest(c: ComputeContext, m: Migration): Promise<boolean> {
  const vm = await c.driver.getVm(m.instance_uuid);
  if (!vm) return false;
  c.evacuationHolds.set(m.instance_uuid, m.id);
  if (vm.power_state === POWER_STATES.RUNNING) await c.driver.pause(m.instance_uuid);
  c.log.warn({ migration_id: m.id, instance_uuid: m.instance_uuid, status: m.status, dest: m.dest_compute },
    'instance is being evacuated away from this host; its local guest is kept from running until the evacuation ends');
  return true;
}

/**
 * Ends the holds whose evacuation has ended. One that completed destroyed its copy (completeEvacuation). One that ended
 * otherwise (failed, error) leaves the guest as the hold left it, paused or stopped, and no longer held: the power sync
 * then records what runs, as it would after a restart. Nothing here resumes it: the destination may have started its
 * rebuild (on shared storage, on the same disk), so which copy is good is for the operator to say (unpause, or
 * evacuate again). Holds whose record is gone end too.
 */
export async function releaseEndedHolds(c: ComputeContext): Promise<void> {
  for (const [uuid, id] of [...c.evacuationHolds]) {
    const m = await getMigration(c.ds, id);
    if (m && !isTerminal(m.migration_type, m.status)) continue;
    c.evacuationHolds.delete(uuid);
    if (m?.status === 'completed') continue;
    c.log.warn({ migration_id: id, instance_uuid: uuid, status: m?.status ?? null, last_error: m?.last_error ?? null },
      'the evacuation away from this host ended unfinished; its guest here stays as it was held (not resumed: unpause it, or evacuate again, once the copy to keep is known)');
  }
}
