// An in-process Ferry for the benchmarks: the real scheduler and fake-driver compute services on one database and
// bus, driven the way the API drives them (rows written directly, task states won by CAS, then a cast). With
// computeProcess the compute services run in one child process instead (support/compute-process.ts).
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DataSource } from 'typeorm';
import { loadConfig, type FerryConfig } from '@ferry/common/config';
import {
  createMigration, Flavor, Instance, migrate, openDatabase, seed, startAction, takeTaskWithAction, type FerryDatabase, type InstanceFlavor,
  type Migration,
} from '@ferry/common/db';
import { MOVE_REQUESTED_HOST_KEY, type LiveMigrationRequestData } from '@ferry/common/domain';
import { silentLogger } from '@ferry/common/log';
import { createTransport, newRequestContext, type Transport } from '@ferry/common/rpc';
import type { RunningService } from '@ferry/common/service';
import { ComputeRpcApi } from '@ferry/compute/client';
import { FakeDriver, type FakeDriverOptions, type VmInfo } from '@ferry/compute/drivers';
import { startCompute } from '@ferry/compute';
import { SchedulerRpcApi, startScheduler } from '@ferry/scheduler';
import { deleteRpcTopology, testTransportUrl } from '../../support/amqp';
import { createTestDatabase, type TestDatabase } from '../../support/db';
import { ComputeProcess } from './compute-process-handle';
import type { ProcessCounts } from './compute-process-protocol';
import { CountingTransport, MessageTally } from './counting-transport';
import { timedDriver, tracing } from './timeline';

export const SCHEDULER_HOST = 'scheduler-1';

export interface BenchClusterOptions {
  /** inproc: the in-process bus; amqp: RabbitMQ at FERRY_TEST_TRANSPORT_URL (default guest@127.0.0.1). */
  bus: 'inproc' | 'amqp';
  /** embedded: PGlite under the state dir (one connection); postgres: a fresh database on the test server. */
  database: 'embedded' | 'postgres';
  hosts: readonly string[];
  /** Every host's fake driver: its size and its simulated guest's writes. */
  driver: Omit<FakeDriverOptions, 'host' | 'stateDir'>;
  config?: Partial<FerryConfig>;
  /** Postgres pool of the services (all share it, being one process; with computeProcess, each process has one); default 10. */
  poolSize?: number;
  /** Postgres pool of the requester (the API's role); default: it uses the services' pool. */
  apiPoolSize?: number;
  /** One bus connection per service, as separate processes would have; default: one shared by all. */
  transportPerService?: boolean;
  /**
   * The compute services in one child Node process (needs postgres and amqp), the scheduler and the requester in
   * this one, as a deployment would run them; default: all in this process. The drivers are then out of reach.
   */
  computeProcess?: boolean;
}

/** How requestBuilds places and labels the servers it creates. */
export interface BuildOptions {
  /** Place only on these hosts (the request spec's force_hosts), e.g. to fill one host. */
  forceHosts?: string[];
  /** Each server's user metadata, by its index in this call. */
  metadata?: (index: number) => Record<string, string>;
}

export class BenchCluster {
  private readonly localDrivers = new Map<string, FakeDriver>();
  /** Casts and notifications sent from this process (with computeProcess, add computeProcessCounts()'s). */
  readonly tally = new MessageTally();
  private computeChild: ComputeProcess | undefined;
  /** The requester's (the API's) clients. */
  scheduler!: SchedulerRpcApi;
  compute!: ComputeRpcApi;
  private readonly services: RunningService[] = [];
  /** Undone in reverse order at close (or when start fails half-way). */
  private readonly cleanups: (() => Promise<void>)[] = [];
  private sharedTransport: Transport | undefined;
  db!: FerryDatabase;
  /** The database as the requester (the API) uses it. */
  apiDs!: DataSource;
  config!: Readonly<FerryConfig>;
  transportUrl = '';
  /** The Postgres database's URL (undefined for the embedded one). */
  dbUrl: string | undefined;
  prefix = '';
  private stateDir = '';

  private constructor(private readonly opts: BenchClusterOptions) {}

  /** Each host's fake driver (in this process only: not with computeProcess). */
  get drivers(): Map<string, FakeDriver> {
    if (this.opts.computeProcess) throw new Error('the fake drivers run in the compute process (computeProcess: true): they are not reachable from here');
    return this.localDrivers;
  }

  get ds(): DataSource {
    return this.db.dataSource;
  }

  static async start(opts: BenchClusterOptions): Promise<BenchCluster> {
    const cluster = new BenchCluster(opts);
    try {
      await cluster.init();
    } catch (err) {
      await cluster.close().catch(() => undefined);
      throw err;
    }
    return cluster;
  }

  private async init(): Promise<void> {
    const { opts } = this;
    if (opts.computeProcess && (opts.database !== 'postgres' || opts.bus !== 'amqp')) {
      throw new Error('computeProcess needs a database and a bus another process can reach: database postgres, bus amqp');
    }
    const stateDir = await mkdtemp(join(tmpdir(), 'ferry-bench-'));
    this.stateDir = stateDir;
    this.cleanups.push(() => rm(stateDir, { recursive: true, force: true }));
    let tdb: TestDatabase | undefined;
    if (opts.database === 'postgres') {
      const created = await createTestDatabase();
      tdb = created;
      this.dbUrl = created.url;
      this.cleanups.push(() => created.drop());
    }
    this.config = loadConfig({}, { stateDir, ...opts.config });
    const db = await openDatabase({ url: tdb?.url, stateDir, poolSize: opts.poolSize ?? 10 });
    this.db = db;
    this.cleanups.push(() => db.close());
    await migrate(db.dataSource);
    await seed(db.dataSource);
    this.apiDs = db.dataSource;
    if (tdb && opts.apiPoolSize) {
      const apiDb = await openDatabase({ url: tdb.url, stateDir, poolSize: opts.apiPoolSize });
      this.apiDs = apiDb.dataSource;
      this.cleanups.push(() => apiDb.close());
    }

    this.prefix = `bench_${randomBytes(5).toString('hex')}_`;
    this.transportUrl = opts.bus === 'amqp' ? testTransportUrl() : `inproc://bench-${randomBytes(6).toString('hex')}`;
    if (opts.bus === 'amqp') {
      const { transportUrl: url, prefix } = this;
      // After the transports closed (pushed first, so it runs after them): their durable queues and exchanges.
      this.cleanups.push(() => deleteRpcTopology(url, { prefix, topics: ['scheduler', 'compute'], servers: [SCHEDULER_HOST, ...opts.hosts] }));
    }
    const requester = await this.newTransport();
    this.scheduler = new SchedulerRpcApi(requester);
    this.compute = new ComputeRpcApi(requester);

    this.services.push(await startScheduler({ ...this.deps(), transport: await this.serviceTransport() }, { host: SCHEDULER_HOST }));
    if (opts.computeProcess) {
      const child = await ComputeProcess.start({
        dbUrl: this.dbUrl!, stateDir, transportUrl: this.transportUrl, prefix: this.prefix, hosts: opts.hosts, driver: opts.driver,
        config: opts.config ?? {}, poolSize: opts.poolSize ?? 10, transportPerService: opts.transportPerService ?? false,
      });
      this.computeChild = child;
      // Pushed after the transports and topology: it stops before they close and before the database is dropped.
      this.cleanups.push(() => child.stop());
      return;
    }
    for (const host of opts.hosts) {
      const driver = new FakeDriver({ ...opts.driver, host, stateDir });
      this.localDrivers.set(host, driver);
      // When the run traces, its calls are marked on the timeline while it records (one traced move).
      this.services.push(await startCompute({ ...this.deps(), transport: await this.serviceTransport() }, { host, driver: tracing ? timedDriver(driver) : driver }));
    }
  }

  /** The compute process's id, or undefined when the computes run in this process. */
  get computeProcessPid(): number | undefined {
    return this.computeChild?.pid;
  }

  /** The compute process's casts, notifications, SQL and CPU so far; undefined when the computes run in this process. */
  async computeProcessCounts(): Promise<ProcessCounts | undefined> {
    return this.computeChild?.counts();
  }

  /** Throws why, if the compute process has died: a wait on the cluster should fail rather than run to its timeout. */
  assertServing(): void {
    this.computeChild?.assertAlive();
  }

  private deps() {
    return { config: this.config, db: this.db, log: silentLogger() };
  }

  private async newTransport(): Promise<Transport> {
    const inner = await createTransport({ url: this.transportUrl, prefix: this.prefix });
    this.cleanups.push(() => inner.close());
    return new CountingTransport(inner, this.tally);
  }

  private async serviceTransport(): Promise<Transport> {
    if (this.opts.transportPerService) return this.newTransport();
    this.sharedTransport ??= await this.newTransport();
    return this.sharedTransport;
  }

  driver(host: string): FakeDriver {
    const d = this.drivers.get(host);
    if (!d) throw new Error(`no compute host ${host}`);
    return d;
  }

  /**
   * The VMs a fake host holds, in either layout: a fake host's VMs are files under the shared state dir, so with
   * computeProcess a driver object of this process's own reads them (it only lists; the child's driver runs them).
   */
  async vmsOn(host: string): Promise<VmInfo[]> {
    if (!this.opts.hosts.includes(host)) throw new Error(`no compute host ${host}`);
    const reader = this.localDrivers.get(host) ?? new FakeDriver({ ...this.opts.driver, host, stateDir: this.stateDir });
    return reader.listVms();
  }

  async close(): Promise<void> {
    for (const s of this.services.splice(0).reverse()) await s.stop().catch(() => undefined);
    for (const undo of this.cleanups.splice(0).reverse()) await undo();
  }

  /** A flavor row (e.g. a zero-disk one), as an instance embeds it. */
  async createFlavor(fields: { name: string; vcpus: number; memory_mb: number; root_gb: number }): Promise<InstanceFlavor> {
    const repo = this.ds.getRepository(Flavor);
    const f = await repo.save(repo.create({ flavorid: randomUUID(), ephemeral_gb: 0, swap: 0, extra_specs: {}, ...fields }));
    return embedded(f);
  }

  async flavor(name: string): Promise<InstanceFlavor> {
    return embedded(await this.ds.getRepository(Flavor).findOneByOrFail({ name }));
  }

  /**
   * What the API does on create for `count` servers: the rows (building, scheduling), a `create` action each,
   * then one schedule_and_build_instances cast per batch. Returns the uuids; the builds run in the background.
   */
  async requestBuilds(flavor: InstanceFlavor, count: number, batch = 50, opts: BuildOptions = {}): Promise<string[]> {
    const rows = Array.from({ length: count }, (_, i) => ({
      uuid: randomUUID(), display_name: `bench-${i}`, project_id: 'demo', user_id: 'demo', host: null, node: null,
      flavor, image_ref: 'cirros', vm_state: 'building', task_state: 'scheduling', power_state: 0, metadata: opts.metadata?.(i) ?? {},
    }));
    const uuids = rows.map((r) => r.uuid);
    for (let at = 0; at < count; at += batch) {
      const part = rows.slice(at, at + batch);
      await this.apiDs.getRepository(Instance).insert(part);
      const ctx = newRequestContext({ user_id: 'demo', project_id: 'demo' });
      await Promise.all(part.map((r) => startAction(this.apiDs, ctx, r.uuid, 'create')));
      await this.scheduler.scheduleAndBuildInstances(ctx, part.map((r) => r.uuid), {
        flavor, image_ref: 'cirros', project_id: 'demo', num_attempts: 1, ...(opts.forceHosts ? { force_hosts: opts.forceHosts } : {}),
      });
    }
    return uuids;
  }

  /** Waits until every instance of uuids is ACTIVE with no task (fails on one in ERROR, or after timeoutMs). */
  async awaitActive(uuids: readonly string[], timeoutMs: number): Promise<Instance[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      this.assertServing();
      const rows = await this.ds.getRepository(Instance).createQueryBuilder('i').where('i.uuid IN (:...uuids)', { uuids }).getMany();
      const failed = rows.find((r) => r.vm_state === 'error');
      if (failed) throw new Error(`instance ${failed.uuid} failed to build`);
      if (rows.length === uuids.length && rows.every((r) => r.vm_state === 'active' && r.task_state === null)) return rows;
      if (Date.now() > deadline) {
        const active = rows.filter((r) => r.vm_state === 'active').length;
        throw new Error(`${active} of ${uuids.length} instances active after ${timeoutMs} ms`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /**
   * What the API does for migrate (no host given): win resize_prep recording both flavors (the same one: a
   * migration) and open the `migrate` action in one statement, cast migrate_server to the scheduler.
   */
  async requestMove(instance: Instance): Promise<void> {
    const ctx = newRequestContext({ user_id: 'admin', project_id: 'admin' });
    const moved = await takeTaskWithAction(this.apiDs, {
      uuid: instance.uuid, from: [null], to: 'resize_prep', patch: { old_flavor: instance.flavor, new_flavor: instance.flavor, progress: 0 },
      remember: { [MOVE_REQUESTED_HOST_KEY]: null },
    }, ctx, 'migrate');
    if (!moved) throw new Error(`instance ${instance.uuid} is busy`);
    await this.scheduler.migrateServer(ctx, { instance_uuid: instance.uuid, migration_type: 'migration', new_flavor: instance.flavor });
  }

  /**
   * What the API does for os-migrateLive: win task `migrating` and open the `live-migration` action in one statement,
   * record the request (status accepted), cast live_migrate_server to the scheduler.
   */
  async requestLiveMigration(instance: Instance, opts: { host?: string; blockMigration?: boolean | 'auto' } = {}): Promise<Migration> {
    const ctx = newRequestContext({ user_id: 'admin', project_id: 'admin', roles: ['admin'] });
    if (!(await takeTaskWithAction(this.apiDs, { uuid: instance.uuid, from: [null], to: 'migrating' }, ctx, 'live-migration'))) {
      throw new Error(`instance ${instance.uuid} is busy`);
    }
    const data: LiveMigrationRequestData = {
      requested_host: opts.host ?? null, block_migration: opts.blockMigration ?? 'auto', force: false, old_vm_state: instance.vm_state, request_context: ctx,
    };
    const m = await createMigration(this.apiDs, {
      instance_uuid: instance.uuid, migration_type: 'live-migration', status: 'accepted', source_compute: instance.host, source_node: instance.node,
      dest_compute: opts.host ?? null, user_id: 'admin', project_id: 'admin', migrate_data: { ...data },
    }, 'api');
    await this.scheduler.liveMigrateServer(ctx, m.id);
    return m;
  }

  /** What the API does for stop: win powering-off and open the `stop` action in one statement, cast stop_instance to the instance's host. */
  async requestStop(instance: Instance): Promise<void> {
    const ctx = newRequestContext({ user_id: 'demo', project_id: 'demo' });
    if (!(await takeTaskWithAction(this.apiDs, { uuid: instance.uuid, from: [null], to: 'powering-off' }, ctx, 'stop'))) {
      throw new Error(`instance ${instance.uuid} is busy`);
    }
    await this.compute.stopInstance(ctx, instance.host!, instance.uuid);
  }

  async instance(uuid: string): Promise<Instance> {
    return this.ds.getRepository(Instance).findOneByOrFail({ uuid });
  }
}

function embedded(f: Flavor): InstanceFlavor {
  return {
    id: f.id, flavorid: f.flavorid, name: f.name, vcpus: f.vcpus, memory_mb: f.memory_mb, root_gb: f.root_gb,
    ephemeral_gb: f.ephemeral_gb, swap: f.swap, extra_specs: f.extra_specs,
  };
}
