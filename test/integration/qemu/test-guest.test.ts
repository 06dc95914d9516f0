// The test guest (a Debian kernel and a busybox initramfs, built from Debian's packages and cached) boots under QEMU
// and counts on its serial console every 100 ms; asked to, it dirties its memory while it counts.
import { COUNTER_LINE, DIRTIED_LINE, ensureTestGuest, QmpClient, type TestGuest } from '@ferry/compute/drivers';
import { startGuestQemu, TEST_CACHE_DIR, type GuestQemu } from '../../support/qemu';

jest.setTimeout(180_000);

/** The counter values on the console, in order. */
const counters = (lines: string[]) => lines.flatMap((l) => {
  const m = COUNTER_LINE.exec(l);
  return m ? [Number(m[1])] : [];
});

async function until<T>(read: () => Promise<T>, done: (v: T) => boolean, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await read();
    if (done(v) || Date.now() > deadline) return v;
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('the test guest', () => {
  let guest: TestGuest;
  let vm: GuestQemu | undefined;

  beforeAll(async () => {
    guest = await ensureTestGuest(TEST_CACHE_DIR);
  }, 170_000);
  afterEach(async () => {
    await vm?.stop();
    vm = undefined;
  });

  it('is built once and then served from the cache', async () => {
    const started = Date.now();
    const again = await ensureTestGuest(TEST_CACHE_DIR);
    expect(again).toMatchObject({ kernel: guest.kernel, initrd: guest.initrd });
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('boots and counts on its console without restarting, stopping while paused', async () => {
    vm = await startGuestQemu(guest);
    const seen = counters(await until(() => vm!.serial(), (l) => counters(l).length >= 10, 120_000));
    expect(seen.length).toBeGreaterThanOrEqual(10);
    expect(seen).toEqual(seen.map((_, i) => i));

    const qmp = await QmpClient.connect(vm.qmpPath);
    try {
      await qmp.execute('stop');
      const atPause = counters(await vm.serial()).length;
      await new Promise((r) => setTimeout(r, 600));
      expect(counters(await vm.serial()).length).toBeLessThanOrEqual(atPause + 1);
      await qmp.execute('cont');
      const after = counters(await until(() => vm!.serial(), (l) => counters(l).length >= atPause + 5, 30_000));
      expect(after).toEqual(after.map((_, i) => i));
    } finally {
      await qmp.close();
    }
  });

  it('dirties memory at the rate its command line asks for', async () => {
    vm = await startGuestQemu(guest, { dirtyKibPerSecond: 8192 });
    const lines = await until(() => vm!.serial(), (l) => counters(l).length >= 5, 120_000);
    expect(lines.some((l) => l.startsWith('ferry-guest up: dirtying 8192 KiB/s over 16 MiB'))).toBe(true);
    // QEMU's own dirty-rate sampling (calc-dirty-rate) is too coarse under TCG to tell 8 MiB/s from idle, so the guest
    // reports what its writes covered: 13 blocks of 64 KiB every 100 ms of its time, 8320 KiB a second.
    const dirtied = (l: string[]) => l.flatMap((x) => {
      const m = DIRTIED_LINE.exec(x);
      return m ? [Number(m[1])] : [];
    });
    const reports = dirtied(await until(() => vm!.serial(), (l) => dirtied(l).length >= 3, 60_000));
    expect(reports.slice(0, 3)).toEqual([8320, 16640, 24960]);
  });
});
