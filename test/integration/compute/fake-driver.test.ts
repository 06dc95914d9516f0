// The fake driver against the driver conformance suite.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeDriver } from '@ferry/compute';
import { driverConformance } from './driver-conformance';

driverConformance('fake', async () => {
  const stateDir = await mkdtemp(join(tmpdir(), 'ferry-fake-conformance-'));
  const make = () => new FakeDriver({ host: 'conformance-1', stateDir, vcpus: 8, memoryMb: 16384, diskGb: 100 });
  return {
    driver: make(),
    reopen: async () => {
      const d = make();
      await d.init();
      return d;
    },
    cleanup: () => rm(stateDir, { recursive: true, force: true }),
  };
});
