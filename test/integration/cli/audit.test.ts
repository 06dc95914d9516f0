// `ferry audit` from another process against a running `ferry up`: clean at first (exit 0), then a VM written into a
// fake host behind Ferry's back is reported (exit 1), in text and in JSON.
import { randomUUID } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type AuditReport } from '@ferry/compute/audit';
import { FakeDriver } from '@ferry/compute/drivers';
import type { InstanceFlavor } from '@ferry/common/db';
import { runFerry, startFerry, tempStateDir, type FerryProcess } from '../../support/ferry-process';

jest.setTimeout(120_000);

const TINY: InstanceFlavor = { id: 1, flavorid: '1', name: 'm1.tiny', vcpus: 1, memory_mb: 512, root_gb: 1, ephemeral_gb: 0, swap: 0, extra_specs: {} };

describe('ferry audit (against ferry up: embedded database, in-process bus)', () => {
  const state = tempStateDir();
  const env = {
    FERRY_STATE_DIR: state.dir, FERRY_API_PORT: '0', FERRY_UP_COMPUTES: '2', FERRY_DATABASE_URL: '', FERRY_TRANSPORT_URL: '', OS_AUTH_URL: '',
  };
  let up: FerryProcess | undefined;
  let auditEnv: NodeJS.ProcessEnv;

  beforeAll(async () => {
    up = startFerry(['up'], env);
    const [, url] = await up.waitFor(/API\s+(http:\/\/\S+)/, 60_000);
    await up.waitFor(/Ctrl-C/);
    auditEnv = { ...env, FERRY_PUBLIC_URL: url };
  }, 90_000);

  afterAll(async () => {
    await up?.stop('SIGKILL');
    state.remove();
  });

  it('exits 0 when every host answers and nothing is wrong', async () => {
    const res = await runFerry(['audit'], auditEnv);
    expect(res.stderr).toBe('');
    expect(res.stdout).toBe('0 instance(s) with problems; 2 of 2 compute host(s) answered\n');
    expect(res.code).toBe(0);
  });

  it('exits 1 and names the instance when a host holds a VM the database does not know', async () => {
    const uuid = randomUUID();
    const driver = new FakeDriver({ host: 'compute-2', stateDir: state.dir, vcpus: 4, memoryMb: 4096, diskGb: 10 });
    await driver.spawn({ uuid, name: 'instance-behind-ferry', image_ref: 'cirros', flavor: TINY });

    const text = await runFerry(['audit'], auditEnv);
    expect(text.code).toBe(1);
    expect(text.stdout).toContain(`instance ${uuid} (not in the database)\n  unknown_instance: held on compute-2, but the database has no such instance\n  hosts:\n    compute-2: running (VM instance-behind-ferry, power state 1, disk present)\n`);
    expect(text.stdout).toMatch(/1 instance\(s\) with problems; 2 of 2 compute host\(s\) answered\n$/);

    const json = await runFerry(['audit', '--json'], auditEnv);
    expect(json.code).toBe(1);
    const report = JSON.parse(json.stdout) as AuditReport;
    expect(report).toMatchObject({ complete: true, clean: false });
    expect(report.instances).toEqual([{
      uuid, database: null, problems: [{ kind: 'unknown_instance', detail: 'held on compute-2, but the database has no such instance' }],
      held: [{ host: 'compute-2', name: 'instance-behind-ferry', presence: 'running', power_state: 1, has_disk: true }],
    }]);
  });

  it('logs in as an openstack client would: OS_CLOUD from clouds.yaml, or the OS_* variables, before its own settings', async () => {
    const apiUrl = String(auditEnv.FERRY_PUBLIC_URL);
    // Ferry's own settings point nowhere useful: only the OpenStack credentials can work.
    const own = { ...env, FERRY_ADMIN_PASSWORD: 'not-the-password', FERRY_API_PORT: '1' };
    const fromVariables = await runFerry(['audit'], {
      ...own, OS_AUTH_URL: `${apiUrl}/identity/v3`, OS_USERNAME: 'admin', OS_PASSWORD: 'ferry-admin', OS_PROJECT_NAME: 'admin',
      OS_USER_DOMAIN_NAME: 'Default', OS_PROJECT_DOMAIN_NAME: 'Default',
    });
    expect(fromVariables.stderr).toBe('');
    expect(fromVariables.stdout).toMatch(/2 of 2 compute host\(s\) answered\n$/);

    const clouds = join(state.dir, 'clouds.yaml');
    await writeFile(clouds, [
      'clouds:', '  here:', '    auth:', `      auth_url: ${apiUrl}/identity`, '      username: admin', '      password: ferry-admin',
      '      project_name: admin', '      user_domain_name: Default', '      project_domain_name: Default', '',
    ].join('\n'));
    const fromCloud = await runFerry(['audit', '--json'], { ...own, OS_CLOUD: 'here', OS_CLIENT_CONFIG_FILE: clouds });
    expect(fromCloud.stderr).toBe('');
    expect(JSON.parse(fromCloud.stdout)).toMatchObject({ complete: true });

    const unknown = await runFerry(['audit'], { ...own, OS_CLOUD: 'elsewhere', OS_CLIENT_CONFIG_FILE: clouds });
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/^ferry: OS_CLOUD=elsewhere, but no clouds.yaml names it/);
  });

  it('exits 2 with a message when the admin password is wrong', async () => {
    const res = await runFerry(['audit'], { ...auditEnv, FERRY_ADMIN_PASSWORD: 'not-the-password' });
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/^ferry: login as admin \(FERRY_ADMIN_PASSWORD\): HTTP 401/);
  });
});
