// {"ferry-cleanup": null} on RabbitMQ and Postgres: each failure mode of the fake driver (failure-modes.ts) is left on
// the hosts behind a database that says what Ferry last did; the audit shows it, cleanup repairs it (finish forward,
// roll back, rename back, adopt), a second audit is clean and a second cleanup does nothing. Where it cannot tell which
// copy is good, or a host does not answer, it refuses with 409 naming the hosts and changes nothing.
import { appendFile } from 'node:fs/promises';
import type { FastifyInstance } from 'fastify';
import {
  advanceMigration, claimResources, createMigration, flavorResources, getInstance, getMigration, Instance, listActions, listAllocations,
  type InstanceFlavor,
} from '@ferry/common/db';
import { guestName, migratingGuestName, type MigrationStatus } from '@ferry/common/domain';
import { type AuditReport } from '@ferry/compute/audit';
import { type CleanupReport } from '@ferry/compute/cleanup';
import { armFault, induceFailureMode, type FailureModeName } from '@ferry/compute/drivers';
import { formatAudit } from '../../../tools/ferry/src/commands/audit';
import { formatCleanup } from '../../../tools/ferry/src/commands/server-cleanup';
import { insertBuildingInstance, instanceFlavor } from '../scheduler/fixtures';
import { apiOn, tokenFrom } from './api-on-cluster';
import { Cluster } from './cluster';

jest.setTimeout(120_000);

/** The statuses a live record passes through on its way to `to`, each written by the role that writes it. */
const LIVE_PATH: readonly [MigrationStatus, 'source'][] = [['preparing', 'source'], ['running', 'source'], ['post-migrating', 'source']];

describe('ferry-cleanup server action (amqp bus, postgres database)', () => {
  let cluster: Cluster;
  let app: FastifyInstance;
  let tiny: InstanceFlavor;
  let adminToken: string;

  beforeAll(async () => {
    // No periodic pass during the test: the sweep and the recovery would repair what the test sets up before cleanup does.
    cluster = await Cluster.start('amqp', 'postgres', { powerSyncSeconds: 3600, reconcileIntervalSeconds: 3600, rpcTimeoutSeconds: 3 });
    tiny = await instanceFlavor(cluster.ds, 'm1.tiny');
    app = await apiOn(cluster);
    adminToken = await token('admin', 'ferry-admin');
  }, 60_000);
  afterAll(async () => {
    await app?.close();
    await cluster?.close();
  });

  const token = (user: string, password: string) => tokenFrom(app, user, password);
  const cleanup = (uuid: string, body: unknown = { 'ferry-cleanup': null }, tok = adminToken) =>
    app.inject({ method: 'POST', url: `/compute/v2.1/servers/${uuid}/action`, headers: { 'x-auth-token': tok }, payload: body as object });
  async function audit(): Promise<AuditReport> {
    const res = await app.inject({ method: 'GET', url: '/compute/v2.1/os-ferry-audit', headers: { 'x-auth-token': adminToken } });
    expect(res.statusCode).toBe(200);
    return (res.json() as { audit: AuditReport }).audit;
  }
  const problems = (report: AuditReport, uuid: string) => report.instances.find((i) => i.uuid === uuid)?.problems.map((p) => p.kind) ?? [];

  /** An instance Ferry built on host: its row, its claim there, its VM. */
  async function builtOn(host: string, fields: Partial<Instance> = {}): Promise<Instance> {
    const row = await insertBuildingInstance(cluster.ds, tiny, { vm_state: 'active', task_state: null, power_state: 1, host, node: host, ...fields });
    await claimOn(row.uuid, host);
    await cluster.driver(host).spawn(spec(row.uuid));
    return row;
  }
  const spec = (uuid: string) => ({ uuid, name: guestName(uuid), flavor: tiny, image_ref: 'cirros' });
  const claimOn = async (uuid: string, host: string) => expect(await claimResources(cluster.ds, { consumer_uuid: uuid, host, ...flavorResources(tiny) })).toBe(true);
  const claims = async (uuid: string) => (await listAllocations(cluster.ds, { consumer_uuid: uuid })).map((a) => a.host).sort();

  /** A live migration record from source to dest that reached `to` (through the statuses its flow writes). */
  async function liveRecord(uuid: string, source: string, dest: string, to: MigrationStatus): Promise<number> {
    const m = await createMigration(cluster.ds, { instance_uuid: uuid, migration_type: 'live-migration', status: 'queued', source_compute: source, dest_compute: dest }, 'dest');
    let at: MigrationStatus = 'queued';
    for (const [status, by] of LIVE_PATH) {
      if (at === to) break;
      const next: MigrationStatus = to === 'error' && status === 'post-migrating' ? 'error' : status;
      expect(await advanceMigration(cluster.ds, m.id, [at], next, by)).toBe(true);
      at = next;
    }
    if (at !== to) expect(await advanceMigration(cluster.ds, m.id, [at], to, 'source')).toBe(true);
    return m.id;
  }

  const induce = (mode: FailureModeName, uuid: string, source: string, other: string) =>
    induceFailureMode(mode, { stateDir: cluster.config.stateDir, spec: spec(uuid), source, other });

  /** Audit, cleanup, audit again, cleanup again: the transcript an operator sees (kept when FERRY_CLEANUP_TRANSCRIPT names a file). */
  async function repair(mode: string, uuid: string, expectedProblems: string[]): Promise<CleanupReport> {
    const before = await audit();
    expect(problems(before, uuid)).toEqual(expectedProblems);
    const res = await cleanup(uuid);
    expect(res.statusCode).toBe(200);
    const report = (res.json() as { cleanup: CleanupReport }).cleanup;
    expect(report.result).toBe('converged');
    expect(problems(await audit(), uuid)).toEqual([]);
    const again = await cleanup(uuid);
    expect(again.statusCode).toBe(200);
    expect((again.json() as { cleanup: CleanupReport }).cleanup).toMatchObject({ result: 'nothing_to_do', done: [] });
    const finding = { ...before, instances: before.instances.filter((i) => i.uuid === uuid) };
    if (process.env.FERRY_CLEANUP_TRANSCRIPT) {
      await appendFile(process.env.FERRY_CLEANUP_TRANSCRIPT, `### ${mode}\n$ ferry audit\n${formatAudit(finding)}$ ferry server cleanup ${uuid}\n${formatCleanup(report)}\n`);
    }
    expect((await listActions(cluster.ds, uuid)).map((a) => a.action).filter((a) => a === 'cleanup')).toEqual(['cleanup', 'cleanup']);
    // Each action records what was found and done, with the steps on the hosts as their own events.
    const events = (await cluster.ds.query(
      `SELECT e.event, e.result, e.details FROM instance_action_events e JOIN instance_actions a ON a.id = e.action_id
        WHERE a.instance_uuid = $1 AND e.event = 'ferry_cleanup' ORDER BY e.id`, [uuid])) as { event: string; result: string; details: string }[];
    expect(events.map((e) => [e.result, e.details.split(' ')[0]])).toEqual([['Success', 'converged'], ['Success', 'nothing_to_do']]);
    expect(events[0]!.details).toContain(report.done[0]!);
    return report;
  }

  it('is refused to a non-admin, and a body other than null is a 400', async () => {
    const [{ id: demoProject }] = (await cluster.ds.query(`SELECT id FROM projects WHERE name = 'demo'`)) as { id: string }[];
    // The member's own server: visible to it, so the answer is the policy's 403, not another project's 404.
    const row = await builtOn('compute-1', { project_id: demoProject });
    const member = await cleanup(row.uuid, { 'ferry-cleanup': null }, await token('demo', 'ferry-demo'));
    expect(member.statusCode).toBe(403);
    expect(member.json()).toEqual({ forbidden: { code: 403, message: expect.stringMatching(/os-ferry-cleanup/) } });
    const bad = await cleanup(row.uuid, { 'ferry-cleanup': { force: true } });
    expect(bad.statusCode).toBe(400);
  });

  it('finds nothing to do on a healthy instance', async () => {
    const row = await builtOn('compute-1');
    const res = await cleanup(row.uuid);
    expect(res.statusCode).toBe(200);
    expect((res.json() as { cleanup: CleanupReport }).cleanup).toMatchObject({ result: 'nothing_to_do', rule: 'one_good_copy', done: [] });
  });

  it('Xen freeze: drops the empty paused domain on the destination and renames the source back', async () => {
    const row = await builtOn('compute-1');
    await claimOn(row.uuid, 'compute-2');
    await liveRecord(row.uuid, 'compute-1', 'compute-2', 'error');
    await induce('xen_freeze', row.uuid, 'compute-1', 'compute-2');

    const report = await repair('xen_freeze', row.uuid, ['stray_copy', 'renamed_mid_migration']);
    expect(report).toMatchObject({ outcome: 'rename_back', rule: 'one_good_copy' });
    expect(await cluster.driver('compute-1').getVm(row.uuid)).toMatchObject({ name: guestName(row.uuid), power_state: 1 });
    expect(await cluster.driver('compute-2').guestPresence(row.uuid)).toBe('absent');
    expect(await claims(row.uuid)).toEqual(['compute-1']);
    expect((await getInstance(cluster.ds, row.uuid))!.host).toBe('compute-1');
  });

  it('Xen freeze left by a live migration (fault points live_migration_job.freeze and a destination that cannot drop its domain)', async () => {
    const vm = await cluster.buildServer(tiny);
    const source = vm.host!;
    const dest = source === 'compute-1' ? 'compute-2' : 'compute-1';
    await armFault(cluster.driver(source).hostDir, 'live_migration_job.freeze');
    await armFault(cluster.driver(dest).hostDir, 'live_migration_finish');
    const m = await cluster.requestLiveMigration(vm.uuid, { host: dest });
    await cluster.waitUntil(async () => ['failed', 'error', 'completed'].includes((await getMigration(cluster.ds, m.id))!.status), 20_000);
    await cluster.waitFor(vm.uuid, (i) => i.task_state === null, 20_000);
    expect((await getMigration(cluster.ds, m.id))!.status).toBe('failed');
    expect(await cluster.driver(source).getVm(vm.uuid)).toMatchObject({ name: migratingGuestName(vm.uuid), power_state: 1 });
    expect(await cluster.driver(dest).guestPresence(vm.uuid)).toBe('incoming');

    const report = await repair('xen_freeze in a live migration', vm.uuid, ['stray_copy', 'renamed_mid_migration']);
    expect(report.outcome).toBe('rename_back');
    expect(await cluster.driver(source).getVm(vm.uuid)).toMatchObject({ name: guestName(vm.uuid), power_state: 1 });
    expect(await cluster.driver(dest).guestPresence(vm.uuid)).toBe('absent');
    expect(await claims(vm.uuid)).toEqual([source]);
  });

  it('definition not written by a live migration\'s Finish (fault point live_migration_finish.no_definition): cleanup writes it', async () => {
    const vm = await cluster.buildServer(tiny);
    const dest = vm.host === 'compute-1' ? 'compute-2' : 'compute-1';
    await armFault(cluster.driver(dest).hostDir, 'live_migration_finish.no_definition');
    const m = await cluster.requestLiveMigration(vm.uuid, { host: dest });
    await cluster.waitUntil(async () => ['failed', 'error', 'completed'].includes((await getMigration(cluster.ds, m.id))!.status), 20_000);
    await cluster.waitFor(vm.uuid, (i) => i.task_state === null, 20_000);
    expect((await getMigration(cluster.ds, m.id))!.status).toBe('completed');
    expect(await cluster.driver(dest).getVm(vm.uuid)).toMatchObject({ power_state: 1, transient: true });

    const report = await repair('definition not written by a live migration', vm.uuid, ['runs_without_definition']);
    expect(report.done).toEqual([`wrote the guest's definition on ${dest} from the database (it runs from memory with no definition written)`]);
    expect((await cluster.driver(dest).getVm(vm.uuid))!.transient).toBeUndefined();
  });

  it('definition not written: finishes forward to the destination and writes the definition there', async () => {
    const row = await builtOn('compute-1');
    await liveRecord(row.uuid, 'compute-1', 'compute-2', 'error');
    await induce('definition_not_written', row.uuid, 'compute-1', 'compute-2');

    const report = await repair('definition_not_written', row.uuid, ['running_elsewhere', 'runs_without_definition']);
    expect(report.outcome).toBe('finish_forward');
    expect(await cluster.driver('compute-2').getVm(row.uuid)).toMatchObject({ power_state: 1 });
    expect((await cluster.driver('compute-2').getVm(row.uuid))!.transient).toBeUndefined();
    expect(await getInstance(cluster.ds, row.uuid)).toMatchObject({ host: 'compute-2', node: 'compute-2', task_state: null, vm_state: 'active' });
    expect(await claims(row.uuid)).toEqual(['compute-2']);
  });

  it('finalize done on the destination only: destroys the paused source copy and completes the record', async () => {
    const row = await builtOn('compute-1', { task_state: 'migrating' });
    await claimOn(row.uuid, 'compute-2');
    const id = await liveRecord(row.uuid, 'compute-1', 'compute-2', 'post-migrating');
    await cluster.ds.getRepository(Instance).update({ uuid: row.uuid }, { host: 'compute-2', node: 'compute-2' });
    await induce('finalize_dest_only', row.uuid, 'compute-1', 'compute-2');

    const report = await repair('finalize_dest_only', row.uuid, ['finalize_pending']);
    expect(report.outcome).toBe('finish_forward');
    expect((await getMigration(cluster.ds, id))!.status).toBe('completed');
    expect(await cluster.driver('compute-1').guestPresence(row.uuid)).toBe('absent');
    expect(await getInstance(cluster.ds, row.uuid)).toMatchObject({ host: 'compute-2', task_state: null });
    expect(await claims(row.uuid)).toEqual(['compute-2']);
  });

  it('finalize done on the source only: resumes the transferred guest on the destination', async () => {
    const row = await builtOn('compute-1', { task_state: 'migrating' });
    await claimOn(row.uuid, 'compute-2');
    const id = await liveRecord(row.uuid, 'compute-1', 'compute-2', 'post-migrating');
    await induce('finalize_source_only', row.uuid, 'compute-1', 'compute-2');

    const report = await repair('finalize_source_only', row.uuid, ['finalize_pending']);
    expect(report).toMatchObject({ outcome: 'finish_forward', rule: 'transfer_done_not_resumed' });
    expect(await cluster.driver('compute-2').guestPresence(row.uuid)).toBe('running');
    expect((await getMigration(cluster.ds, id))!.status).toBe('completed');
    expect(await getInstance(cluster.ds, row.uuid)).toMatchObject({ host: 'compute-2', task_state: null });
    expect(await claims(row.uuid)).toEqual(['compute-2']);
  });

  it('adopts a guest moved by hand to a host the database does not name', async () => {
    const row = await builtOn('compute-1');
    await induce('moved_by_hand', row.uuid, 'compute-1', 'compute-3');

    const report = await repair('moved_by_hand', row.uuid, ['running_elsewhere']);
    expect(report.outcome).toBe('adopt');
    expect(await getInstance(cluster.ds, row.uuid)).toMatchObject({ host: 'compute-3', node: 'compute-3' });
    expect(await claims(row.uuid)).toEqual(['compute-3']);
  });

  it('makes a server left in ERROR by a move that could not decide ACTIVE once its running copy is proven', async () => {
    const row = await builtOn('compute-1', { vm_state: 'error' });
    await claimOn(row.uuid, 'compute-2');
    await liveRecord(row.uuid, 'compute-1', 'compute-2', 'error');
    await induce('finalize_dest_only', row.uuid, 'compute-1', 'compute-2');
    // The record ended in error: nothing proves the transfer completed, so the paused source copy is not known stale.
    expect((await cleanup(row.uuid)).statusCode).toBe(409);
    await cluster.driver('compute-1').destroy(row.uuid);

    const res = await cleanup(row.uuid);
    expect(res.statusCode).toBe(200);
    expect((res.json() as { cleanup: CleanupReport }).cleanup).toMatchObject({ outcome: 'finish_forward' });
    expect(await getInstance(cluster.ds, row.uuid)).toMatchObject({ host: 'compute-2', vm_state: 'active', power_state: 1 });
  });

  it('refuses a copy started by hand beside the good one, naming both hosts, and changes nothing', async () => {
    const row = await builtOn('compute-1');
    await induce('started_by_hand', row.uuid, 'compute-1', 'compute-2');
    const found = await audit();
    expect(problems(found, row.uuid)).toEqual(['running_on_many_hosts', 'running_elsewhere']);
    const before = await getInstance(cluster.ds, row.uuid);

    const res = await cleanup(row.uuid);
    expect(res.statusCode).toBe(409);
    const message = (res.json() as { conflictingRequest: { message: string } }).conflictingRequest.message;
    expect(message).toMatch(/runs on compute-1 and compute-2/);
    if (process.env.FERRY_CLEANUP_TRANSCRIPT) {
      await appendFile(process.env.FERRY_CLEANUP_TRANSCRIPT, `### started_by_hand\n$ ferry audit\n${formatAudit({ ...found, instances: found.instances.filter((i) => i.uuid === row.uuid) })}$ ferry server cleanup ${row.uuid}\ncleanup refused: ${message}\n\n`);
    }
    expect(await getInstance(cluster.ds, row.uuid)).toEqual(before);
    expect(await cluster.driver('compute-2').guestPresence(row.uuid)).toBe('running');
    expect(await cluster.driver('compute-1').guestPresence(row.uuid)).toBe('running');
    expect(await listActions(cluster.ds, row.uuid)).toEqual([]);
  });

  it('refuses a renamed source while the destination holds a copy that may have taken over', async () => {
    const row = await builtOn('compute-1');
    await liveRecord(row.uuid, 'compute-1', 'compute-2', 'error');
    await induce('xen_freeze', row.uuid, 'compute-1', 'compute-2');
    await cluster.setVmStateBehindFerry('compute-2', row.uuid, 'paused');

    const res = await cleanup(row.uuid);
    expect(res.statusCode).toBe(409);
    expect((res.json() as { conflictingRequest: { message: string } }).conflictingRequest.message)
      .toMatch(new RegExp(`compute-1: running as ${migratingGuestName(row.uuid)}.*compute-2: paused`));
    expect(await cluster.driver('compute-2').guestPresence(row.uuid)).toBe('paused');
    expect((await cluster.driver('compute-1').getVm(row.uuid))!.name).toBe(migratingGuestName(row.uuid));
  });

  it('refuses while a host does not answer, naming it, and guesses nothing', async () => {
    const row = await builtOn('compute-1');
    await induce('moved_by_hand', row.uuid, 'compute-1', 'compute-2');
    await cluster.stopCompute('compute-3');
    try {
      const res = await cleanup(row.uuid);
      expect(res.statusCode).toBe(409);
      expect((res.json() as { conflictingRequest: { message: string } }).conflictingRequest.message).toMatch(/compute host compute-3 .* did not answer; nothing was changed/);
      expect(await getInstance(cluster.ds, row.uuid)).toMatchObject({ host: 'compute-1' });
      expect(await claims(row.uuid)).toEqual(['compute-1']);
    } finally {
      await cluster.startCompute('compute-3');
    }
  });
});
