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

    it('stops, starts, reboots (soft and hard), pauses and unpauses the server', async () => {
      for (const [action, want] of [
        [['server', 'stop'], 'SHUTOFF'],
        [['server', 'start'], 'ACTIVE'],
        [['server', 'reboot'], 'ACTIVE'],
        [['server', 'reboot', '--hard'], 'ACTIVE'],
        [['server', 'pause'], 'PAUSED'],
        [['server', 'unpause'], 'ACTIVE'],
      ] as [string[], string][]) {
        const res = await cloud.openstack('ferry-demo', [...action, serverId]);
        expect({ action: action.join(' '), code: res.code, stderr: res.stderr }).toEqual({ action: action.join(' '), code: 0, stderr: '' });
        await waitForStatus('ferry-demo', serverId, want);
      }
    });

    it('lists the server events of every action', async () => {
      const events = await cloud.openstackJson<{ Action: string }[]>('ferry-demo', ['server', 'event', 'list', serverId]);
      const actions = events.map((e) => e.Action);
      expect(actions).toEqual(expect.arrayContaining(['create', 'stop', 'start', 'reboot', 'pause', 'unpause']));
    });

    it('shows hypervisors and compute services to the admin', async () => {
      const hypervisors = await cloud.openstackJson<{ 'Hypervisor Hostname': string; State: string }[]>('ferry-admin', ['hypervisor', 'list']);
      expect(hypervisors.map((h) => h['Hypervisor Hostname']).sort()).toEqual([...COMPUTE_HOSTS[mode]].sort());
      const services = await cloud.openstackJson<{ Binary: string; Host: string; State: string; Status: string }[]>('ferry-admin', ['compute', 'service', 'list']);
      const computes = services.filter((s) => s.Binary === 'ferry-compute');
      expect(computes.map((s) => s.Host).sort()).toEqual([...COMPUTE_HOSTS[mode]].sort());
      expect(computes.every((s) => s.State === 'up' && s.Status === 'enabled')).toBe(true);
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
      expect(services.stdout).toMatch(/ferry-compute/);
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

    it('deletes the server', async () => {
      const res = await cloud.openstack('ferry-demo', ['server', 'delete', '--wait', serverId]);
      expect(res.code).toBe(0);
      const list = await cloud.openstackJson<unknown[]>('ferry-demo', ['server', 'list']);
      expect(list).toEqual([]);
    });
  });
}
