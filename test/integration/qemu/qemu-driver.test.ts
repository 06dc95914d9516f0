// The qemu driver against the whole driver conformance suite (real QEMU under TCG, the test guest booting; disks are
// qcow2), and what only real guests show: a guest keeps counting across pause, suspend and resume, and a restarted compute (a new
// driver object) takes over the QEMU processes the old one left running.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { POWER_STATES } from '@ferry/common/domain';
import { COUNTER_LINE, killQemu, QemuDriver } from '@ferry/compute/drivers';
import { TEST_CACHE_DIR } from '../../support/qemu';
import { driverConformance, vmSpec, type DiskFormat } from '../compute/driver-conformance';

jest.setTimeout(120_000);

const driverOn = (stateDir: string, host = 'qemu-1') => new QemuDriver({ host, stateDir, vcpus: 2, memoryMb: 4096, diskGb: 50, cacheDir: TEST_CACHE_DIR });

const run = promisify(execFile);

/** qcow2 disks: written by converting the raw bytes, read back through qemu-img (what the guest sees). */
const QCOW2_DISKS: DiskFormat = {
  async write(path, bytes) {
    const raw = `${path}.raw`;
    await writeFile(raw, bytes);
    await run('qemu-img', ['convert', '-q', '-f', 'raw', '-O', 'qcow2', raw, path]);
    await rm(raw);
  },
  async headSha256(path, length) {
    const raw = `${path}.head`;
    await run('qemu-img', ['dd', '-U', '-f', 'qcow2', '-O', 'raw', `bs=${length}`, 'count=1', `if=${path}`, `of=${raw}`]);
    const sha = createHash('sha256').update(await readFile(raw)).digest('hex');
    await rm(raw);
    return sha;
  },
  async virtualSize(path) {
    const { stdout } = await run('qemu-img', ['info', '-U', '--output=json', path]);
    return (JSON.parse(stdout) as { 'virtual-size': number })['virtual-size'];
  },
  writesWhileTracked: 'overlay',
};

driverConformance('qemu', async () => {
  const stateDir = await mkdtemp(join(tmpdir(), 'ferry-qemu-conf-'));
  const driver = driverOn(stateDir);
  return {
    driver,
    reopen: async () => {
      const d = driverOn(stateDir);
      await d.init();
      return d;
    },
    // An operator's `virsh destroy` then `virsh undefine`: the QEMU is gone and so is the definition.
    undefine: async (uuid) => {
      await killQemu(driver.pidfile(uuid), uuid);
      await rm(driver.domainPath(uuid));
    },
    peer: { host: 'qemu-2', open: () => Promise.resolve(driverOn(stateDir, 'qemu-2')), blockMigration: true },
    disks: QCOW2_DISKS,
    cleanup: async () => {
      for (const d of [driver, driverOn(stateDir, 'qemu-2')]) for (const uuid of await d.listHeldInstances()) await d.destroy(uuid);
      await rm(stateDir, { recursive: true, force: true });
    },
  };
}, { timeoutMs: 120_000 });

describe('qemu driver: real guests', () => {
  let stateDir: string;
  let driver: QemuDriver;

  beforeEach(async () => {
    stateDir = await mkdtemp(join(tmpdir(), 'ferry-qemu-guests-'));
    driver = driverOn(stateDir);
    await driver.init();
  });
  afterEach(async () => {
    for (const uuid of await driver.listHeldInstances()) await driver.destroy(uuid);
    await rm(stateDir, { recursive: true, force: true });
  });

  const counters = async (uuid: string) => (await readFile(driver.consoleLog(uuid), 'utf8').catch(() => '')).split('\n').flatMap((l) => {
    const m = COUNTER_LINE.exec(l);
    return m ? [Number(m[1])] : [];
  });
  const countedTo = async (uuid: string, n: number) => {
    const deadline = Date.now() + 60_000;
    while ((await counters(uuid)).length < n && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    return counters(uuid);
  };

  it('keeps the guest running through pause, suspend and resume: its counter never restarts', async () => {
    const spec = { ...vmSpec(), flavor: { ...vmSpec().flavor, memory_mb: 128 } };
    await driver.spawn(spec);
    expect((await countedTo(spec.uuid, 5)).slice(0, 5)).toEqual([0, 1, 2, 3, 4]);
    await driver.pause(spec.uuid);
    await driver.unpause(spec.uuid);
    await driver.suspend(spec.uuid);
    const saved = (await counters(spec.uuid)).length;
    await driver.resume(spec.uuid);
    const after = await countedTo(spec.uuid, saved + 5);
    // The console file is written anew by the restored QEMU: its first counter continues from where the guest was.
    expect(after.length).toBeGreaterThanOrEqual(5);
    expect(after[0]).toBeGreaterThanOrEqual(saved - 1);
    expect(after).toEqual(after.map((_, i) => after[0]! + i));
  });

  it('a new driver over the same host finds the QEMU processes the old one started and drives them', async () => {
    const spec = { ...vmSpec(), flavor: { ...vmSpec().flavor, memory_mb: 128 } };
    await driver.spawn(spec);
    const restarted = driverOn(stateDir);
    await restarted.init();
    expect(await restarted.getVm(spec.uuid)).toMatchObject({ power_state: POWER_STATES.RUNNING });
    await restarted.pause(spec.uuid);
    expect(await driver.getVm(spec.uuid)).toMatchObject({ power_state: POWER_STATES.PAUSED });
    await restarted.unpause(spec.uuid);
    await countedTo(spec.uuid, 3);
  });
});

describe('qemu driver: rescue', () => {
  it('boots the rescue disk first with the instance disk second, and unrescue boots the instance disk alone', async () => {
    const stateDir = await mkdtemp(join(tmpdir(), 'ferry-qemu-rescue-'));
    const driver = driverOn(stateDir);
    await driver.init();
    try {
      const spec = vmSpec();
      await driver.spawn(spec);
      const drives = async () => {
        const pid = (await readFile(driver.pidfile(spec.uuid), 'utf8')).trim();
        return (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0').filter((a) => a.startsWith('file=')).map((a) => a.split(',')[0]!.split('/').at(-1));
      };
      expect(await drives()).toEqual(['disk']);
      await driver.rescue(spec, 'rescue-image');
      expect(await drives()).toEqual(['rescue-disk', 'disk']);
      await driver.unrescue(spec);
      expect(await drives()).toEqual(['disk']);
    } finally {
      for (const uuid of await driver.listHeldInstances()) await driver.destroy(uuid);
      await rm(stateDir, { recursive: true, force: true });
    }
  });
});
