// An operator's live migration of a guest that never converges, left to the completion timeout: with the timeout
// action `abort` the guest stays where it ran; with `force_complete` it is paused, moves, and runs on the new host.
// Each action is a compute setting, so each gets its own Ferry; the stock openstack CLI drives both.
import { eventually } from '../support/ferry-process';
import { startCloud, type Cloud, type DeploymentMode } from '../support/cloud';

interface MigrationRow { Id: number; Status: string; 'Source Compute': string; 'Dest Compute': string }

/** 2 s per GiB: a 512 MiB guest times out after 1 s of migration (the fake guest dirties RAM faster than the link). */
const TIMEOUT_SETTINGS = { FERRY_LIVE_MIGRATION_COMPLETION_TIMEOUT: '2', FERRY_FAKE_MIGRATION_BANDWIDTH: String(256 << 20) };
const NEVER_CONVERGES = ['--property', 'ferry:dirty_rate_mib_s=1024'];

export function liveMigrationTimeoutScenario(mode: DeploymentMode): void {
  describe.each(['abort', 'force_complete'] as const)(`a live migration past its completion timeout, action %s (${mode})`, (action) => {
    let cloud: Cloud;

    beforeAll(async () => {
      cloud = await startCloud(mode, { ...TIMEOUT_SETTINGS, FERRY_LIVE_MIGRATION_TIMEOUT_ACTION: action });
    }, 120_000);

    afterAll(async () => {
      await cloud?.stop();
    });

    const admin = (args: string[]) => cloud.openstack('ferry-admin', ['--os-compute-api-version', '2.65', ...args]);
    const show = (id: string) => cloud.openstackJson<Record<string, unknown>>('ferry-admin', ['server', 'show', id]);
    const migrations = (id: string) => cloud.openstackJson<MigrationRow[]>('ferry-admin', ['--os-compute-api-version', '2.65', 'server', 'migration', 'list', '--server', id]);

    it(action === 'abort' ? 'cancels the migration and the server keeps running where it was' : 'pauses the guest, finishes the move, and the server runs on its new host', async () => {
      const created = await cloud.openstackJson<{ id: string }>('ferry-admin', ['server', 'create', '--flavor', 'm1.tiny', '--image', 'cirros', ...NEVER_CONVERGES, '--wait', `busy-${action}`]);
      const id = created.id;
      const home = (await show(id))['OS-EXT-SRV-ATTR:host'] as string;

      const started = await admin(['server', 'migrate', '--live-migration', id]);
      expect({ code: started.code, stderr: started.stderr }).toEqual({ code: 0, stderr: '' });

      const want = action === 'abort' ? 'cancelled' : 'completed';
      const ended = await eventually(async () => (await migrations(id)).find((m) => ['cancelled', 'completed', 'failed', 'error'].includes(m.Status)), 60_000, 300);
      expect(ended).toMatchObject({ Status: want, 'Source Compute': home });
      const server = await eventually(async () => {
        const s = await show(id);
        return s.status === 'MIGRATING' ? undefined : s;
      }, 30_000, 300);
      expect({ status: server.status, host: server['OS-EXT-SRV-ATTR:host'] }).toEqual({
        status: 'ACTIVE', host: action === 'abort' ? home : ended!['Dest Compute'],
      });
      if (action === 'force_complete') expect(ended!['Dest Compute']).not.toBe(home);

      const events = await cloud.openstackJson<{ Action: string }[]>('ferry-admin', ['server', 'event', 'list', id]);
      expect(events.map((e) => e.Action)).toContain('live-migration');
      const deleted = await cloud.openstack('ferry-admin', ['server', 'delete', '--wait', id]);
      expect(deleted.code).toBe(0);
    });
  });
}
