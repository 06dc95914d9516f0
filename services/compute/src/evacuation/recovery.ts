// A compute that restarts (or its reconciler) resumes the evacuations it takes part in, as the recovery table says:
// the destination runs its rebuild again, the returning source fences a done one. This module only runs the table.
import { getMigration, openMigrationsOnHost, type Migration } from '@ferry/common/db';
import { recoveryFor, type EvacuationResumeStep, type ServiceRole } from '@ferry/common/domain';
import { newRequestContext, type RequestContext } from '@ferry/common/rpc';
import type { ComputeContext } from '../compute-context';
import { completeEvacuation } from './fencing';
import { rebuildInstance, type EvacuationData } from './rebuild';

function contextOf(m: Migration): RequestContext {
  return newRequestContext((m.migrate_data as unknown as EvacuationData | null)?.request_context ?? {});
}

/** The handler of each step the evacuation recovery table may name. */
const STEPS: Readonly<Record<EvacuationResumeStep, (c: ComputeContext, m: Migration) => Promise<unknown>>> = {
  'rebuild-instance': (c, m) => rebuildInstance(c, contextOf(m), m.id),
  'fence-evacuated': (c, m) => completeEvacuation(c, m),
};

function rolesHere(c: ComputeContext, m: Migration): ServiceRole[] {
  return [...(m.source_compute === c.host ? ['source' as const] : []), ...(m.dest_compute === c.host ? ['dest' as const] : [])];
}

/** Runs the recovery of one evacuation this host takes part in; false when its table says to wait here. */
export async function recoverEvacuation(c: ComputeContext, m: Migration): Promise<boolean> {
  if (c.activeMoves.has(m.id)) return false;
  const action = rolesHere(c, m).map((role) => recoveryFor(m.migration_type, m.status, role).action).find((a) => a.kind === 'resume');
  if (!action || action.kind !== 'resume') return false;
  c.log.info({ migration_id: m.id, status: m.status, step: action.step }, 'resuming an evacuation');
  await STEPS[action.step as EvacuationResumeStep](c, m);
  return true;
}

export async function recoverEvacuations(c: ComputeContext): Promise<number> {
  let handled = 0;
  for (const m of await openMigrationsOnHost(c.ds, c.host, ['evacuation'])) {
    try {
      if (await recoverEvacuation(c, m)) handled++;
    } catch (err) {
      c.log.error({ migration_id: m.id, err: (err as Error).message }, 'cannot resume the evacuation; the reconciler retries');
    }
  }
  return handled;
}

/** The reconciler's re-drive of one evacuation left past its deadline. */
export async function redriveEvacuation(c: ComputeContext, migrationId: number): Promise<boolean> {
  const m = await getMigration(c.ds, migrationId);
  return m ? recoverEvacuation(c, m) : false;
}
