// GET /os-ferry-audit on RabbitMQ and Postgres: situations made behind Ferry's back (VMs written straight into the fake
// hosts, rows straight into the database) come back as problems per instance; a compute that is stopped is named as
// not answering and nothing is guessed about what it holds; nothing is changed by asking.
import { randomUUID } from 'node:crypto';
import { rm, writeFile } from 'node:fs/promises';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '@ferry/api';
import { createMigration, Instance, type InstanceFlavor } from '@ferry/common/db';
import { silentLogger } from '@ferry/common/log';
import type { AuditReport } from '@ferry/compute/audit';
import { insertBuildingInstance, instanceFlavor } from '../scheduler/fixtures';
import { Cluster } from './cluster';
import { injectToken } from '../../support/tokens';

jest.setTimeout(90_000);

describe('GET /os-ferry-audit (amqp bus, postgres database)', () => {
  let cluster: Cluster;
  let app: FastifyInstance;
  let tiny: InstanceFlavor;

  beforeAll(async () => {
    // No periodic sweep or power sync during the test: they would repair what the test sets up before the audit sees it.
    cluster = await Cluster.start('amqp', 'postgres', { powerSyncSeconds: 3600, rpcTimeoutSeconds: 3 });
    tiny = await instanceFlavor(cluster.ds, 'm1.tiny');
    app = buildApp({ config: cluster.config, db: cluster.db, transport: cluster.transport, log: silentLogger(), publicUrl: () => 'http://localhost' });
    await app.ready();
  }, 60_000);
  afterAll(async () => {
    await app?.close();
    await cluster?.close();
  });

  const token = (user: string, password: string) => injectToken(app, user, password);
  const getAudit = (tok: string) => app.inject({ method: 'GET', url: '/compute/v2.1/os-ferry-audit', headers: { 'x-auth-token': tok } });

  /** An instance row the database calls active on host (or as given), written directly. */
  const row = (fields: Partial<Instance> = {}) =>
    insertBuildingInstance(cluster.ds, tiny, { vm_state: 'active', task_state: null, power_state: 1, host: 'compute-1', node: 'compute-1', ...fields });
  const spec = (uuid: string, name = `instance-${uuid.slice(0, 8)}`) => ({ uuid, name, flavor: tiny, image_ref: 'cirros' });
  /** A VM written straight into host's fake hypervisor. */
  const vmOn = (host: string, uuid: string, name?: string) => cluster.driver(host).spawn(spec(uuid, name));

  it('is refused to a non-admin', async () => {
    const res = await getAudit(await token('demo', 'ferry-demo'));
    expect(res.statusCode).toBe(403);
    expect(res.json()).toEqual({ forbidden: { code: 403, message: expect.stringMatching(/os-ferry-audit/) } });
  });

  it('reports each problem per instance and names the stopped compute as not answering', async () => {
    const healthy = await row();
    await vmOn('compute-1', healthy.uuid);

    const twice = await row();
    await vmOn('compute-1', twice.uuid);
    // The second copy under another name, as a migration that renames its target leaves it.
    await vmOn('compute-2', twice.uuid, 'instance-renamed');

    const elsewhere = await row();
    await vmOn('compute-2', elsewhere.uuid);

    const stopped = await row();
    await vmOn('compute-1', stopped.uuid);
    await cluster.setVmStateBehindFerry('compute-1', stopped.uuid, 'shutdown');

    const bothPaused = await row({ task_state: 'migrating' });
    await createMigration(cluster.ds, {
      instance_uuid: bothPaused.uuid, migration_type: 'live-migration', status: 'accepted', source_compute: 'compute-1', dest_compute: 'compute-2',
    }, 'api');
    for (const host of ['compute-1', 'compute-2']) {
      await vmOn(host, bothPaused.uuid);
      await cluster.setVmStateBehindFerry(host, bothPaused.uuid, 'paused');
    }

    const deleted = await row({ vm_state: 'deleted', deleted_at: new Date() });
    await vmOn('compute-2', deleted.uuid);

    const unknown = randomUUID();
    await vmOn('compute-2', unknown);

    const diskOnly = await row();
    await vmOn('compute-1', diskOnly.uuid);
    await writeFile(await cluster.driver('compute-2').prepareIncoming(diskOnly.uuid), Buffer.alloc(1024));

    const noDisk = await row();
    await vmOn('compute-1', noDisk.uuid);
    await rm(cluster.driver('compute-1').diskPath(noDisk.uuid));

    // On the host that will not answer: the audit must not call it missing.
    const silent = await row({ host: 'compute-3', node: 'compute-3' });
    await vmOn('compute-3', silent.uuid);
    await cluster.stopCompute('compute-3');

    const before = await cluster.ds.getRepository(Instance).find({ order: { uuid: 'ASC' } });
    const started = Date.now();
    const res = await getAudit(await token('admin', 'ferry-admin'));
    expect(res.statusCode).toBe(200);
    // The silent host costs its bounded timeout (3 s here), once: the hosts are asked in parallel.
    expect(Date.now() - started).toBeLessThan(8_000);
    const { audit } = res.json() as { audit: AuditReport };

    expect(audit.complete).toBe(false);
    expect(audit.clean).toBe(false);
    expect(audit.hosts.map((h) => [h.host, h.answered])).toEqual([['compute-1', true], ['compute-2', true], ['compute-3', false]]);
    expect(audit.hosts[2]).toMatchObject({ reason: expect.any(String), unchecked: [silent.uuid] });

    const problems = (uuid: string) => audit.instances.find((i) => i.uuid === uuid)?.problems.map((p) => p.kind) ?? [];
    expect(problems(healthy.uuid)).toEqual([]);
    expect(problems(silent.uuid)).toEqual([]);
    expect(problems(twice.uuid)).toEqual(['running_on_many_hosts', 'running_elsewhere']);
    expect(problems(elsewhere.uuid)).toEqual(['running_elsewhere']);
    expect(problems(stopped.uuid)).toEqual(['not_running']);
    expect(problems(bothPaused.uuid)).toEqual(['paused_on_many_hosts']);
    expect(problems(deleted.uuid)).toEqual(['deleted_but_held']);
    expect(problems(unknown)).toEqual(['unknown_instance']);
    expect(problems(diskOnly.uuid)).toEqual(['stray_copy']);
    expect(problems(noDisk.uuid)).toEqual(['vm_without_disk']);

    const twiceFinding = audit.instances.find((i) => i.uuid === twice.uuid)!;
    expect(twiceFinding.held).toEqual([
      { host: 'compute-1', name: `instance-${twice.uuid.slice(0, 8)}`, presence: 'running', power_state: 1, has_disk: true },
      { host: 'compute-2', name: 'instance-renamed', presence: 'running', power_state: 1, has_disk: true },
    ]);
    expect(audit.instances.find((i) => i.uuid === diskOnly.uuid)!.held[1]).toEqual({
      host: 'compute-2', name: null, presence: 'absent', power_state: null, has_disk: true,
    });

    // Read only: the database and the hosts are as they were.
    expect(await cluster.ds.getRepository(Instance).find({ order: { uuid: 'ASC' } })).toEqual(before);
    expect(await cluster.driver('compute-2').guestPresence(deleted.uuid)).toBe('running');
    expect(await cluster.driver('compute-1').guestPresence(stopped.uuid)).toBe('stopped');
  });
});
