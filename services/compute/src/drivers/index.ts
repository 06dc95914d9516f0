// Picks the driver a compute service runs with.
import type { FerryConfig } from '@ferry/common/config';
import type { Driver } from './driver';
import { cpus, totalmem } from 'node:os';
import { FakeDriver } from './fake/fake-driver';
import { QemuDriver } from './qemu/qemu-driver';

export type { ColdMoveDriver, DirtyTracker, Driver, GuestDriver, HostInfo, HostOptions, RebootKind, VmInfo, VmSpec } from './driver';
export { DiskNotFound, DriverError, LiveMigrationCancelled, UnsafePeerPath, VmInvalidState, VmNotFound } from './errors';
export { instancesDirOf, peerDiskPath } from './instance-paths';
export { FakeDriver, type FakeDriverOptions } from './fake/fake-driver';
export { FakeDirtyTracker } from './fake/simulated-guest';
export { armFault, FAULT_POINTS, FAULTS_FILE, InjectedFault, type FaultPoint, type FaultSpec, type FaultsFile } from './fake/fault-points';
export { DISK_FILE, STATE_FILE, FAKE_VM_STATES, type FakeVmRecord, type FakeVmState } from './fake/vm-files';

/** Bytes per second this host's live migrations may use: its driver's setting, the ceiling of every migration policy. */
export function hostMigrationBandwidth(config: Readonly<Pick<FerryConfig, 'driver' | 'fakeMigrationBandwidth' | 'qemuMigrationBandwidth'>>): number {
  return config.driver === 'qemu' ? config.qemuMigrationBandwidth : config.fakeMigrationBandwidth;
}

export function createDriver(config: Readonly<FerryConfig>, host: string): Driver {
  switch (config.driver) {
    case 'fake':
      return new FakeDriver({
        host, stateDir: config.stateDir, vcpus: config.fakeVcpus, memoryMb: config.fakeMemoryMb, diskGb: config.fakeDiskGb,
        guestWriteRate: config.fakeGuestWriteRate,
        liveMigrationTimeScale: config.fakeLiveTimeScale, liveMigrationBandwidth: config.fakeMigrationBandwidth,
      });
    case 'qemu':
      // A qemu host offers what the machine has (several hosts on one machine each report all of it).
      return new QemuDriver({
        host, stateDir: config.stateDir, vcpus: cpus().length, memoryMb: Math.floor(totalmem() / 1024 ** 2), diskGb: config.fakeDiskGb,
        accel: config.qemuAccel, migrationAddress: config.qemuMigrationAddress, migrationPorts: config.qemuMigrationPorts,
        migrationBandwidth: config.qemuMigrationBandwidth, cacheDir: config.qemuGuestCache,
      });
  }
}
export type { LiveMigrationDriver, LiveMigrationJob, LiveMigrationJobPhase, LiveMigrationJobStats, LiveMigrationOptions } from './live-migration';
export { FakeLiveMigrationJob } from './fake/live-job';
export { QmpClient, QmpCommandError, QmpDisconnected, QmpTimeout, type QmpEvent, type QmpGreeting, type QmpOptions } from './qemu/qmp';
export { COUNTER_LINE, DIRTIED_LINE, ensureTestGuest, type TestGuest } from './qemu/test-guest';
export { QemuDriver, type QemuDriverOptions } from './qemu/qemu-driver';
export { killQemu } from './qemu/qemu-process';
export { FAILURE_MODES, induceFailureMode, type FailureMode, type FailureModeName, type FailureSite } from './fake/failure-modes';
