// Picks the driver a compute service runs with.
import type { FerryConfig } from '@ferry/common/config';
import type { Driver } from './driver';
import { FakeDriver } from './fake/fake-driver';

export type { Driver, HostInfo } from './driver';
export { FakeDriver } from './fake/fake-driver';

export function createDriver(config: Readonly<FerryConfig>, host: string): Driver {
  switch (config.driver) {
    case 'fake':
      return new FakeDriver({ host, stateDir: config.stateDir, vcpus: config.fakeVcpus, memoryMb: config.fakeMemoryMb, diskGb: config.fakeDiskGb });
    case 'qemu':
      throw new Error('FERRY_DRIVER=qemu is not available in this release; use fake');
  }
}
