// What the drain routes answer: a drain with the state of each of its instances and the tally, read from the database.
import type { DataSource } from 'typeorm';
import { drainItems, type HostDrain } from '@ferry/common/db';
import { countDrainItems, type DrainItemProgress, type DrainPlanItem } from '@ferry/common/domain';

export interface DrainView {
  id: string;
  host: string;
  mode: string;
  concurrency: number;
  status: string;
  done: boolean;
  service_disabled: boolean;
  total: number;
  moved: number;
  failed: number;
  skipped: number;
  in_flight: number;
  pending: number;
  started_at: string;
  cancelled_at: string | null;
  finished_at: string | null;
  servers: DrainItemProgress[];
}

export async function drainView(ds: DataSource, drain: HostDrain): Promise<DrainView> {
  const servers = await drainItems(ds, drain);
  const c = countDrainItems(servers);
  return {
    id: drain.id, host: drain.host, mode: drain.mode, concurrency: drain.concurrency, status: drain.status,
    done: drain.status === 'completed' || drain.status === 'cancelled', service_disabled: drain.service_disabled,
    total: servers.length, moved: c.moved, failed: c.failed, skipped: c.skipped, in_flight: c.starting + c.in_flight, pending: c.pending,
    started_at: drain.created_at.toISOString(), cancelled_at: drain.cancelled_at?.toISOString() ?? null, finished_at: drain.finished_at?.toISOString() ?? null,
    servers,
  };
}

/** A drain without its per-instance list: what a list of drains shows. */
export type DrainSummary = Omit<DrainView, 'servers'>;

export async function drainSummary(ds: DataSource, drain: HostDrain): Promise<DrainSummary> {
  const { servers: _servers, ...summary } = await drainView(ds, drain);
  return summary;
}

/** A dry run's answer: the plan the drain would follow, in its order, with how each instance would move or why not. */
export type DryRunView = ReturnType<typeof dryRunView>;

export function dryRunView(host: string, mode: string, concurrency: number, plan: DrainPlanItem[]) {
  return {
    host, mode, concurrency, dry_run: true, total: plan.length,
    servers: plan.map((p, i) => ({ order: i + 1, instance_uuid: p.instance_uuid, name: p.name, vm_state: p.vm_state, memory_mb: p.memory_mb, root_gb: p.root_gb, move: p.move, skip_reason: p.skip_reason })),
  };
}
