// Live migration's five phases on a qemu host (libvirt's v3 protocol): Begin describes the source's drives, Prepare
// starts the destination's QEMU waiting (`-incoming defer`, then migrate-incoming on a port of the range; for a block
// migration an NBD export of each new disk), Perform hands QEMU's own migration to a job, Finish resumes the guest at
// the destination (or removes the incoming VM), Confirm quits the source (or resumes it, cancelling what still runs).
import { rm, mkdir } from 'node:fs/promises';
import { DriverError, VmInvalidState, VmNotFound } from '../errors';
import { storageIdOf } from '../instance-paths';
import type { LiveMigrationJob, LiveMigrationOptions } from '../live-migration';
import type { MigrationCookie } from '../../client/wire-types';
import type { VmSpec } from '../driver';
import { withFreePort, type PortRange } from './migration-ports';
import { domainDrives, domainOf, drivesOf, type Domain, type IncomingMigration } from './qemu-domain';
import { status, type QemuHost } from './qemu-host';
import { QemuLiveMigrationJob } from './qemu-live-job';
import { QmpClient } from './qmp';

const MIGRATION_STATES_ACTIVE = new Set(['setup', 'active', 'pre-switchover', 'device', 'postcopy-active', 'postcopy-paused', 'postcopy-recover', 'wait-unplug']);

export class QemuLiveMigration {
  constructor(private readonly host: QemuHost) {}

  begin(uuid: string, opts: LiveMigrationOptions): Promise<MigrationCookie> {
    const h = this.host;
    return h.serialized(uuid, async () => {
      const domain = await h.requireDomain(uuid);
      h.expect(uuid, 'live-migrate', await h.state(uuid), ['running', 'paused']);
      await h.foldLive(uuid);
      return {
        source_host: h.name, storage_id: await storageIdOf(h.instancesDir), name: domain.name, image_ref: domain.image_ref,
        rescue_image_ref: domain.rescue_image_ref, drives: await this.drives(domain), postcopy: opts.postCopyAllowed && !opts.blockMigration,
      };
    });
  }

  prepare(spec: VmSpec, cookie: MigrationCookie, opts: { blockMigration: boolean }): Promise<MigrationCookie> {
    const h = this.host;
    return h.serialized(spec.uuid, async () => {
      const shared = cookie.storage_id === (await storageIdOf(h.instancesDir));
      const existing = await h.domain(spec.uuid);
      if (existing?.incoming && (await h.runs(spec.uuid))) return this.preparedCookie(existing.incoming);
      if (existing && !existing.incoming) {
        throw new VmInvalidState(`Cannot prepare an incoming live migration of instance ${spec.uuid} on host ${h.name}: it is already defined here`, {
          instance_uuid: spec.uuid, host: h.name,
        });
      }
      if (shared === opts.blockMigration) {
        throw new DriverError(shared
          ? `Cannot block-migrate instance ${spec.uuid} to host ${h.name}: it shares the instance's storage with ${String(cookie.source_host)}`
          : `Cannot live-migrate instance ${spec.uuid} to host ${h.name} without block migration: it does not share ${String(cookie.source_host)}'s instance storage`,
        { instance_uuid: spec.uuid, host: h.name });
      }
      const incoming: IncomingMigration = { from: String(cookie.source_host), shared_storage: shared, block: opts.blockMigration };
      const domain: Domain = { ...domainOf(spec), rescue_image_ref: spec.rescue_image_ref ?? null, name: typeof cookie.name === 'string' ? cookie.name : spec.name, incoming };
      // Defined first: whatever Prepare leaves, cut short or not, is an incoming VM that Finish(failure) removes.
      await h.writeDomain(domain);
      if (!shared) {
        await this.createIncomingDisks(domain, drivesOf(cookie));
        await h.claimFiles(spec.uuid);
      }
      await h.kill(spec.uuid);
      await h.boot(domain, { incoming: true });
      await h.withQmp(spec.uuid, async (qmp) => {
        if (cookie.postcopy === true) await qmp.execute('migrate-set-capabilities', { capabilities: [{ capability: 'postcopy-ram', state: true }] }).catch(() => undefined);
        const address = this.address();
        incoming.port = await withFreePort(this.ports(), address, async (port) => {
          await qmp.execute('migrate-incoming', { uri: `tcp:${address}:${port}` });
          return port;
        });
        if (opts.blockMigration) {
          incoming.nbd_port = await withFreePort(this.ports(), address, async (port) => {
            await qmp.execute('nbd-server-start', { addr: { type: 'inet', data: { host: address, port: String(port) } } });
            return port;
          }, new Set([incoming.port]));
          for (const drive of domainDrives(domain)) await qmp.execute('nbd-server-add', { device: drive.id, writable: true });
        }
      });
      await h.writeDomain({ ...domain, incoming });
      return this.preparedCookie(incoming);
    });
  }

  perform(uuid: string, cookie: MigrationCookie, opts: LiveMigrationOptions): Promise<LiveMigrationJob> {
    const h = this.host;
    return h.serialized(uuid, async () => {
      const domain = await h.requireDomain(uuid);
      h.expect(uuid, 'live-migrate', await h.state(uuid), ['running', 'paused']);
      const address = typeof cookie.address === 'string' ? cookie.address : undefined;
      if (!address || typeof cookie.port !== 'number') {
        throw new DriverError(`Cannot live-migrate instance ${uuid}: the destination named no address to migrate to`, { instance_uuid: uuid, dest_host: opts.destHost });
      }
      if (opts.blockMigration && typeof cookie.nbd_port !== 'number') {
        throw new DriverError(`Cannot block-migrate instance ${uuid}: the destination exported no disks`, { instance_uuid: uuid, dest_host: opts.destHost });
      }
      const qmp = await QmpClient.connect(h.jobQmpPath(uuid));
      return new QemuLiveMigrationJob({
        uuid, host: h.name, qmp, uri: `tcp:${address}:${cookie.port}`,
        mirrors: opts.blockMigration ? domainDrives(domain).map((d) => ({ drive: d.id, target: `nbd://${address}:${String(cookie.nbd_port)}/${d.id}` })) : [],
        maxDowntimeMs: opts.maxDowntimeMs, maxBandwidthBytes: Math.min(h.opts.migrationBandwidth ?? 1024 ** 3, opts.bandwidthBytesPerSec ?? Infinity),
        autoConverge: opts.autoConverge, postCopyAllowed: opts.postCopyAllowed, pollMs: h.opts.migrationPollMs ?? 100,
        cookie: { source_host: h.name, dest_host: opts.destHost },
      });
    });
  }

  finish(uuid: string, cookie: MigrationCookie, opts: { success: boolean; paused: boolean }): Promise<MigrationCookie> {
    const h = this.host;
    return h.serialized(uuid, async () => {
      const domain = await h.domain(uuid);
      if (!opts.success) {
        // Only an incoming VM is removed: a VM that already took over here is the live copy, not this migration's leftover.
        if (domain?.incoming) await this.dropIncoming(domain);
        return {};
      }
      if (!domain) throw VmNotFound.forUuid(uuid, h.name);
      if (!domain.incoming) return { dest_host: h.name };
      if (!(await h.runs(uuid))) {
        throw new DriverError(`The incoming QEMU of instance ${uuid} on host ${h.name} has exited: the migration did not arrive`, { instance_uuid: uuid });
      }
      const resumedAt = await h.withQmp(uuid, async (qmp) => {
        // The guest is paused at both ends until this resumes it: look often.
        await h.untilStatus(qmp, uuid, (s) => s !== 'inmigrate', 'incoming migration', 2);
        if (domain.incoming?.block) await qmp.execute('nbd-server-stop').catch(() => undefined);
        if (opts.paused || (await status(qmp)) === 'running') return undefined;
        const resumed = qmp.waitForEvent('RESUME', 10_000);
        await qmp.execute('cont');
        return (await resumed).at;
      });
      // The guest runs here now: on shared storage its files become this host's.
      await h.claimFiles(uuid);
      await h.writeDomain({ ...domain, incoming: null });
      const stoppedAt = typeof cookie.stopped_at === 'number' ? cookie.stopped_at : undefined;
      return { dest_host: h.name, ...(resumedAt !== undefined && stoppedAt !== undefined ? { downtime_ms: resumedAt - stoppedAt } : {}) };
    });
  }

  confirm(uuid: string, opts: { success: boolean; paused: boolean }): Promise<void> {
    const h = this.host;
    return h.serialized(uuid, async () => {
      const domain = await h.domain(uuid);
      if (opts.success) {
        await h.kill(uuid);
        // Confirmed before (the definition is gone), nothing of the files is this host's to touch any more.
        if (!domain) return;
        if (await h.ownsFiles(uuid)) await rm(h.vmDir(uuid), { recursive: true, force: true });
        await rm(h.domainPath(uuid), { force: true });
        return;
      }
      if (!domain) throw VmNotFound.forUuid(uuid, h.name);
      if (await h.runs(uuid)) {
        await h.withQmp(uuid, async (qmp) => {
          const m = await qmp.execute<{ status?: string }>('query-migrate');
          if (m.status && MIGRATION_STATES_ACTIVE.has(m.status)) {
            await qmp.execute('migrate_cancel');
            await h.untilMigration(qmp, uuid, (s) => !MIGRATION_STATES_ACTIVE.has(s));
          }
          const jobs = await qmp.execute<{ device: string }[]>('query-block-jobs');
          for (const job of jobs) await qmp.execute('block-job-cancel', { device: job.device, force: true }).catch(() => undefined);
          // The source resumes as it was (QEMU leaves it paused once its transfer completed); paused stays paused.
          if (!opts.paused && (await status(qmp)) !== 'running') await qmp.execute('cont');
        });
      }
    });
  }

  /** The drives the running source VM has, with the size each must have at the destination. */
  private async drives(domain: Domain): Promise<{ id: string; virtual_size: number }[]> {
    const drives: { id: string; virtual_size: number }[] = [];
    for (const d of domainDrives(domain)) drives.push({ id: d.id, virtual_size: await this.host.disks.virtualSize(this.host.driveFile(domain.uuid, d.id)) });
    return drives;
  }

  /** Empty overlays, of the source's sizes, for an incoming block migration's disks to be mirrored into. */
  private async createIncomingDisks(domain: Domain, sizes: Map<string, number>): Promise<void> {
    await mkdir(this.host.vmDir(domain.uuid), { recursive: true });
    for (const d of domainDrives(domain)) {
      const file = this.host.driveFile(domain.uuid, d.id);
      await rm(file, { force: true });
      await this.host.disks.createOverlay(d.imageRef, file, sizes.get(d.id));
    }
  }

  /** An incoming VM that never ran here: its QEMU, its files (unless the source's storage is this one), its definition. */
  private async dropIncoming(domain: Domain): Promise<void> {
    const h = this.host;
    await h.kill(domain.uuid);
    if (!domain.incoming?.shared_storage && (await h.ownsFiles(domain.uuid))) await rm(h.vmDir(domain.uuid), { recursive: true, force: true });
    await rm(h.domainPath(domain.uuid), { force: true });
  }

  private preparedCookie(incoming: IncomingMigration): MigrationCookie {
    return {
      dest_host: this.host.name, address: this.address(), port: incoming.port, shared_storage: incoming.shared_storage,
      ...(incoming.nbd_port !== undefined ? { nbd_port: incoming.nbd_port } : {}),
    };
  }

  private address(): string {
    return this.host.opts.migrationAddress ?? '127.0.0.1';
  }

  private ports(): PortRange {
    return this.host.opts.migrationPorts ?? { min: 49152, max: 49261 };
  }
}
