// The one-statement reads and writes of a move's steps: the record and its instance read together, an instance with
// whether it has an unfinished move, and a live migration's Confirm (claim release, completion and task clear) together.
import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  Allocation, Instance, Migration, completeLiveMigration, getInstance, getInstanceAndOpenMove, getMigration, getMigrationAndInstance, migrate, openDatabase,
  Image, openMigrationOf, policyLayersOf,
  type FerryDatabase,
} from '@ferry/common/db';
import { createTestDatabase, type TestDatabase } from '../../support/db';
import { insertInstance, insertMigration } from './fixtures';

describe('live-migration statements on Postgres', () => {
  let tdb: TestDatabase;
  let db: FerryDatabase;

  beforeAll(async () => {
    tdb = await createTestDatabase();
    db = await openDatabase({ url: tdb.url, stateDir: mkdtempSync(join(tmpdir(), 'ferry-live-statements-')), poolSize: 4 });
    await migrate(db.dataSource);
  });
  afterAll(async () => {
    await db?.close();
    await tdb?.drop();
  });

  describe('getMigrationAndInstance', () => {
    it('reads what getMigration and getInstance read, column for column', async () => {
      const inst = await insertInstance(db.dataSource, { metadata: { 'ferry:dirty_rate_mib_s': '12' }, rescued_at: new Date('2026-01-02T03:04:05.678Z') });
      const mig = await insertMigration(db.dataSource, {
        instance_uuid: inst.uuid, migration_type: 'live-migration', status: 'running', memory_total: 2 ** 40, memory_processed: 5, memory_remaining: null,
        phase_timings: { preparing: { started_at: '2026-01-01T00:00:00.000Z' } }, migrate_data: { block_migration: 'auto', alternates: ['a', 'b'] },
      });
      const both = await getMigrationAndInstance(db.dataSource, mig.id);
      expect(both?.migration).toEqual(await getMigration(db.dataSource, mig.id));
      expect(both?.instance).toEqual(await getInstance(db.dataSource, inst.uuid));
      expect(both?.migration).toBeInstanceOf(Migration);
      expect(both?.instance).toBeInstanceOf(Instance);
      expect(both?.migration.memory_total).toBe(2 ** 40);
      expect(both?.instance?.rescued_at).toEqual(new Date('2026-01-02T03:04:05.678Z'));
    });

    it('returns a deleted instance as getInstance does, and nothing for a deleted or unknown record', async () => {
      const inst = await insertInstance(db.dataSource);
      const mig = await insertMigration(db.dataSource, { instance_uuid: inst.uuid, migration_type: 'live-migration', status: 'queued' });
      await db.dataSource.getRepository(Instance).softDelete({ uuid: inst.uuid });
      const both = await getMigrationAndInstance(db.dataSource, mig.id);
      expect(both?.instance?.deleted_at).toBeInstanceOf(Date);
      expect(both?.instance).toEqual(await getInstance(db.dataSource, inst.uuid));

      await db.dataSource.getRepository(Migration).softDelete({ id: mig.id });
      expect(await getMigrationAndInstance(db.dataSource, mig.id)).toBeUndefined();
      expect(await getMigrationAndInstance(db.dataSource, 2 ** 31 - 1)).toBeUndefined();
    });

    it('reads the properties of the image the instance booted from, as policyLayersOf does', async () => {
      const image = randomUUID();
      await db.dataSource.getRepository(Image).insert({
        id: image, name: 'policy-image', disk_format: 'qcow2', properties: { 'hw:max_downtime': '300' },
      });
      const inst = await insertInstance(db.dataSource, { image_ref: image, metadata: { k: 'v' } });
      const mig = await insertMigration(db.dataSource, { instance_uuid: inst.uuid, migration_type: 'live-migration', status: 'queued' });
      const row = await getMigrationAndInstance(db.dataSource, mig.id);
      expect(row?.imageProperties).toEqual({ 'hw:max_downtime': '300' });
      expect(row?.imageProperties).toEqual((await policyLayersOf(db.dataSource, [inst.uuid])).get(inst.uuid)?.image);

      const unknown = await insertInstance(db.dataSource, { image_ref: 'no-such-image' });
      const other = await insertMigration(db.dataSource, { instance_uuid: unknown.uuid, migration_type: 'live-migration', status: 'queued' });
      expect((await getMigrationAndInstance(db.dataSource, other.id))?.imageProperties).toBeNull();
    });
  });

  describe('getInstanceAndOpenMove', () => {
    it('reads what getInstance and openMigrationOf read', async () => {
      const inst = await insertInstance(db.dataSource, { task_state: 'resize_prep', metadata: { k: 'v' } });
      const first = await getInstanceAndOpenMove(db.dataSource, inst.uuid);
      expect(first?.instance).toEqual(await getInstance(db.dataSource, inst.uuid));
      expect(first?.instance).toBeInstanceOf(Instance);
      expect(first?.openMove).toBeUndefined();

      const mig = await insertMigration(db.dataSource, { instance_uuid: inst.uuid, migration_type: 'migration', status: 'pre-migrating' });
      const open = (await getInstanceAndOpenMove(db.dataSource, inst.uuid))?.openMove;
      expect(open).toBeInstanceOf(Migration);
      expect(open).toEqual(await openMigrationOf(db.dataSource, inst.uuid));
      expect(open?.id).toBe(mig.id);

      await db.dataSource.getRepository(Migration).update({ id: mig.id }, { status: 'confirmed' });
      expect((await getInstanceAndOpenMove(db.dataSource, inst.uuid))?.openMove).toBeUndefined();
      expect(await openMigrationOf(db.dataSource, inst.uuid)).toBeUndefined();
      expect(await getInstanceAndOpenMove(db.dataSource, '00000000-0000-4000-8000-00000000dead')).toBeUndefined();
    });
  });

  describe('completeLiveMigration', () => {
    async function postMigrating(status = 'post-migrating') {
      const inst = await insertInstance(db.dataSource, { host: 'dest-1', node: 'dest-1', task_state: 'migrating' });
      const mig = await insertMigration(db.dataSource, {
        instance_uuid: inst.uuid, migration_type: 'live-migration', status, source_compute: 'source-1', dest_compute: 'dest-1', last_error: 'a Finish retried',
      });
      const allocations = db.dataSource.getRepository(Allocation);
      for (const host of ['source-1', 'dest-1']) await allocations.save(allocations.create({ consumer_uuid: inst.uuid, host, vcpus: 1, memory_mb: 512, disk_gb: 1 }));
      return { inst, mig };
    }
    const completion = (inst: Instance, mig: Migration) => ({
      migrationId: mig.id, instanceUuid: inst.uuid, source: 'source-1', dest: 'dest-1', phaseTimings: { finish_confirm: { finished_at: 'now' } },
    });
    const hostsClaimed = async (uuid: string) => (await db.dataSource.getRepository(Allocation).findBy({ consumer_uuid: uuid })).map((a) => a.host).sort();

    it('frees the source claim, completes the record and clears the task, once', async () => {
      const { inst, mig } = await postMigrating();
      expect(await completeLiveMigration(db.dataSource, completion(inst, mig))).toBe(true);
      const row = await getMigration(db.dataSource, mig.id);
      expect(row).toMatchObject({ status: 'completed', last_error: null, phase_timings: { finish_confirm: { finished_at: 'now' } } });
      expect(row!.updated_at.getTime()).toBeGreaterThanOrEqual(mig.updated_at.getTime());
      expect((await getInstance(db.dataSource, inst.uuid))?.task_state).toBeNull();
      expect(await hostsClaimed(inst.uuid)).toEqual(['dest-1']);
      expect(await completeLiveMigration(db.dataSource, completion(inst, mig))).toBe(false);
    });

    it('completes only a post-migrating record, and clears the task only of an instance the database names on the destination', async () => {
      const running = await postMigrating('running');
      expect(await completeLiveMigration(db.dataSource, completion(running.inst, running.mig))).toBe(false);
      expect((await getMigration(db.dataSource, running.mig.id))?.status).toBe('running');

      const { inst, mig } = await postMigrating();
      await db.dataSource.getRepository(Instance).update({ uuid: inst.uuid }, { host: 'source-1' });
      expect(await completeLiveMigration(db.dataSource, completion(inst, mig))).toBe(true);
      expect((await getInstance(db.dataSource, inst.uuid))?.task_state).toBe('migrating');
    });
  });
});
