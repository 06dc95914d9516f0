// Picks the driver a compute service runs with.
import type { FerryConfig } from '@ferry/common/config';
import type { Driver } from './driver';
import { FakeDriver } from './fake/fake-driver';

export type { ColdMoveDriver, DirtyTracker, Driver, GuestDriver, HostInfo, HostOptions, RebootKind, VmInfo, VmSpec } from './driver';
export { DiskNotFound, DriverError, LiveMigrationCancelled, UnsafePeerPath, VmInvalidState, VmNotFound } from './errors';
export { instancesDirOf, peerDiskPath } from './instance-paths';
export { FakeDriver, type FakeDriverOptions } from './fake/fake-driver';
export { FakeDirtyTracker } from './fake/simulated-guest';
export { armFault, FAULT_POINTS, FAULTS_FILE, InjectedFault, type FaultPoint, type FaultSpec, type FaultsFile } from './fake/fault-points';
export { DISK_FILE, STATE_FILE, FAKE_VM_STATES, type FakeVmRecord, type FakeVmState } from './fake/vm-files';

export function createDriver(config: Readonly<FerryConfig>, host: string): Driver {
  switch (config.driver) {
    case 'fake':
      return new FakeDriver({
        host, stateDir: config.stateDir, vcpus: config.fakeVcpus, memoryMb: config.fakeMemoryMb, diskGb: config.fakeDiskGb,
        guestWriteRate: config.fakeGuestWriteRate,
        liveMigrationTimeScale: config.fakeLiveTimeScale, liveMigrationBandwidth: config.fakeMigrationBandwidth,
      });
    case 'qemu':
      throw new Error('FERRY_DRIVER=qemu cannot move guests yet (its cold and live migration are not built); use fake');
  }
}
export type { GuestPresence, LiveMigrationDriver, LiveMigrationJob, LiveMigrationJobPhase, LiveMigrationJobStats, LiveMigrationOptions, MigrationCookie } from './live-migration';
export { FakeLiveMigrationJob } from './fake/live-job';
export { QmpClient, QmpCommandError, QmpDisconnected, QmpTimeout, type QmpEvent, type QmpGreeting, type QmpOptions } from './qemu/qmp';
export { COUNTER_LINE, DIRTIED_LINE, ensureTestGuest, type TestGuest } from './qemu/test-guest';
export { QemuDriver, type QemuDriverOptions } from './qemu/qemu-driver';
export { FAILURE_MODES, induceFailureMode, type FailureMode, type FailureModeName, type FailureSite } from './fake/failure-modes';
