// The behaviour every hypervisor driver must show, as one suite each driver runs (fake now, qemu later).
import { randomUUID } from 'node:crypto';
import type { InstanceFlavor } from '@ferry/common/db';
import { POWER_STATES } from '@ferry/common/domain';
import { VmInvalidState, VmNotFound, type Driver, type VmSpec } from '@ferry/compute';

export interface DriverHarness {
  driver: Driver;
  /** A new driver over the same host (what a restarted compute gets). */
  reopen(): Promise<Driver>;
  cleanup(): Promise<void>;
}

export const CONFORMANCE_FLAVOR: InstanceFlavor = {
  id: 1, flavorid: '1', name: 'm1.tiny', vcpus: 1, memory_mb: 512, root_gb: 1, ephemeral_gb: 0, swap: 0, extra_specs: {},
};

export function vmSpec(flavor: InstanceFlavor = CONFORMANCE_FLAVOR): VmSpec {
  return { uuid: randomUUID(), name: 'conformance', flavor, image_ref: 'cirros' };
}

export function driverConformance(name: string, makeHarness: () => Promise<DriverHarness>, opts: { timeoutMs?: number } = {}): void {
  describe(`driver conformance: ${name}`, () => {
    let h: DriverHarness;
    let driver: Driver;
    const powerOf = async (uuid: string) => (await driver.getVm(uuid))?.power_state;

    beforeEach(async () => {
      h = await makeHarness();
      driver = h.driver;
      await driver.init();
    }, opts.timeoutMs);
    afterEach(async () => {
      await h?.cleanup();
    }, opts.timeoutMs);

    it('reports the host it runs on', async () => {
      const info = await driver.hostInfo();
      expect(info.hypervisor_hostname).toBeTruthy();
      expect(info.hypervisor_type).toBe(driver.type);
      expect(info.vcpus).toBeGreaterThan(0);
      expect(info.memory_mb).toBeGreaterThan(0);
      expect(info.local_gb).toBeGreaterThan(0);
      expect(info.storage_id).toBeTruthy();
    });

    it('spawns a running VM, and spawning it again changes nothing', async () => {
      const spec = vmSpec();
      await driver.spawn(spec);
      await driver.spawn(spec);
      expect(await driver.getVm(spec.uuid)).toMatchObject({ uuid: spec.uuid, power_state: POWER_STATES.RUNNING, vcpus: 1, memory_mb: 512, root_gb: 1 });
      expect((await driver.listVms()).filter((v) => v.uuid === spec.uuid)).toHaveLength(1);
    }, opts.timeoutMs);

    it('powers off and on, each idempotent', async () => {
      const { uuid } = vmSpec();
      await driver.spawn({ ...vmSpec(), uuid });
      await driver.powerOff(uuid);
      await driver.powerOff(uuid);
      expect(await powerOf(uuid)).toBe(POWER_STATES.SHUTDOWN);
      await driver.powerOn(uuid);
      await driver.powerOn(uuid);
      expect(await powerOf(uuid)).toBe(POWER_STATES.RUNNING);
    }, opts.timeoutMs);

    it('reboots soft and hard into a running VM, even from shut down', async () => {
      const spec = vmSpec();
      await driver.spawn(spec);
      await driver.reboot(spec.uuid, 'SOFT');
      expect(await powerOf(spec.uuid)).toBe(POWER_STATES.RUNNING);
      await driver.powerOff(spec.uuid);
      await driver.reboot(spec.uuid, 'HARD');
      expect(await powerOf(spec.uuid)).toBe(POWER_STATES.RUNNING);
    }, opts.timeoutMs);

    it('pauses and unpauses, each idempotent; a shut-down VM cannot be paused', async () => {
      const spec = vmSpec();
      await driver.spawn(spec);
      await driver.pause(spec.uuid);
      await driver.pause(spec.uuid);
      expect(await powerOf(spec.uuid)).toBe(POWER_STATES.PAUSED);
      await driver.unpause(spec.uuid);
      await driver.unpause(spec.uuid);
      expect(await powerOf(spec.uuid)).toBe(POWER_STATES.RUNNING);
      await driver.powerOff(spec.uuid);
      await expect(driver.pause(spec.uuid)).rejects.toBeInstanceOf(VmInvalidState);
    }, opts.timeoutMs);

    it('destroys a VM (and a VM that is not there without error)', async () => {
      const spec = vmSpec();
      await driver.spawn(spec);
      await driver.destroy(spec.uuid);
      await driver.destroy(spec.uuid);
      expect(await driver.getVm(spec.uuid)).toBeUndefined();
      expect((await driver.listVms()).map((v) => v.uuid)).not.toContain(spec.uuid);
    }, opts.timeoutMs);

    it('refuses power operations on a VM it does not have', async () => {
      const uuid = randomUUID();
      for (const op of [() => driver.powerOff(uuid), () => driver.powerOn(uuid), () => driver.reboot(uuid, 'HARD'), () => driver.pause(uuid), () => driver.unpause(uuid)]) {
        await expect(op()).rejects.toBeInstanceOf(VmNotFound);
      }
      expect(await driver.getVm(uuid)).toBeUndefined();
    }, opts.timeoutMs);

    it('lists every VM with its real state, and a restarted driver still finds them', async () => {
      const [a, b, c] = [vmSpec(), vmSpec(), vmSpec()];
      for (const s of [a, b, c]) await driver.spawn(s);
      await driver.powerOff(b.uuid);
      await driver.pause(c.uuid);
      const expected = new Map([[a.uuid, POWER_STATES.RUNNING], [b.uuid, POWER_STATES.SHUTDOWN], [c.uuid, POWER_STATES.PAUSED]]);
      const seen = (vms: { uuid: string; power_state: number }[]) => new Map(vms.filter((v) => expected.has(v.uuid)).map((v) => [v.uuid, v.power_state]));
      expect(seen(await driver.listVms())).toEqual(expected);
      driver = await h.reopen();
      expect(seen(await driver.listVms())).toEqual(expected);
    }, opts.timeoutMs);
  });
}
