// What a user and an operator do with the stock openstack and nova CLIs, as one scenario run per deployment mode.
import { eventually } from '../support/ferry-process';
import { COMPUTE_HOSTS, startCloud, type Cloud, type CloudName, type DeploymentMode } from '../support/cloud';

interface ServerJson { id: string; name: string; status: string; [key: string]: unknown }

export function openstackCliScenario(mode: DeploymentMode): void {
  describe(`openstack and nova CLIs against Ferry (${mode})`, () => {
    let cloud: Cloud;
    let serverId: string;

    beforeAll(async () => {
      cloud = await startCloud(mode);
    }, 120_000);

    afterAll(async () => {
      await cloud?.stop();
    });

    const status = async (c: CloudName, id: string) => (await cloud.openstackJson<ServerJson>(c, ['server', 'show', id])).status;
    const waitForStatus = (c: CloudName, id: string, want: string) =>
      eventually(async () => ((await status(c, id)) === want ? want : undefined), 60_000, 500);

    it('issues tokens for admin and demo and lists the catalog', async () => {
      const admin = await cloud.openstackJson<{ id: string; project_id: string; user_id: string; expires: string }>('ferry-admin', ['token', 'issue']);
      expect(admin.id).toMatch(/\S{20,}/);
      expect(Date.parse(admin.expires)).toBeGreaterThan(Date.now());
      const demo = await cloud.openstackJson<{ project_id: string }>('ferry-demo', ['token', 'issue']);
      expect(demo.project_id).not.toBe(admin.project_id);
      const catalog = await cloud.openstackJson<{ Type: string }[]>('ferry-demo', ['catalog', 'list']);
      expect(catalog.map((c) => c.Type).sort()).toEqual(['compute', 'identity', 'image']);
    });

    it('creates and lists flavors (admin) and lists images', async () => {
      const created = await cloud.openstackJson<{ name: string; ram: number; vcpus: number; disk: number }>('ferry-admin', [
        'flavor', 'create', '--ram', '1024', '--disk', '5', '--vcpus', '1', 'e2e.small',
      ]);
      expect(created).toMatchObject({ name: 'e2e.small', ram: 1024, vcpus: 1, disk: 5 });
      const flavors = await cloud.openstackJson<{ Name: string }[]>('ferry-demo', ['flavor', 'list']);
      expect(flavors.map((f) => f.Name)).toEqual(expect.arrayContaining(['m1.tiny', 'm1.small', 'm1.medium', 'm1.large', 'm1.xlarge', 'e2e.small']));
      const images = await cloud.openstackJson<{ Name: string; Status: string }[]>('ferry-demo', ['image', 'list']);
      expect(images).toEqual(expect.arrayContaining([expect.objectContaining({ Name: 'cirros', Status: 'active' })]));
    });

    it('creates a server and waits for it to become ACTIVE on a compute host', async () => {
      const server = await cloud.openstackJson<ServerJson>('ferry-demo', ['server', 'create', '--flavor', 'm1.small', '--image', 'cirros', '--wait', 'vm1']);
      expect(server.status).toBe('ACTIVE');
      serverId = server.id;
      const asAdmin = await cloud.openstackJson<ServerJson>('ferry-admin', ['server', 'show', serverId]);
      expect(COMPUTE_HOSTS[mode]).toContain(asAdmin['OS-EXT-SRV-ATTR:host']);
      const list = await cloud.openstackJson<{ ID: string; Name: string; Status: string }[]>('ferry-demo', ['server', 'list']);
      expect(list).toEqual([expect.objectContaining({ ID: serverId, Name: 'vm1', Status: 'ACTIVE' })]);
      // Host fields are for admins only.
      const asDemo = await cloud.openstackJson<ServerJson>('ferry-demo', ['server', 'show', 'vm1']);
      expect(asDemo['OS-EXT-SRV-ATTR:host']).toBeUndefined();
    });

    it('stops, starts, reboots (soft and hard), pauses, unpauses, suspends and resumes the server', async () => {
      for (const [action, want] of [
        [['server', 'stop'], 'SHUTOFF'],
        [['server', 'start'], 'ACTIVE'],
        [['server', 'reboot'], 'ACTIVE'],
        [['server', 'reboot', '--hard'], 'ACTIVE'],
        [['server', 'pause'], 'PAUSED'],
        [['server', 'unpause'], 'ACTIVE'],
        [['server', 'suspend'], 'SUSPENDED'],
        [['server', 'resume'], 'ACTIVE'],
      ] as [string[], string][]) {
        const res = await cloud.openstack('ferry-demo', [...action, serverId]);
        expect({ action: action.join(' '), code: res.code, stderr: res.stderr }).toEqual({ action: action.join(' '), code: 0, stderr: '' });
        await waitForStatus('ferry-demo', serverId, want);
      }
    });

    it('refuses to move a suspended server, live or cold, with 409', async () => {
      expect((await cloud.openstack('ferry-demo', ['server', 'suspend', serverId])).code).toBe(0);
      await waitForStatus('ferry-demo', serverId, 'SUSPENDED');
      const shown = await cloud.openstackJson<ServerJson>('ferry-admin', ['server', 'show', serverId]);
      expect(shown['OS-EXT-STS:power_state']).toBe(7);
      const live = await cloud.openstack('ferry-admin', ['--os-compute-api-version', '2.30', 'server', 'migrate', '--live-migration', serverId]);
      expect(live.stderr).toMatch(new RegExp(`Cannot 'os-migrateLive' instance ${serverId} while it is in vm_state suspended.*HTTP 409`, 's'));
      const cold = await cloud.openstack('ferry-admin', ['server', 'migrate', serverId]);
      expect(cold.stderr).toMatch(new RegExp(`Cannot 'migrate' instance ${serverId} while it is in vm_state suspended.*HTTP 409`, 's'));
      expect((await cloud.openstack('ferry-demo', ['server', 'resume', serverId])).code).toBe(0);
      await waitForStatus('ferry-demo', serverId, 'ACTIVE');
    });

    it('lists the server events of every action', async () => {
      const events = await cloud.openstackJson<{ Action: string }[]>('ferry-demo', ['server', 'event', 'list', serverId]);
      const actions = events.map((e) => e.Action);
      expect(actions).toEqual(expect.arrayContaining(['create', 'stop', 'start', 'reboot', 'pause', 'unpause', 'suspend', 'resume']));
    });

    it('shows hypervisors and compute services to the admin', async () => {
      const hypervisors = await cloud.openstackJson<{ 'Hypervisor Hostname': string; State: string }[]>('ferry-admin', ['hypervisor', 'list']);
      expect(hypervisors.map((h) => h['Hypervisor Hostname']).sort()).toEqual([...COMPUTE_HOSTS[mode]].sort());
      // The uptime line comes from the compute host itself, over the bus.
      const shown = await cloud.openstackJson<Record<string, string>>('ferry-admin', ['hypervisor', 'show', COMPUTE_HOSTS[mode][0]!]);
      expect(shown).toMatchObject({ host_time: expect.stringMatching(/^\d\d:\d\d:\d\d$/), users: '0', load_average: expect.stringMatching(/^[\d.]+, [\d.]+, [\d.]+$/) });
      const services = await cloud.openstackJson<{ Binary: string; Host: string; State: string; Status: string }[]>('ferry-admin', ['compute', 'service', 'list']);
      const computes = services.filter((s) => s.Binary === 'nova-compute');
      expect(computes.map((s) => s.Host).sort()).toEqual([...COMPUTE_HOSTS[mode]].sort());
      expect(computes.every((s) => s.State === 'up' && s.Status === 'enabled')).toBe(true);
      expect(services.map((s) => s.Binary)).toContain('nova-scheduler');
    });

    it("takes Nova's binary names in operators' service commands", async () => {
      type Row = { Binary: string; Host: string; Status: string };
      const computes = await cloud.openstackJson<Row[]>('ferry-admin', ['compute', 'service', 'list', '--service', 'nova-compute']);
      expect(computes.map((s) => s.Host).sort()).toEqual([...COMPUTE_HOSTS[mode]].sort());
      const host = COMPUTE_HOSTS[mode][0]!;
      const set = (flag: string) => cloud.openstack('ferry-admin', ['compute', 'service', 'set', flag, host, 'nova-compute']);
      expect(await set('--disable')).toMatchObject({ code: 0, stderr: '' });
      const statusOf = async () => (await cloud.openstackJson<Row[]>('ferry-admin', ['compute', 'service', 'list', '--service', 'nova-compute', '--host', host]))[0]?.Status;
      expect(await statusOf()).toBe('disabled');
      expect(await set('--enable')).toMatchObject({ code: 0, stderr: '' });
      expect(await statusOf()).toBe('enabled');
    });

    it('works with the nova CLI too', async () => {
      const list = await cloud.nova('ferry-demo', ['list']);
      expect(list.code).toBe(0);
      expect(list.stdout).toMatch(new RegExp(`${serverId}\\s*\\|\\s*vm1\\s*\\|\\s*ACTIVE`));
      const show = await cloud.nova('ferry-demo', ['--os-compute-api-version', '2.47', 'show', serverId]);
      expect(show.code).toBe(0);
      expect(show.stdout).toMatch(/flavor:original_name\s*\|\s*m1\.small/);
      const services = await cloud.nova('ferry-admin', ['service-list']);
      expect(services.code).toBe(0);
      expect(services.stdout).toMatch(/nova-compute/);
    });

    it('refuses bad input and other projects with the right errors', async () => {
      const badFlavor = await cloud.openstack('ferry-demo', ['server', 'create', '--flavor', 'no-such-flavor', '--image', 'cirros', 'bad']);
      expect(badFlavor.code).not.toBe(0);
      expect(badFlavor.stderr).toMatch(/No flavor with a name or ID of 'no-such-flavor' exists/);
      // The CLI resolves names itself; the API's own answer to an unknown flavorRef is a 400 naming it.
      const token = (await cloud.openstack('ferry-demo', ['token', 'issue', '-f', 'value', '-c', 'id'])).stdout.trim();
      const direct = await fetch(`${cloud.url}/compute/v2.1/servers`, {
        method: 'POST', headers: { 'x-auth-token': token, 'content-type': 'application/json' },
        body: JSON.stringify({ server: { name: 'bad', flavorRef: 'no-such-flavor', imageRef: 'a5e4f5a8-0000-4000-8000-000000000000' } }),
      });
      expect(direct.status).toBe(400);
      expect(await direct.json()).toEqual({ badRequest: { code: 400, message: expect.stringMatching(/no-such-flavor/) } });

      const adminServer = await cloud.openstackJson<ServerJson>('ferry-admin', ['server', 'create', '--flavor', 'm1.tiny', '--image', 'cirros', '--wait', 'admin-vm']);
      const foreign = await cloud.openstack('ferry-demo', ['server', 'show', adminServer.id]);
      expect(foreign.code).not.toBe(0);
      expect(foreign.stderr).toMatch(/No server with a name or ID|could not be found/i);

      const notAdmin = await cloud.openstack('ferry-demo', ['hypervisor', 'list']);
      expect(notAdmin.code).not.toBe(0);
      expect(notAdmin.stderr).toMatch(/Policy doesn't allow .* to be performed.*HTTP 403/s);

      const badVersion = await cloud.nova('ferry-demo', ['--os-compute-api-version', '2.81', 'list']);
      expect(badVersion.code).not.toBe(0);
      expect(badVersion.stderr).toMatch(/isn't supported by server\. The valid version range is '2\.1' to '2\.80'/);
      const raw = await fetch(`${cloud.url}/compute/v2.1/servers`, { headers: { 'OpenStack-API-Version': 'compute 2.81', 'X-Auth-Token': token } });
      expect(raw.status).toBe(406);
      expect(await raw.json()).toEqual({ computeFault: { code: 406, message: expect.stringMatching(/Minimum is 2\.1 and maximum is 2\.80/) } });
    });

    describe('cold moves', () => {
      let moverId: string;
      const hostOf = async (id: string) => (await cloud.openstackJson<ServerJson>('ferry-admin', ['server', 'show', id]))['OS-EXT-SRV-ATTR:host'] as string;
      const flavorOf = async (id: string) => {
        const flavor = (await cloud.openstackJson<ServerJson>('ferry-demo', ['--os-compute-api-version', '2.47', 'server', 'show', id])).flavor as { original_name: string };
        return flavor.original_name;
      };
      const ok = (res: { code: number; stderr: string }) => expect({ code: res.code, stderr: res.stderr }).toEqual({ code: 0, stderr: '' });

      it('resizes a server and reverts: back on its host with its old flavor', async () => {
        moverId = (await cloud.openstackJson<ServerJson>('ferry-demo', ['server', 'create', '--flavor', 'm1.tiny', '--image', 'cirros', '--wait', 'mover'])).id;
        const home = await hostOf(moverId);
        ok(await cloud.openstack('ferry-demo', ['server', 'resize', '--flavor', 'e2e.small', '--wait', moverId]));
        expect(await status('ferry-demo', moverId)).toBe('VERIFY_RESIZE');
        expect(await flavorOf(moverId)).toBe('e2e.small');
        expect(await hostOf(moverId)).not.toBe(home);
        ok(await cloud.openstack('ferry-demo', ['server', 'resize', 'revert', moverId]));
        await waitForStatus('ferry-demo', moverId, 'ACTIVE');
        expect(await hostOf(moverId)).toBe(home);
        expect(await flavorOf(moverId)).toBe('m1.tiny');
      });

      it('resizes a server and confirms: it keeps the new flavor on the new host', async () => {
        const home = await hostOf(moverId);
        ok(await cloud.openstack('ferry-demo', ['server', 'resize', '--flavor', 'e2e.small', '--wait', moverId]));
        ok(await cloud.openstack('ferry-demo', ['server', 'resize', 'confirm', moverId]));
        await waitForStatus('ferry-demo', moverId, 'ACTIVE');
        expect(await flavorOf(moverId)).toBe('e2e.small');
        expect(await hostOf(moverId)).not.toBe(home);
      });

      it('migrates a server (admin), then migrates it to a named host', async () => {
        const home = await hostOf(moverId);
        ok(await cloud.openstack('ferry-admin', ['server', 'migrate', '--wait', moverId]));
        expect(await status('ferry-admin', moverId)).toBe('VERIFY_RESIZE');
        ok(await cloud.openstack('ferry-admin', ['server', 'resize', 'confirm', moverId]));
        await waitForStatus('ferry-admin', moverId, 'ACTIVE');
        const second = await hostOf(moverId);
        expect(second).not.toBe(home);

        const target = COMPUTE_HOSTS[mode].find((h) => h !== second)!;
        ok(await cloud.openstack('ferry-admin', ['--os-compute-api-version', '2.56', 'server', 'migrate', '--host', target, '--wait', moverId]));
        ok(await cloud.openstack('ferry-admin', ['server', 'resize', 'confirm', moverId]));
        await waitForStatus('ferry-admin', moverId, 'ACTIVE');
        expect(await hostOf(moverId)).toBe(target);
      });

      it('lists the server\'s migrations with their types and final statuses', async () => {
        const rows = await cloud.openstackJson<{ Type: string; Status: string; 'Source Compute': string; 'Dest Compute': string }[]>(
          'ferry-admin', ['--os-compute-api-version', '2.23', 'server', 'migration', 'list', '--server', moverId],
        );
        // Before 2.59 Nova lists them in the order they were made.
        expect(rows.map((r) => [r.Type, r.Status])).toEqual([
          ['resize', 'reverted'], ['resize', 'confirmed'], ['migration', 'confirmed'], ['migration', 'confirmed'],
        ]);
        for (const r of rows) expect(r['Source Compute']).not.toBe(r['Dest Compute']);
      });

      it('refuses bad moves with the right 4xx', async () => {
        const same = await cloud.openstack('ferry-demo', ['server', 'resize', '--flavor', 'e2e.small', moverId]);
        expect(same.stderr).toMatch(/When resizing, instances must change flavor!.*HTTP 400/s);
        const smaller = await cloud.openstack('ferry-demo', ['server', 'resize', '--flavor', 'm1.tiny', moverId]);
        expect(smaller.stderr).toMatch(/smaller disk.*HTTP 400/s);
        const unknownHost = await cloud.openstack('ferry-admin', ['--os-compute-api-version', '2.56', 'server', 'migrate', '--host', 'no-such-host', moverId]);
        expect(unknownHost.stderr).toMatch(/Compute host no-such-host could not be found.*HTTP 400/s);
        // Nova checks the vm_state before looking for the migration: an ACTIVE server is a 409.
        const notResized = await cloud.openstack('ferry-demo', ['server', 'resize', 'confirm', moverId]);
        expect(notResized.stderr).toMatch(/Cannot 'confirmResize' instance .* while it is in vm_state active.*HTTP 409/s);
        const memberMigrate = await cloud.openstack('ferry-demo', ['server', 'migrate', moverId]);
        expect(memberMigrate.stderr).toMatch(/Policy doesn't allow .*migrate.*HTTP 403/s);
        const adminServer = await cloud.openstackJson<{ ID: string }[]>('ferry-admin', ['server', 'list', '--name', 'admin-vm']);
        const foreign = await cloud.openstack('ferry-demo', ['server', 'resize', 'revert', adminServer[0]!.ID]);
        expect(foreign.code).not.toBe(0);
        expect(foreign.stderr).toMatch(/No server with a name or ID|could not be found/i);
        expect(await status('ferry-demo', moverId)).toBe('ACTIVE');
      });

      afterAll(async () => {
        if (moverId) await cloud.openstack('ferry-demo', ['server', 'delete', '--wait', moverId]);
      });
    });

    describe('live migration', () => {
      const ids: string[] = [];
      /** A server whose guest dirties RAM faster than it can be sent. */
      let busyId: string | undefined;
      const hostOf = async (id: string) => (await cloud.openstackJson<ServerJson>('ferry-admin', ['server', 'show', id]))['OS-EXT-SRV-ATTR:host'] as string;
      const ok = (res: { code: number; stderr: string }) => expect({ code: res.code, stderr: res.stderr }).toEqual({ code: 0, stderr: '' });
      const admin = (args: string[]) => cloud.openstack('ferry-admin', ['--os-compute-api-version', '2.65', ...args]);
      const create = async (name: string, extra: string[] = []) => {
        const id = (await cloud.openstackJson<ServerJson>('ferry-admin', ['server', 'create', '--flavor', 'm1.tiny', '--image', 'cirros', ...extra, '--wait', name])).id;
        ids.push(id);
        return id;
      };
      type MigrationRow = { Id: number; Status: string; 'Source Compute': string; 'Dest Compute': string };
      const migrations = (id: string) => cloud.openstackJson<MigrationRow[]>('ferry-admin', ['--os-compute-api-version', '2.65', 'server', 'migration', 'list', '--server', id]);

      it('live-migrates an active server and a paused one (block migration chosen automatically), and to a named host', async () => {
        const active = await create('live-1');
        const home = await hostOf(active);
        ok(await admin(['server', 'migrate', '--live-migration', '--wait', active]));
        await waitForStatus('ferry-admin', active, 'ACTIVE');
        expect(await hostOf(active)).not.toBe(home);

        const paused = await create('live-2');
        ok(await cloud.openstack('ferry-admin', ['server', 'pause', paused]));
        await waitForStatus('ferry-admin', paused, 'PAUSED');
        const pausedHome = await hostOf(paused);
        const target = COMPUTE_HOSTS[mode].find((h) => h !== pausedHome)!;
        ok(await admin(['server', 'migrate', '--live-migration', '--host', target, '--block-migration', paused]));
        await eventually(async () => ((await hostOf(paused)) === target ? true : undefined), 60_000, 500);
        await eventually(async () => ((await migrations(paused)).find((m) => m.Status === 'completed') ? true : undefined), 60_000, 500);
        expect(await status('ferry-admin', paused)).toBe('PAUSED');
      });

      it('live-migrates a rescued server, which unrescues on its new host', async () => {
        const id = await create('live-rescued');
        const home = await hostOf(id);
        ok(await cloud.openstack('ferry-admin', ['server', 'rescue', id]));
        await waitForStatus('ferry-admin', id, 'RESCUE');
        ok(await admin(['server', 'migrate', '--live-migration', id]));
        await eventually(async () => ((await migrations(id)).find((m) => m.Status === 'completed') ? true : undefined), 60_000, 500);
        expect(await status('ferry-admin', id)).toBe('RESCUE');
        expect(await hostOf(id)).not.toBe(home);
        ok(await cloud.openstack('ferry-admin', ['server', 'unrescue', id]));
        await waitForStatus('ferry-admin', id, 'ACTIVE');
      });

      it('shows a migration that does not converge, aborts one queued behind it, then aborts it: both servers stay where they were', async () => {
        const busy = await create('live-busy', ['--property', 'ferry:dirty_rate_mib_s=4096']);
        busyId = busy;
        const home = await hostOf(busy);
        ok(await admin(['server', 'migrate', '--live-migration', busy]));
        const running = await eventually(async () => (await migrations(busy)).find((m) => m.Status === 'running'), 60_000, 300);
        const shown = await cloud.openstackJson<Record<string, unknown>>('ferry-admin', ['--os-compute-api-version', '2.65', 'server', 'migration', 'show', busy, String(running!.Id)]);
        expect(shown).toMatchObject({ Status: 'running', 'Source Compute': home });

        // The source runs one live migration at a time: a second one from the same host waits queued, and can be aborted there.
        const waiting = await create('live-waiting', ['--availability-zone', `nova:${home}`]);
        ok(await admin(['server', 'migrate', '--live-migration', waiting]));
        const queued = await eventually(async () => (await migrations(waiting)).find((m) => m.Status === 'queued'), 60_000, 300);
        ok(await admin(['server', 'migration', 'abort', waiting, String(queued!.Id)]));
        await eventually(async () => ((await migrations(waiting)).find((m) => m.Id === queued!.Id && m.Status === 'cancelled') ? true : undefined), 60_000, 500);
        await waitForStatus('ferry-admin', waiting, 'ACTIVE');
        expect(await hostOf(waiting)).toBe(home);
        expect((await migrations(busy)).find((m) => m.Id === running!.Id)!.Status).toBe('running');

        ok(await admin(['server', 'migration', 'abort', busy, String(running!.Id)]));
        await eventually(async () => ((await migrations(busy)).find((m) => m.Id === running!.Id && m.Status === 'cancelled') ? true : undefined), 60_000, 500);
        await waitForStatus('ferry-admin', busy, 'ACTIVE');
        expect(await hostOf(busy)).toBe(home);
      });

      it('force-completes a migration that does not converge', async () => {
        const busy = busyId!;
        const home = await hostOf(busy);
        ok(await admin(['server', 'migrate', '--live-migration', busy]));
        const running = await eventually(async () => (await migrations(busy)).find((m) => m.Status === 'running'), 60_000, 300);
        ok(await admin(['server', 'migration', 'force', 'complete', busy, String(running!.Id)]));
        await eventually(async () => ((await hostOf(busy)) !== home ? true : undefined), 60_000, 500);
        await waitForStatus('ferry-admin', busy, 'ACTIVE');
      });

      it('refuses what it must: another project, an unknown host, a stopped server', async () => {
        const id = ids[0]!;
        // Another project's server does not exist for a member.
        const memberMove = await fetchAs('ferry-demo', 'POST', `/servers/${id}/action`, { 'os-migrateLive': { host: null, block_migration: 'auto' } });
        expect(memberMove.status).toBe(404);
        const unknown = await admin(['server', 'migrate', '--live-migration', '--host', 'no-such-host', id]);
        expect(unknown.stderr).toMatch(/Compute host no-such-host could not be found.*HTTP 400/s);
        ok(await cloud.openstack('ferry-admin', ['server', 'stop', id]));
        await waitForStatus('ferry-admin', id, 'SHUTOFF');
        const stopped = await admin(['server', 'migrate', '--live-migration', id]);
        expect(stopped.stderr).toMatch(/Cannot 'os-migrateLive' instance .* while it is in vm_state stopped.*HTTP 409/s);
      });

      /** A raw Compute API request with the cloud user's token (the CLI cannot send some bodies). */
      async function fetchAs(c: CloudName, method: string, path: string, body: unknown) {
        const token = (await cloud.openstack(c, ['token', 'issue', '-f', 'value', '-c', 'id'])).stdout.trim();
        return fetch(`${cloud.url}/compute/v2.1${path}`, {
          method, headers: { 'x-auth-token': token, 'content-type': 'application/json', 'openstack-api-version': 'compute 2.65' }, body: JSON.stringify(body),
        });
      }

      afterAll(async () => {
        for (const id of ids) await cloud.openstack('ferry-admin', ['server', 'delete', '--wait', id]);
      });
    });

    it('deletes the server', async () => {
      const res = await cloud.openstack('ferry-demo', ['server', 'delete', '--wait', serverId]);
      expect(res.code).toBe(0);
      const list = await cloud.openstackJson<unknown[]>('ferry-demo', ['server', 'list']);
      expect(list).toEqual([]);
    });
  });
}
