// A scheduler and fake-driver computes running in-process on a real Postgres and a bus (RabbitMQ or in-process),
// driven the way the API drives them: rows written directly, task states set by CAS, then a cast.
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DataSource } from 'typeorm';
import { loadConfig, type FerryConfig } from '@ferry/common/config';
import {
  advanceInstanceTask, createMigration, getInstance, migrate, openDatabase, rememberRequestValue, seed, startAction, type FerryDatabase, type Instance, type InstanceFlavor,
  type Migration,
} from '@ferry/common/db';
import { MOVE_REQUESTED_HOST_KEY, type LiveMigrationRequestData, type TaskState } from '@ferry/common/domain';
import { silentLogger, type Logger } from '@ferry/common/log';
import { contextFromWire, createTransport, newRequestContext, type RequestContext, type Transport } from '@ferry/common/rpc';
import type { RunningService } from '@ferry/common/service';
import { ComputeRpcApi } from '@ferry/compute/client';
import { FakeDriver, STATE_FILE, type FakeVmRecord } from '@ferry/compute/drivers';
import { type Transfer } from '@ferry/compute/transfer';
import { startCompute } from '@ferry/compute';
import { SchedulerRpcApi, startScheduler, type MigrateServerRequest, type RequestSpec } from '@ferry/scheduler';
import { deleteRpcTopology, randomPrefix, testTransportUrl } from '../../support/amqp';
import { createTestDatabase, type TestDatabase } from '../../support/db';
import { insertBuildingInstance, requestSpecFor } from '../scheduler/fixtures';

export type BusKind = 'amqp' | 'inproc';
/** postgres: a fresh database on the test server; embedded: PGlite under the state dir (one connection, as `ferry up`). */
export type DatabaseKind = 'postgres' | 'embedded';

/** Hosts with different RAM, so the spreading weigher's first choice is known: compute-1, then 2, then 3. */
export const HOST_MEMORY_MB: Readonly<Record<string, number>> = { 'compute-1': 65536, 'compute-2': 32768, 'compute-3': 16384 };
export const HOSTS = Object.keys(HOST_MEMORY_MB);
export const SCHEDULER_HOST = 'scheduler-1';

export class Cluster {
  private readonly computes = new Map<string, RunningService>();
  readonly scheduler: SchedulerRpcApi;
  readonly compute: ComputeRpcApi;

  private constructor(
    readonly db: FerryDatabase,
    readonly transport: Transport,
    readonly config: Readonly<FerryConfig>,
    private schedulerService: RunningService | undefined,
    private readonly cleanup: () => Promise<void>,
  ) {
    this.scheduler = new SchedulerRpcApi(transport);
    this.compute = new ComputeRpcApi(transport);
  }

  get ds(): DataSource {
    return this.db.dataSource;
  }

  static async start(bus: BusKind, database: DatabaseKind = 'postgres', overrides: Partial<FerryConfig> = {}): Promise<Cluster> {
    const tdb: TestDatabase | undefined = database === 'postgres' ? await createTestDatabase() : undefined;
    const stateDir = await mkdtemp(join(tmpdir(), 'ferry-cluster-'));
    const config = loadConfig({}, { stateDir, powerSyncSeconds: 1, heartbeatSeconds: 1, schedulerMaxAttempts: 3, ...overrides });
    const db = await openDatabase({ url: tdb?.url, stateDir, poolSize: 10 });
    await migrate(db.dataSource);
    await seed(db.dataSource);
    const prefix = randomPrefix();
    const url = bus === 'amqp' ? testTransportUrl() : `inproc://cluster-${randomBytes(6).toString('hex')}`;
    const transport = await createTransport({ url, prefix });
    const deps = { config, db, transport, log: silentLogger() };
    const scheduler = await startScheduler(deps, { host: SCHEDULER_HOST });
    const cluster = new Cluster(db, transport, config, scheduler, async () => {
      await transport.close();
      if (bus === 'amqp') await deleteRpcTopology(url, { prefix, topics: ['scheduler', 'compute'], servers: [SCHEDULER_HOST, ...HOSTS] });
      await db.close();
      await tdb?.drop();
      await rm(stateDir, { recursive: true, force: true });
    });
    for (const host of HOSTS) await cluster.startCompute(host);
    return cluster;
  }

  /** Stops the scheduler (as SIGTERM does: its running passes end first) and starts a new one for the same host. */
  async restartScheduler(): Promise<void> {
    await this.stopScheduler();
    await this.startScheduler();
  }

  async stopScheduler(): Promise<void> {
    await this.schedulerService?.stop();
    this.schedulerService = undefined;
  }

  async startScheduler(): Promise<void> {
    this.schedulerService = await startScheduler({ config: this.config, db: this.db, transport: this.transport, log: silentLogger() }, { host: SCHEDULER_HOST });
  }

  /** The fake driver's view of a host (same state dir as its compute service). */
  driver(host: string): FakeDriver {
    return new FakeDriver({
      host, stateDir: this.config.stateDir, vcpus: this.config.fakeVcpus, memoryMb: HOST_MEMORY_MB[host], diskGb: this.config.fakeDiskGb,
      guestWriteRate: this.config.fakeGuestWriteRate,
      liveMigrationTimeScale: this.config.fakeLiveTimeScale, liveMigrationBandwidth: this.config.fakeMigrationBandwidth,
    });
  }

  /** Starts host's compute service; `transfer`, `driver` and `log` replace the ones its settings would give it. */
  async startCompute(host: string, opts: { transfer?: Transfer; driver?: FakeDriver; log?: Logger; rpcVersion?: string } = {}): Promise<void> {
    const { log = silentLogger(), ...replaced } = opts;
    const service = await startCompute({ config: this.config, db: this.db, transport: this.transport, log }, { host, driver: this.driver(host), ...replaced });
    this.computes.set(host, service);
  }

  async stopCompute(host: string): Promise<void> {
    await this.computes.get(host)?.stop();
    this.computes.delete(host);
  }

  async close(): Promise<void> {
    for (const host of [...this.computes.keys()]) await this.stopCompute(host);
    await this.schedulerService?.stop();
    await this.cleanup();
  }

  /** What the API does on create: open the `create` action, then cast to the scheduler with the same request id. */
  async requestBuild(instances: Instance[], spec: RequestSpec): Promise<RequestContext> {
    const ctx = newRequestContext({ user_id: 'demo', project_id: 'demo' });
    for (const i of instances) await startAction(this.ds, ctx, i.uuid, 'create');
    await this.scheduler.scheduleAndBuildInstances(ctx, instances.map((i) => i.uuid), { num_attempts: 1, ...spec });
    return ctx;
  }

  /** A server of `flavor` built through the scheduler as the API asks for one, once its build has settled. */
  async buildServer(flavor: InstanceFlavor, fields: Partial<Instance> = {}, settleMs?: number): Promise<Instance> {
    const row = await insertBuildingInstance(this.ds, flavor, fields);
    await this.requestBuild([row], requestSpecFor(flavor));
    return this.settled(row.uuid, settleMs);
  }

  /** What the API does for a server action: win the task state, open the action, cast to the instance's host. */
  async requestAction(uuid: string, action: string, task: TaskState, cast: (ctx: RequestContext, host: string) => Promise<void>): Promise<RequestContext> {
    const instance = await this.instance(uuid);
    if (!(await advanceInstanceTask(this.ds, uuid, [null], task))) throw new Error(`instance ${uuid} is busy (${instance.task_state})`);
    const ctx = newRequestContext({ user_id: 'demo', project_id: 'demo' });
    await startAction(this.ds, ctx, uuid, action);
    await cast(ctx, instance.host!);
    return ctx;
  }

  /** What the API does for resize and migrate: win resize_prep (recording both flavors), open the action, cast to the scheduler. */
  async requestMove(uuid: string, opts: { newFlavor?: InstanceFlavor; host?: string } = {}): Promise<RequestContext> {
    const { ctx, request } = await this.acceptMove(uuid, opts);
    await this.scheduler.migrateServer(ctx, request);
    return ctx;
  }

  /** requestMove without the cast (one the bus lost): resize_prep won, the request kept on the instance, the action open. */
  async acceptMove(uuid: string, opts: { newFlavor?: InstanceFlavor; host?: string } = {}): Promise<{ ctx: RequestContext; request: MigrateServerRequest }> {
    const instance = await this.instance(uuid);
    const type = opts.newFlavor ? 'resize' : 'migration';
    const newFlavor = opts.newFlavor ?? instance.flavor;
    if (!(await advanceInstanceTask(this.ds, uuid, [null], 'resize_prep', { old_flavor: instance.flavor, new_flavor: newFlavor }))) {
      throw new Error(`instance ${uuid} is busy (${instance.task_state})`);
    }
    const ctx = newRequestContext({ user_id: 'demo', project_id: 'demo' });
    await startAction(this.ds, ctx, uuid, type === 'resize' ? 'resize' : 'migrate');
    await rememberRequestValue(this.ds, uuid, MOVE_REQUESTED_HOST_KEY, opts.host ?? null);
    return { ctx, request: { instance_uuid: uuid, migration_type: type, new_flavor: newFlavor, ...(opts.host ? { host: opts.host } : {}) } };
  }

  /** What the API does for os-migrateLive: win task `migrating`, record the request (accepted), open the action, cast. */
  async requestLiveMigration(uuid: string, opts: { host?: string; blockMigration?: boolean | 'auto'; force?: boolean } = {}): Promise<Migration> {
    const m = await this.acceptLiveMigration(uuid, opts);
    await this.scheduler.liveMigrateServer(contextFromWire(m.migrate_data.request_context), m.id);
    return m;
  }

  /** requestLiveMigration without the cast (one the bus lost): task migrating, the record accepted, the action open. */
  async acceptLiveMigration(uuid: string, opts: { host?: string; blockMigration?: boolean | 'auto'; force?: boolean } = {}): Promise<Migration> {
    const instance = await this.instance(uuid);
    if (!(await advanceInstanceTask(this.ds, uuid, [null], 'migrating'))) throw new Error(`instance ${uuid} is busy (${instance.task_state})`);
    const ctx = newRequestContext({ user_id: 'admin', project_id: 'admin', roles: ['admin'] });
    const data: LiveMigrationRequestData = {
      requested_host: opts.host ?? null, block_migration: opts.blockMigration ?? 'auto', force: opts.force ?? false,
      old_vm_state: instance.vm_state, request_context: ctx,
    };
    const m = await createMigration(this.ds, {
      instance_uuid: uuid, migration_type: 'live-migration', status: 'accepted', source_compute: instance.host, source_node: instance.node,
      dest_compute: opts.host ?? null, user_id: 'admin', project_id: 'admin', migrate_data: data as unknown as Record<string, unknown>,
    }, 'api');
    await startAction(this.ds, ctx, uuid, 'live-migration');
    return m;
  }

  async instance(uuid: string): Promise<Instance> {
    const found = await getInstance(this.ds, uuid);
    if (!found) throw new Error(`no instance ${uuid}`);
    return found;
  }

  /** Polls the instance until `done` holds; fails with its last state after timeoutMs. */
  async waitFor(uuid: string, done: (i: Instance) => boolean, timeoutMs = 10_000): Promise<Instance> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const i = await this.instance(uuid);
      if (done(i)) return i;
      if (Date.now() > deadline) {
        throw new Error(`instance ${uuid} did not reach the expected state: vm_state ${i.vm_state}, task_state ${i.task_state}, power_state ${i.power_state}, host ${i.host}`);
      }
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  /** Polls check until it holds; fails after timeoutMs. */
  async waitUntil(check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!(await check())) {
      if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  /** Waits for an instance to settle: no task, and out of building. */
  settled(uuid: string, timeoutMs?: number): Promise<Instance> {
    return this.waitFor(uuid, (i) => i.task_state === null && i.vm_state !== 'building', timeoutMs);
  }

  /** Rewrites a fake VM's state file, as if the guest changed state behind Ferry's back. */
  async setVmStateBehindFerry(host: string, uuid: string, state: FakeVmRecord['state']): Promise<void> {
    const file = join(this.driver(host).vmDir(uuid), STATE_FILE);
    const record = JSON.parse(await readFile(file, 'utf8')) as FakeVmRecord;
    await writeFile(file, JSON.stringify({ ...record, state }));
  }
}
