// The stock openstack CLI moving real guests: `npm start`'s all-in-one with FERRY_DRIVER=qemu and three hosts, of
// which compute-1 and compute-2 share instance storage and compute-3 has its own. One small guest is built, cold
// migrated, resized (reverted, then confirmed), live-migrated on shared storage and with its disk (block), aborted
// mid-transfer, rescued and live-migrated while rescued. After every live move the guest's console counter on its
// new host continues from where it was: the same guest kept running. Guests are idle: TCG's QEMU 7.2 corrupts a guest
// that writes memory fast during live migration (REFERENCE.md), and a migration that runs for long gives it more
// chances: only the migration to abort is held (by the server's bandwidth metadata) to 4 MiB/s, so the abort lands.
import { existsSync, mkdirSync, readFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { COUNTER_LINE } from '@ferry/compute/drivers';
import { startCloud, type Cloud } from '../support/cloud';
import { eventually } from '../support/ferry-process';
import { TEST_CACHE_DIR } from '../support/qemu';

jest.setTimeout(300_000);

interface ServerJson { id: string; status: string; [key: string]: unknown }
type MigrationRow = { Id: number; Status: string; Type?: string };

describe('openstack CLI moving real guests (qemu driver, all-in-one)', () => {
  let cloud: Cloud;
  let id: string;

  beforeAll(async () => {
    cloud = await startCloud('all-in-one', {
      FERRY_DRIVER: 'qemu', FERRY_QEMU_GUEST_CACHE: TEST_CACHE_DIR,
      FERRY_QEMU_MIGRATION_PORTS: '50100-50199',
    }, (stateDir) => {
      const shared = join(stateDir, 'shared-instances');
      mkdirSync(shared, { recursive: true });
      for (const host of ['compute-1', 'compute-2']) {
        mkdirSync(join(stateDir, 'hosts', host), { recursive: true });
        symlinkSync(shared, join(stateDir, 'hosts', host, 'instances'));
      }
    });
    for (const [name, ram, disk] of [['q.tiny', '128', '1'], ['q.small', '192', '2']]) {
      ok(await cloud.openstack('ferry-admin', ['flavor', 'create', '--ram', ram!, '--disk', disk!, '--vcpus', '1', name!]));
    }
  }, 180_000);

  afterAll(async () => {
    await cloud?.stop();
  });

  const ok = (res: { code: number; stderr: string }) => expect({ code: res.code, stderr: res.stderr }).toEqual({ code: 0, stderr: '' });
  const admin = (args: string[]) => cloud.openstack('ferry-admin', ['--os-compute-api-version', '2.65', ...args]);
  const show = (args: string[] = []) => cloud.openstackJson<ServerJson>('ferry-admin', ['--os-compute-api-version', '2.47', 'server', 'show', ...args, id]);
  const hostOf = async () => (await show())['OS-EXT-SRV-ATTR:host'] as string;
  const flavorOf = async () => ((await show()).flavor as { original_name: string }).original_name;
  const waitFor = (want: string) => eventually(async () => ((await show()).status === want ? want : undefined), 120_000, 500);
  const migrations = () => cloud.openstackJson<MigrationRow[]>('ferry-admin', ['--os-compute-api-version', '2.65', 'server', 'migration', 'list', '--server', id]);
  const liveTo = async (host: string, extra: string[] = []) => {
    const before = (await migrations()).length;
    ok(await admin(['server', 'migrate', '--live-migration', '--host', host, ...extra, id]));
    await eventually(async () => {
      const rows = await migrations();
      return rows.length > before && rows.every((m) => ['completed', 'confirmed', 'reverted', 'cancelled', 'failed', 'error'].includes(m.Status)) ? true : undefined;
    }, 120_000, 500);
    expect((await migrations()).find((m) => m.Status === 'failed' || m.Status === 'error')).toBeUndefined();
    expect(await hostOf()).toBe(host);
  };
  /** The guest's counters as its QEMU on host printed them. */
  const countersOn = (host: string) => {
    const log = join(cloud.stateDir, 'hosts', host, 'run', `${id}.log`);
    return (existsSync(log) ? readFileSync(log, 'utf8') : '').split('\n').flatMap((l) => {
      const m = COUNTER_LINE.exec(l);
      return m ? [Number(m[1])] : [];
    });
  };
  const countingOn = (host: string, n = 3) => eventually(async () => (countersOn(host).length >= n ? countersOn(host) : undefined), 60_000, 200);
  /** The guest went on counting on `to` from where it was on `from`: it kept running across the move. */
  const keptRunning = async (from: string, to: string) => {
    const last = countersOn(from).at(-1) ?? 0;
    const after = await countingOn(to);
    expect(after[0]).toBeGreaterThan(0);
    expect(after[0]).toBeGreaterThanOrEqual(last);
  };
  const qemuRunsOn = (host: string) => existsSync(join(cloud.stateDir, 'hosts', host, 'run', `${id}.pid`));

  it('builds a server on compute-3 whose guest boots and counts', async () => {
    const server = await cloud.openstackJson<ServerJson>('ferry-admin', ['server', 'create', '--flavor', 'q.tiny', '--image', 'cirros', '--availability-zone', 'nova:compute-3', '--wait', 'real-1']);
    id = server.id;
    expect(server.status).toBe('ACTIVE');
    expect(await hostOf()).toBe('compute-3');
    expect(qemuRunsOn('compute-3')).toBe(true);
    expect((await countingOn('compute-3')).slice(0, 3)).toEqual([0, 1, 2]);
  });

  it('cold-migrates it to compute-1 in two passes and confirms: it boots there', async () => {
    ok(await admin(['server', 'migrate', '--host', 'compute-1', '--wait', id]));
    expect((await show()).status).toBe('VERIFY_RESIZE');
    expect(await hostOf()).toBe('compute-1');
    ok(await cloud.openstack('ferry-admin', ['server', 'resize', 'confirm', id]));
    await waitFor('ACTIVE');
    expect(qemuRunsOn('compute-1')).toBe(true);
    expect(qemuRunsOn('compute-3')).toBe(false);
    await countingOn('compute-1');
  });

  it('live-migrates it on shared storage to compute-2: the guest keeps counting', async () => {
    await liveTo('compute-2');
    await keptRunning('compute-1', 'compute-2');
    expect(qemuRunsOn('compute-1')).toBe(false);
  });

  it('block-migrates it live to compute-3: the guest keeps counting', async () => {
    await liveTo('compute-3', ['--block-migration']);
    await keptRunning('compute-2', 'compute-3');
    expect(qemuRunsOn('compute-2')).toBe(false);
  });

  it('aborts a live migration mid-transfer: the guest stays and runs where it was', async () => {
    // A second server, whose migrations its metadata holds to 4 MiB/s.
    const slow = await cloud.openstackJson<ServerJson>('ferry-admin', [
      'server', 'create', '--flavor', 'q.tiny', '--image', 'cirros', '--availability-zone', 'nova:compute-3', '--property', 'ferry:migration_bandwidth_mib_s=4', '--wait', 'real-slow',
    ]);
    const first = id;
    id = slow.id;
    try {
      await countingOn('compute-3');
      ok(await admin(['server', 'migrate', '--live-migration', '--host', 'compute-1', '--block-migration', id]));
      const running = await eventually(async () => (await migrations()).find((m) => m.Status === 'running'), 60_000, 200);
      ok(await admin(['server', 'migration', 'abort', id, String(running!.Id)]));
      await eventually(async () => ((await migrations()).find((m) => m.Id === running!.Id && m.Status === 'cancelled') ? true : undefined), 60_000, 500);
      await waitFor('ACTIVE');
      expect(await hostOf()).toBe('compute-3');
      expect(qemuRunsOn('compute-1')).toBe(false);
      const n = countersOn('compute-3').length;
      await countingOn('compute-3', n + 3);
      ok(await cloud.openstack('ferry-admin', ['server', 'delete', '--wait', id]));
      expect(qemuRunsOn('compute-3')).toBe(false);
    } finally {
      id = first;
    }
  });

  it('resizes it and reverts, then resizes it and confirms: the flavor and host follow', async () => {
    ok(await cloud.openstack('ferry-admin', ['server', 'resize', '--flavor', 'q.small', '--wait', id]));
    expect((await show()).status).toBe('VERIFY_RESIZE');
    expect(await flavorOf()).toBe('q.small');
    ok(await cloud.openstack('ferry-admin', ['server', 'resize', 'revert', id]));
    await waitFor('ACTIVE');
    expect(await hostOf()).toBe('compute-3');
    expect(await flavorOf()).toBe('q.tiny');
    await countingOn('compute-3');

    ok(await cloud.openstack('ferry-admin', ['server', 'resize', '--flavor', 'q.small', '--wait', id]));
    ok(await cloud.openstack('ferry-admin', ['server', 'resize', 'confirm', id]));
    await waitFor('ACTIVE');
    expect(await flavorOf()).toBe('q.small');
    const host = await hostOf();
    expect(host).not.toBe('compute-3');
    expect(qemuRunsOn(host)).toBe(true);
  });

  it('rescues it, live-migrates it rescued to compute-3, and unrescues it there', async () => {
    ok(await cloud.openstack('ferry-admin', ['server', 'rescue', id]));
    await waitFor('RESCUE');
    const from = await hostOf();
    // The rescue booted the guest anew: it counts from 0 there before it moves.
    await countingOn(from);
    await liveTo('compute-3', ['--block-migration']);
    expect((await show()).status).toBe('RESCUE');
    await keptRunning(from, 'compute-3');
    ok(await cloud.openstack('ferry-admin', ['server', 'unrescue', id]));
    await waitFor('ACTIVE');
    expect(await hostOf()).toBe('compute-3');
  });

  it('deletes it: no QEMU is left on any host', async () => {
    ok(await cloud.openstack('ferry-admin', ['server', 'delete', '--wait', id]));
    for (const host of ['compute-1', 'compute-2', 'compute-3']) expect(qemuRunsOn(host)).toBe(false);
  });
});
