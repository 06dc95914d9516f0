// What a host drain test or bench needs: a fleet of instances written on one fake host as finished builds leave them
// (row, claim, fake VM running or shut down), and a sampler of the moves under way, per source host and in all.
import { randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { CIRROS_IMAGE_ID, claimResources, flavorResources, Instance, type InstanceFlavor } from '@ferry/common/db';
import { allNonTerminalStatuses, guestName, POWER_STATES } from '@ferry/common/domain';
import type { FakeDriver } from '@ferry/compute/drivers';

export interface FleetMember {
  flavor: InstanceFlavor;
  stopped?: boolean;
}

/** Writes each member on host (through driver, that host's fake driver); returns their uuids in the order given. */
export async function seedFleet(ds: DataSource, driver: FakeDriver, host: string, members: readonly FleetMember[]): Promise<string[]> {
  const [{ id: project }] = (await ds.query(`SELECT id FROM projects WHERE name = 'demo'`)) as { id: string }[];
  const repo = ds.getRepository(Instance);
  const uuids: string[] = [];
  for (const [n, m] of members.entries()) {
    const uuid = randomUUID();
    await driver.spawn({ uuid, name: guestName(uuid), flavor: m.flavor, image_ref: CIRROS_IMAGE_ID });
    if (m.stopped) await driver.powerOff(uuid);
    await repo.save(repo.create({
      uuid, display_name: `drain-${n}`, project_id: project, user_id: 'demo', host, node: host, flavor: m.flavor, image_ref: CIRROS_IMAGE_ID,
      vm_state: m.stopped ? 'stopped' : 'active', task_state: null, power_state: m.stopped ? POWER_STATES.SHUTDOWN : POWER_STATES.RUNNING,
      launched_at: new Date(), metadata: {}, system_metadata: {},
    }));
    if (!(await claimResources(ds, { consumer_uuid: uuid, host, ...flavorResources(m.flavor) }))) throw new Error(`${host} is full`);
    uuids.push(uuid);
  }
  return uuids;
}

/** The most moves seen under way at once: leaving each host, and in the whole cluster. */
export interface ObservedConcurrency {
  perHost: Record<string, number>;
  /** Live migrations only, per source host (those the link's bandwidth limits). */
  livePerHost: Record<string, number>;
  cluster: number;
  samples: number;
}

/**
 * Looks at the migrations table every intervalMs until stopped: moves under way are the open records (a cold move
 * waiting for its confirm in `finished` moves nothing) of live and cold migrations.
 */
export class ConcurrencySampler {
  private readonly seen: ObservedConcurrency = { perHost: {}, livePerHost: {}, cluster: 0, samples: 0 };
  private stopped = false;
  private readonly loop: Promise<void>;

  constructor(private readonly ds: DataSource, intervalMs = 20) {
    this.loop = (async () => {
      while (!this.stopped) {
        await this.sample();
        await new Promise((r) => setTimeout(r, intervalMs));
      }
    })();
  }

  private async sample(): Promise<void> {
    const open = allNonTerminalStatuses().filter((s) => s !== 'finished');
    const rows: { source: string; n: number; live: number }[] = await this.ds.query(
      `SELECT source_compute AS source, count(*)::int AS n, count(*) FILTER (WHERE migration_type = 'live-migration')::int AS live FROM migrations
        WHERE deleted_at IS NULL AND migration_type IN ('live-migration', 'migration') AND status = ANY($1) GROUP BY source_compute`,
      [open],
    );
    let total = 0;
    for (const r of rows) {
      this.seen.perHost[r.source] = Math.max(this.seen.perHost[r.source] ?? 0, r.n);
      this.seen.livePerHost[r.source] = Math.max(this.seen.livePerHost[r.source] ?? 0, r.live);
      total += r.n;
    }
    this.seen.cluster = Math.max(this.seen.cluster, total);
    this.seen.samples++;
  }

  async stop(): Promise<ObservedConcurrency> {
    this.stopped = true;
    await this.loop;
    return this.seen;
  }
}

/** Every move record of these instances: how many each had, and how many ended moved (completed or confirmed). */
export async function movesPerInstance(ds: DataSource, uuids: readonly string[]): Promise<Map<string, { records: number; moved: number }>> {
  const rows: { instance_uuid: string; records: number; moved: number }[] = await ds.query(
    `SELECT instance_uuid, count(*)::int AS records, count(*) FILTER (WHERE status IN ('completed', 'confirmed'))::int AS moved
       FROM migrations WHERE instance_uuid = ANY($1) GROUP BY instance_uuid`,
    [uuids],
  );
  return new Map(rows.map((r) => [r.instance_uuid, { records: r.records, moved: r.moved }]));
}
