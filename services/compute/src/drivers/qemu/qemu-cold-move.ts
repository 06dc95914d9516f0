// Cold migration and resize on a qemu host, in two passes: an external snapshot freezes the running guest's disk (its
// writes go to an overlay, pass 2's file), the disk is copied while the guest runs, then the overlay once it is off;
// the destination folds the overlay into the disk, grows it to the flavor and defines the VM.
import { mkdir } from 'node:fs/promises';
import type { DirtyTracker, VmSpec } from '../driver';
import { VmNotFound } from '../errors';
import { exists } from './qemu-disks';
import { domainOf, ROOT_DRIVE } from './qemu-domain';
import type { QemuHost } from './qemu-host';

export class QemuColdMove {
  constructor(private readonly host: QemuHost) {}

  /**
   * Freezes the running VM's disk under a new overlay (an external snapshot): the disk no longer changes, so the
   * ranges are empty, and what the guest writes from now on is in pendingDiskFiles(). When the move ends with the
   * guest still running (it failed), stop() folds the overlay back into the disk while the guest runs.
   */
  async trackDirtyRegions(uuid: string): Promise<DirtyTracker> {
    const h = this.host;
    await h.serialized(uuid, async () => {
      await h.requireDomain(uuid);
      if (!(await h.runs(uuid))) return;
      await h.foldLive(uuid);
      await h.withQmp(uuid, (qmp) => qmp.execute('blockdev-snapshot-sync', { device: ROOT_DRIVE, 'snapshot-file': h.pass2Path(uuid), format: 'qcow2' }));
    });
    let stopped = false;
    return {
      ranges: () => [],
      stop: () => {
        if (stopped) return;
        stopped = true;
        void h.serialized(uuid, () => h.foldLive(uuid)).catch(() => undefined);
      },
    };
  }

  async pendingDiskFiles(uuid: string): Promise<string[]> {
    return (await exists(this.host.pass2Path(uuid))) ? [this.host.pass2Path(uuid)] : [];
  }

  async prepareIncoming(uuid: string): Promise<string> {
    await mkdir(this.host.vmDir(uuid), { recursive: true });
    return this.host.diskPath(uuid);
  }

  finishIncoming(spec: VmSpec, opts: { powerOn: boolean }): Promise<void> {
    const h = this.host;
    return h.serialized(spec.uuid, async () => {
      const domain = await h.domain(spec.uuid);
      if (domain) {
        if (opts.powerOn && (await h.state(spec.uuid)) === 'shutdown') await h.boot(domain);
        return;
      }
      const disk = h.diskPath(spec.uuid);
      if (!(await exists(disk))) {
        throw new VmNotFound(`Instance ${spec.uuid} has no disk copied in on host ${h.name} (${disk}).`, { instance_uuid: spec.uuid, host: h.name });
      }
      await h.disks.adoptOverlay(spec.image_ref, disk);
      await h.disks.foldInto(h.pass2Path(spec.uuid), disk);
      await h.disks.growTo(disk, spec.flavor.root_gb);
      await h.claimFiles(spec.uuid);
      const defined = domainOf(spec);
      await h.writeDomain(defined);
      if (opts.powerOn) await h.boot(defined);
    });
  }
}
