// The sweep of what this host holds that nobody needs: VMs of deleted instances (Nova's running-deleted reaper),
// incoming VMs and copied-in disks of moves that ended without them (failed, cancelled, a source that vanished), and
// claims on this host the database no longer gives it. Each is judged by stray-verdict's rules; a guest that runs here
// while the database names another host is only reported.
import { isUuid, MIGRATION_TYPES } from '@ferry/common/domain';
import { instanceStandings, listAllocations, openMigrationsOnHost, releaseSettledClaim, type InstanceStanding } from '@ferry/common/db';
import { newRequestContext } from '@ferry/common/rpc';
import { missingOtherCopy } from '../cold-migration/other-copy';
import type { ComputeContext } from '../compute-context';
import { claimReleasable, guestVerdict, standingOf, type Standing } from './stray-verdict';

export interface StraySweepReport {
  destroyed: number;
  reported: number;
  claimsReleased: number;
}

/**
 * One sweep. `reported` remembers what earlier sweeps of this process already reported, so a guest left for an
 * operator is logged once, not at every pass.
 */
export async function sweepStrayGuests(c: ComputeContext, reported = new Set<string>()): Promise<StraySweepReport> {
  const report: StraySweepReport = { destroyed: 0, reported: 0, claimsReleased: 0 };
  const held = (await c.driver.listHeldInstances()).filter(isUuid); // anything not named by an instance uuid is not Ferry's to judge
  const claims = await listAllocations(c.ds, { host: c.host });
  const uuids = [...new Set([...held, ...claims.map((a) => a.consumer_uuid)])];
  const standings = await judge(c, uuids);
  const guestsLeft = new Set<string>();

  for (const uuid of held) {
    if (c.stopping.aborted) return report;
    const presence = await c.driver.guestPresence(uuid);
    const row = standings.get(uuid);
    const verdict = guestVerdict(row?.standing ?? 'unknown', presence, row?.instance.host ?? null);
    const fields = { instance_uuid: uuid, presence, db_host: row?.instance.host ?? null, standing: row?.standing ?? 'unknown' };
    if (verdict.action === 'keep') {
      guestsLeft.add(uuid);
      reported.delete(uuid);
      continue;
    }
    if (verdict.action === 'report') {
      guestsLeft.add(uuid);
      report.reported++;
      if (!reported.has(uuid)) c.log.warn({ ...fields, reason: verdict.reason }, 'instance held on this host that the database does not place here');
      reported.add(uuid);
      continue;
    }
    // The database may have moved on since the pass began (a new move to this host): judge this one again first.
    const now = (await judge(c, [uuid])).get(uuid);
    if (now?.standing !== row?.standing) {
      guestsLeft.add(uuid);
      continue;
    }
    if (verdict.proveCopyOn) {
      const missing = await missingOtherCopy(c, newRequestContext(), verdict.proveCopyOn, uuid);
      if (missing) {
        guestsLeft.add(uuid);
        report.reported++;
        if (!reported.has(uuid)) c.log.warn({ ...fields, reason: `${verdict.reason}, but ${missing}` }, 'leftover kept: the copy the database names cannot be shown to exist');
        reported.add(uuid);
        continue;
      }
    }
    try {
      await c.driver.destroy(uuid);
      reported.delete(uuid);
      report.destroyed++;
      c.log.warn({ ...fields, reason: verdict.reason }, 'removed what this host held of an instance nobody needs here');
    } catch (err) {
      guestsLeft.add(uuid);
      c.log.error({ ...fields, err: (err as Error).message }, 'cannot remove a stray instance; next pass retries');
    }
  }

  for (const claim of claims) {
    const row = standings.get(claim.consumer_uuid);
    if (!row || !claimReleasable(row.standing, guestsLeft.has(claim.consumer_uuid))) continue;
    const released = await releaseSettledClaim(c.ds, claim.consumer_uuid, c.host, c.config.strayGraceSeconds);
    if (released > 0) {
      report.claimsReleased += released;
      c.log.warn({ instance_uuid: claim.consumer_uuid, standing: row.standing, db_host: row.instance.host }, 'released a claim on this host that the database no longer gives it');
    }
  }
  return report;
}

/** The standing of each uuid that has a row in the database (missing ones are `unknown`). */
async function judge(c: ComputeContext, uuids: readonly string[]): Promise<Map<string, { standing: Standing; instance: InstanceStanding }>> {
  const rows = await instanceStandings(c.ds, uuids);
  const moving = new Set((await openMigrationsOnHost(c.ds, c.host, MIGRATION_TYPES)).map((m) => m.instance_uuid));
  const out = new Map<string, { standing: Standing; instance: InstanceStanding }>();
  for (const instance of rows) {
    const standing = standingOf({
      host: c.host,
      instance: { host: instance.host, task_state: instance.task_state, deleted: instance.deleted },
      openMoveHere: moving.has(instance.uuid),
      quietSeconds: instance.quiet_seconds,
    }, c.config.strayGraceSeconds);
    out.set(instance.uuid, { standing, instance });
  }
  return out;
}
