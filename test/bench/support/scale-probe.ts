// What the scale benchmark and its CI-sized sample measure: builds finished, liveness writes per 100 hosts, hosts up.
import type { DataSource } from 'typeorm';
import { livenessWrites } from '@ferry/common/metrics';
import { sleep } from './stats';

/** Waits until `want` instances are ACTIVE with no task; throws on one in ERROR or after timeoutS. */
export async function waitForActive(ds: DataSource, want: number, timeoutS: number): Promise<void> {
  const deadline = Date.now() + timeoutS * 1000;
  for (;;) {
    const [{ active, failed }] = (await ds.query(
      `SELECT count(*) FILTER (WHERE vm_state = 'active' AND task_state IS NULL)::int AS active, count(*) FILTER (WHERE vm_state = 'error')::int AS failed
         FROM instances WHERE deleted_at IS NULL`,
    )) as { active: number; failed: number }[];
    if (active >= want) return;
    if (failed > 0) throw new Error(`${failed} instances in ERROR (${active} of ${want} active)`);
    if (Date.now() > deadline) throw new Error(`${active} of ${want} instances active after ${timeoutS} s`);
    await sleep(1000);
  }
}

export interface LivenessRate {
  heartbeats: number;
  reports: number;
  /** Heartbeat + resource-report writes per second per 100 hosts. */
  per100: number;
}

/** This process's liveness writes over windowS seconds, per second per 100 of its hosts. */
export async function livenessWriteRate(windowS: number, hosts: number): Promise<LivenessRate> {
  const before = await livenessWrites();
  await sleep(windowS * 1000);
  const after = await livenessWrites();
  const heartbeats = after.heartbeat - before.heartbeat;
  const reports = after.resource_report - before.resource_report;
  return { heartbeats, reports, per100: (heartbeats + reports) / windowS / (hosts / 100) };
}

/** Compute services whose heartbeat is younger than the down time, and hosts whose usage row counts their guests. */
export async function hostsUpAndReporting(ds: DataSource, serviceDownSeconds: number): Promise<{ up: number; reporting: number }> {
  const [row] = (await ds.query(
    `SELECT (SELECT count(*)::int FROM services WHERE "binary" = 'ferry-compute' AND NOT forced_down
               AND last_seen_up > now() - make_interval(secs => $1)) AS up,
            (SELECT count(*)::int FROM compute_nodes n WHERE n.running_vms = (SELECT count(*) FROM instances i WHERE i.host = n.host AND i.deleted_at IS NULL)
               AND n.vcpus_used = (SELECT coalesce(sum(vcpus), 0) FROM allocations a WHERE a.host = n.host)) AS reporting`,
    [serviceDownSeconds],
  )) as { up: number; reporting: number }[];
  return row!;
}

/** Waits until every one of `hosts` is up and its usage row counts its guests (the builds' reports have landed). */
export async function waitForReports(ds: DataSource, hosts: number, serviceDownSeconds: number, timeoutS: number): Promise<void> {
  const deadline = Date.now() + timeoutS * 1000;
  for (;;) {
    const now = await hostsUpAndReporting(ds, serviceDownSeconds);
    if (now.up === hosts && now.reporting === hosts) return;
    if (Date.now() > deadline) throw new Error(`after ${timeoutS} s, ${now.up} of ${hosts} hosts up and ${now.reporting} reporting their guests`);
    await sleep(1000);
  }
}
