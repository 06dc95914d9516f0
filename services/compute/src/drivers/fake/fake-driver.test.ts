import { randomUUID } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { POWER_STATES } from '@ferry/common/domain';
import type { VmSpec } from '../driver';
import { VmNotFound } from '../errors';
import { FakeDriver } from './fake-driver';
import { armFault, FAULTS_FILE, InjectedFault } from './fault-points';
import { DISK_FILE, GIB, STATE_FILE, type FakeVmRecord } from './vm-files';

const SMALL = { id: 2, flavorid: '2', name: 'm1.small', vcpus: 1, memory_mb: 2048, root_gb: 20, ephemeral_gb: 0, swap: 0, extra_specs: {} };

describe('fake driver', () => {
  let stateDir: string;
  let driver: FakeDriver;
  const spec = (): VmSpec => ({ uuid: randomUUID(), name: 'vm', flavor: SMALL, image_ref: 'cirros' });

  beforeEach(async () => {
    stateDir = await mkdtemp(join(tmpdir(), 'ferry-fake-'));
    driver = new FakeDriver({ host: 'fake-1', stateDir, vcpus: 4, memoryMb: 8192, diskGb: 100 });
    await driver.init();
  });
  afterEach(() => rm(stateDir, { recursive: true, force: true }));

  it('keeps each VM under hosts/<host>/instances/<uuid>: a JSON state file and a sparse root disk of root_gb GiB', async () => {
    const s = spec();
    await driver.spawn(s);
    const dir = join(stateDir, 'hosts', 'fake-1', 'instances', s.uuid);
    expect(driver.vmDir(s.uuid)).toBe(dir);
    expect((await readdir(dir)).sort()).toEqual([DISK_FILE, STATE_FILE]);
    const record = JSON.parse(await readFile(join(dir, STATE_FILE), 'utf8')) as FakeVmRecord;
    expect(record).toMatchObject({ uuid: s.uuid, name: 'vm', state: 'running', vcpus: 1, memory_mb: 2048, root_gb: 20, image_ref: 'cirros', boots: 1 });
    const disk = await stat(join(dir, DISK_FILE));
    expect(disk.size).toBe(20 * GIB);
    expect(disk.blocks * 512).toBeLessThan(1024 * 1024);
  });

  it('counts boots and records every change in the state file', async () => {
    const s = spec();
    await driver.spawn(s);
    await driver.powerOff(s.uuid);
    await driver.powerOn(s.uuid);
    await driver.reboot(s.uuid, 'SOFT');
    const record = JSON.parse(await readFile(join(driver.vmDir(s.uuid), STATE_FILE), 'utf8')) as FakeVmRecord;
    expect(record).toMatchObject({ state: 'running', boots: 3 });
    expect((await readdir(driver.vmDir(s.uuid))).filter((f) => f.includes('.tmp-'))).toEqual([]);
  });

  it('reports a state edited behind its back (the VM "crashed" or was shut down from inside)', async () => {
    const s = spec();
    await driver.spawn(s);
    const file = join(driver.vmDir(s.uuid), STATE_FILE);
    const record = JSON.parse(await readFile(file, 'utf8')) as FakeVmRecord;
    await writeFile(file, JSON.stringify({ ...record, state: 'shutdown' }));
    expect((await driver.getVm(s.uuid))?.power_state).toBe(POWER_STATES.SHUTDOWN);
  });

  it('fails the next spawn when faults.json arms `spawn`, once by default', async () => {
    await writeFile(join(driver.hostDir, FAULTS_FILE), JSON.stringify(['spawn']));
    const s = spec();
    await expect(driver.spawn(s)).rejects.toThrow(InjectedFault);
    expect(await driver.getVm(s.uuid)).toBeUndefined();
    await driver.spawn(s);
    expect((await driver.getVm(s.uuid))?.power_state).toBe(POWER_STATES.RUNNING);
    expect(JSON.parse(await readFile(join(driver.hostDir, FAULTS_FILE), 'utf8'))).toEqual({});
  });

  it('honours `times`, `always` and the message of an armed fault', async () => {
    await armFault(driver.hostDir, 'spawn', { times: 2, message: 'no space left on device' });
    await expect(driver.spawn(spec())).rejects.toThrow('no space left on device (host fake-1)');
    await expect(driver.spawn(spec())).rejects.toThrow(InjectedFault);
    await driver.spawn(spec());
    const s = spec();
    await driver.spawn(s);
    await armFault(driver.hostDir, 'power_off', { times: 'always' });
    for (let i = 0; i < 3; i++) await expect(driver.powerOff(s.uuid)).rejects.toMatchObject({ code: 'InjectedFault', details: { fault_point: 'power_off' } });
    expect((await driver.getVm(s.uuid))?.power_state).toBe(POWER_STATES.RUNNING);
  });

  it('a spawn failing after its disk leaves a directory that is no VM, and destroy removes it', async () => {
    await armFault(driver.hostDir, 'spawn.after_disk');
    const s = spec();
    await expect(driver.spawn(s)).rejects.toThrow(InjectedFault);
    expect(await readdir(driver.vmDir(s.uuid))).toEqual([DISK_FILE]);
    expect(await driver.listVms()).toEqual([]);
    await driver.destroy(s.uuid);
    await expect(stat(driver.vmDir(s.uuid))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('consumes a fault exactly once under concurrent operations', async () => {
    await armFault(driver.hostDir, 'spawn', { times: 3 });
    const results = await Promise.allSettled(Array.from({ length: 10 }, () => driver.spawn(spec())));
    expect(results.filter((r) => r.status === 'rejected')).toHaveLength(3);
  });

  describe('cold migration, destination side', () => {
    const readRecord = async (uuid: string) => JSON.parse(await readFile(join(driver.vmDir(uuid), STATE_FILE), 'utf8')) as FakeVmRecord;
    const copyIn = async (uuid: string, size: number) => {
      const path = await driver.prepareIncoming(uuid);
      await writeFile(path, Buffer.alloc(size, 7));
      return path;
    };

    it('prepares <vm dir>/disk without a state file, so the arriving disk is no VM yet', async () => {
      const s = spec();
      const path = await driver.prepareIncoming(s.uuid);
      expect(path).toBe(join(driver.vmDir(s.uuid), DISK_FILE));
      expect(driver.diskPath(s.uuid)).toBe(path);
      expect(await driver.prepareIncoming(s.uuid)).toBe(path);
      await writeFile(path, 'disk');
      expect(await readdir(driver.vmDir(s.uuid))).toEqual([DISK_FILE]);
      expect(await driver.getVm(s.uuid)).toBeUndefined();
      expect(await driver.listVms()).toEqual([]);
    });

    it('defines the VM on the copied disk, grown sparsely to root_gb, shut off or booted once', async () => {
      const [off, on] = [spec(), spec()];
      for (const s of [off, on]) await copyIn(s.uuid, 1024 * 1024);
      await driver.finishIncoming(off, { powerOn: false });
      await driver.finishIncoming(on, { powerOn: true });
      expect(await readRecord(off.uuid)).toMatchObject({ uuid: off.uuid, name: 'vm', state: 'shutdown', boots: 0, vcpus: 1, memory_mb: 2048, root_gb: 20, image_ref: 'cirros' });
      expect(await readRecord(on.uuid)).toMatchObject({ state: 'running', boots: 1 });
      const disk = await stat(driver.diskPath(off.uuid));
      expect(disk.size).toBe(20 * GIB);
      expect(disk.blocks * 512).toBeLessThan(4 * 1024 * 1024);
    });

    it('never shrinks a disk larger than the flavor', async () => {
      const s = { ...spec(), flavor: { ...SMALL, root_gb: 0 } };
      await copyIn(s.uuid, 3 * 1024 * 1024);
      await driver.finishIncoming(s, { powerOn: true });
      expect((await stat(driver.diskPath(s.uuid))).size).toBe(3 * 1024 * 1024);
    });

    it('leaves a VM already defined as it is, only booting a shut-down one when asked', async () => {
      const s = spec();
      await copyIn(s.uuid, 4096);
      await driver.finishIncoming(s, { powerOn: false });
      const first = await readRecord(s.uuid);
      await truncate(driver.diskPath(s.uuid), 4096);
      await driver.finishIncoming({ ...s, flavor: { ...SMALL, vcpus: 8 } }, { powerOn: false });
      expect(await readRecord(s.uuid)).toEqual(first);
      expect((await stat(driver.diskPath(s.uuid))).size).toBe(4096);
      await driver.finishIncoming(s, { powerOn: true });
      await driver.finishIncoming(s, { powerOn: true });
      expect(await readRecord(s.uuid)).toMatchObject({ state: 'running', boots: 1, vcpus: 1 });
    });

    it('refuses to define a VM without a disk, naming the host and instance', async () => {
      const s = spec();
      await expect(driver.finishIncoming(s, { powerOn: true })).rejects.toThrow(VmNotFound);
      await driver.prepareIncoming(s.uuid);
      const err = await driver.finishIncoming(s, { powerOn: true }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(VmNotFound);
      expect(err).toMatchObject({ details: { instance_uuid: s.uuid, host: 'fake-1' } });
      expect((err as Error).message).toContain(s.uuid);
      expect((err as Error).message).toContain('fake-1');
      expect(await readdir(driver.vmDir(s.uuid))).toEqual([]);
    });

    it('fails at the fault points `prepare_incoming` and `finish_incoming` before doing anything', async () => {
      const s = spec();
      await armFault(driver.hostDir, 'prepare_incoming');
      await expect(driver.prepareIncoming(s.uuid)).rejects.toMatchObject({ code: 'InjectedFault', details: { fault_point: 'prepare_incoming' } });
      await expect(stat(driver.vmDir(s.uuid))).rejects.toMatchObject({ code: 'ENOENT' });
      await copyIn(s.uuid, 4096);
      await armFault(driver.hostDir, 'finish_incoming');
      await expect(driver.finishIncoming(s, { powerOn: true })).rejects.toThrow(InjectedFault);
      expect(await driver.getVm(s.uuid)).toBeUndefined();
      await driver.finishIncoming(s, { powerOn: true });
      expect((await driver.getVm(s.uuid))?.power_state).toBe(POWER_STATES.RUNNING);
    });

    it('destroys a disk that arrived but was never defined', async () => {
      const s = spec();
      await copyIn(s.uuid, 4096);
      await driver.destroy(s.uuid);
      await expect(stat(driver.vmDir(s.uuid))).rejects.toMatchObject({ code: 'ENOENT' });
    });
  });
});
