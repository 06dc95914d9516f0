// The fake driver against the driver conformance suite, with a guest that writes while its disk is tracked, and a
// second fake host (another driver object over the same state dir) to live-migrate to.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeDriver, STATE_FILE } from '@ferry/compute/drivers';
import { driverConformance } from './driver-conformance';

driverConformance('fake', async () => {
  const stateDir = await mkdtemp(join(tmpdir(), 'ferry-fake-conformance-'));
  // Live migrations run 1000× faster than simulated: a 512 MiB guest moves in half a millisecond.
  const make = (host = 'conformance-1') => new FakeDriver({
    host, stateDir, vcpus: 8, memoryMb: 16384, diskGb: 100, guestWriteRate: 16 * 1024 * 1024, liveMigrationTimeScale: 0.001,
  });
  return {
    driver: make(),
    reopen: async () => {
      const d = make();
      await d.init();
      return d;
    },
    peer: { host: 'conformance-2', open: () => Promise.resolve(make('conformance-2')) },
    undefine: (uuid) => rm(join(make().vmDir(uuid), STATE_FILE)),
    cleanup: () => rm(stateDir, { recursive: true, force: true }),
  };
});
