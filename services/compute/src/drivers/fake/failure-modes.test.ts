import { randomUUID } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { guestName, migratingGuestName } from '@ferry/common/domain';
import { listGuests } from '../../audit/list-guests';
import type { GuestPresence } from '../../client/wire-types';
import { FakeDriver } from './fake-driver';
import { FAILURE_MODES, induceFailureMode, type FailureModeName } from './failure-modes';
import { STATE_FILE } from './vm-files';

const TINY = { id: 1, flavorid: '1', name: 'm1.tiny', vcpus: 1, memory_mb: 512, root_gb: 1, ephemeral_gb: 0, swap: 0, extra_specs: {} };

/** What each mode leaves, as list_guests reports it: [source presence, other presence], names, definitions. */
const LEFT: Record<FailureModeName, { source: GuestPresence | 'nothing'; other: GuestPresence; renamed?: boolean; transient?: boolean }> = {
  xen_freeze: { source: 'running', other: 'incoming', renamed: true },
  definition_not_written: { source: 'nothing', other: 'running', transient: true },
  finalize_dest_only: { source: 'paused', other: 'running' },
  finalize_source_only: { source: 'nothing', other: 'incoming' },
  started_by_hand: { source: 'running', other: 'running' },
  moved_by_hand: { source: 'nothing', other: 'running' },
};

/** The first 10 bytes of a (1 GiB, sparse) disk. */
async function head(path: string): Promise<Buffer> {
  const f = await open(path, 'r');
  try {
    const buf = Buffer.alloc(10);
    await f.read(buf, 0, 10, 0);
    return buf;
  } finally {
    await f.close();
  }
}

describe('fake failure modes', () => {
  let stateDir: string;
  const host = (name: string) => new FakeDriver({ host: name, stateDir, vcpus: 4, memoryMb: 8192, diskGb: 100 });

  beforeEach(async () => {
    stateDir = await mkdtemp(join(tmpdir(), 'ferry-failure-modes-'));
  });
  afterEach(() => rm(stateDir, { recursive: true, force: true }));

  it.each(Object.keys(FAILURE_MODES) as FailureModeName[])('%s leaves on each host what list_guests then shows', async (mode) => {
    const uuid = randomUUID();
    const spec = { uuid, name: guestName(uuid), flavor: TINY, image_ref: 'cirros' };
    await host('h1').spawn(spec);
    await induceFailureMode(mode, { stateDir, spec, source: 'h1', other: 'h2' });

    const want = LEFT[mode];
    const [source] = await listGuests(host('h1'));
    if (want.source === 'nothing') expect(source).toBeUndefined();
    else expect(source).toMatchObject({ uuid, presence: want.source, name: want.renamed ? migratingGuestName(uuid) : guestName(uuid), has_disk: true });
    const [other] = await listGuests(host('h2'));
    expect(other).toMatchObject({ uuid, presence: want.other, name: guestName(uuid), has_disk: true });
    expect(other!.transient).toBe(want.transient ? true : undefined);
  });

  it('gives a copy the guest moved to the source disk\'s data, and an empty domain an empty disk', async () => {
    const uuid = randomUUID();
    const spec = { uuid, name: guestName(uuid), flavor: TINY, image_ref: 'cirros' };
    await host('h1').spawn(spec);
    await writeFile(host('h1').diskPath(uuid), Buffer.from('guest data'), { flag: 'r+' });
    await induceFailureMode('moved_by_hand', { stateDir, spec, source: 'h1', other: 'h2' });
    expect((await head(host('h2').diskPath(uuid))).toString()).toBe('guest data');

    const fresh = randomUUID();
    await host('h1').spawn({ ...spec, uuid: fresh });
    await writeFile(host('h1').diskPath(fresh), Buffer.from('guest data'), { flag: 'r+' });
    await induceFailureMode('xen_freeze', { stateDir, spec: { ...spec, uuid: fresh }, source: 'h1', other: 'h3' });
    expect(await head(host('h3').diskPath(fresh))).toEqual(Buffer.alloc(10));
  });

  it('makes the copy on the other host appear whole: never a VM directory without its definition, no staging left', async () => {
    const uuid = randomUUID();
    const spec = { uuid, name: guestName(uuid), flavor: TINY, image_ref: 'cirros' };
    await host('h1').spawn(spec);
    await writeFile(host('h1').diskPath(uuid), Buffer.alloc(8 << 20, 1), { flag: 'r+' });
    const dir = join(stateDir, 'hosts', 'h2', 'instances', uuid);
    // What a compute's periodic pass could see at any turn of the event loop while the failure is made.
    let done = false;
    let looks = 0;
    let halfMade = 0;
    const watch = (async () => {
      while (!done) {
        looks++;
        if (existsSync(dir) && !existsSync(join(dir, STATE_FILE))) halfMade++;
        await new Promise((r) => setImmediate(r));
      }
    })();
    await induceFailureMode('moved_by_hand', { stateDir, spec, source: 'h1', other: 'h2' });
    done = true;
    await watch;
    expect(looks).toBeGreaterThan(3);
    expect(halfMade).toBe(0);
    expect(existsSync(join(dir, STATE_FILE))).toBe(true);
    expect(readdirSync(join(stateDir, 'hosts', 'h2'))).toEqual(['instances']);
  });

  it('refuses a source that holds no VM of the guest', async () => {
    const uuid = randomUUID();
    await expect(induceFailureMode('xen_freeze', { stateDir, spec: { uuid, name: guestName(uuid), flavor: TINY, image_ref: 'cirros' }, source: 'h1', other: 'h2' }))
      .rejects.toThrow(/h1/);
  });

  it('renames a guest back and writes the definition of one that runs from memory, each idempotently', async () => {
    const uuid = randomUUID();
    const spec = { uuid, name: guestName(uuid), flavor: TINY, image_ref: 'cirros' };
    await host('h1').spawn(spec);
    await induceFailureMode('xen_freeze', { stateDir, spec, source: 'h1', other: 'h2' });
    for (let i = 0; i < 2; i++) await host('h1').renameGuest(uuid, guestName(uuid));
    expect(await host('h1').getVm(uuid)).toMatchObject({ name: guestName(uuid), power_state: 1 });

    await induceFailureMode('definition_not_written', { stateDir, spec, source: 'h1', other: 'h3' });
    for (let i = 0; i < 2; i++) await host('h3').persistDefinition(spec);
    expect((await host('h3').getVm(uuid))!.transient).toBeUndefined();
    await expect(host('h1').persistDefinition(spec)).rejects.toThrow(/h1/);
  });
});
