// The stock openstack CLI against `ferry up`, configured by the repository's own clouds.yaml (port swapped).
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from '../../support/cloud';
import { startFerry, tempStateDir, type FerryProcess } from '../../support/ferry-process';

const execFileAsync = promisify(execFile);
const REPO_CLOUDS_YAML = resolve(__dirname, '../../../clouds.yaml');

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

describe('openstack CLI against Ferry identity', () => {
  let ferry: FerryProcess;
  let state: { dir: string; remove(): void };
  let url: string;

  beforeAll(async () => {
    state = tempStateDir();
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    const yaml = readFileSync(REPO_CLOUDS_YAML, 'utf8');
    expect(yaml).toContain('http://127.0.0.1:8774/identity');
    // Run the CLI where this file is: os-client-config reads ./clouds.yaml, as it does in the repository.
    writeFileSync(join(state.dir, 'clouds.yaml'), yaml.replaceAll('http://127.0.0.1:8774/', `${url}/`));
    ferry = startFerry(['up'], {
      FERRY_STATE_DIR: join(state.dir, 'ferry'), FERRY_API_PORT: String(port), FERRY_DATABASE_URL: '', FERRY_TRANSPORT_URL: '',
      FERRY_ADMIN_PASSWORD: '', FERRY_DEMO_PASSWORD: '', FERRY_PUBLIC_URL: '', FERRY_UP_COMPUTES: '1',
    });
    await ferry.waitFor(/Ctrl-C/, 90_000);
  }, 120_000);

  afterAll(async () => {
    await ferry?.stop();
    state?.remove();
  });

  /** The CLI with nothing from this machine's environment but PATH: no OS_* variables, no ~/.config/openstack. */
  async function openstack(args: string[]): Promise<CliResult> {
    try {
      const { stdout, stderr } = await execFileAsync('openstack', args, {
        cwd: state.dir, env: { PATH: process.env.PATH, HOME: state.dir, LANG: 'C.UTF-8' }, timeout: 60_000,
      });
      return { code: 0, stdout, stderr };
    } catch (err) {
      const e = err as { code?: number; stdout?: string; stderr?: string };
      return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? String(err) };
    }
  }
  async function openstackJson<T>(args: string[]): Promise<T> {
    const res = await openstack([...args, '-f', 'json']);
    if (res.code !== 0) throw new Error(`openstack ${args.join(' ')} exited ${res.code}: ${res.stderr}`);
    return JSON.parse(res.stdout) as T;
  }

  it('issues an admin token: openstack --os-cloud ferry-admin token issue -f json', async () => {
    const token = await openstackJson<{ id: string; project_id: string; user_id: string; expires: string }>(['--os-cloud', 'ferry-admin', 'token', 'issue']);
    expect(token.id).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(token.project_id).toMatch(/^[0-9a-f]{32}$/);
    expect(token.user_id).toMatch(/^[0-9a-f]{32}$/);
    expect(Date.parse(token.expires)).toBeGreaterThan(Date.now());
  }, 60_000);

  it('lists the catalog: openstack --os-cloud ferry-admin catalog list -f json', async () => {
    const catalog = await openstackJson<{ Name: string; Type: string; Endpoints: { interface: string; region: string; url: string }[] }[]>(
      ['--os-cloud', 'ferry-admin', 'catalog', 'list'],
    );
    expect(catalog.map((s) => [s.Type, s.Name]).sort()).toEqual([['compute', 'nova'], ['identity', 'keystone'], ['image', 'glance']]);
    const publicUrls = Object.fromEntries(catalog.map((s) => [s.Type, s.Endpoints.find((e) => e.interface === 'public')!.url]));
    expect(publicUrls).toEqual({ identity: `${url}/identity/v3`, compute: `${url}/compute/v2.1`, image: `${url}/image` });
    for (const s of catalog) expect(s.Endpoints.map((e) => e.region)).toEqual(['RegionOne', 'RegionOne', 'RegionOne']);
  }, 60_000);

  it('issues a demo token for another project: openstack --os-cloud ferry-demo token issue', async () => {
    const res = await openstack(['--os-cloud', 'ferry-demo', 'token', 'issue']);
    expect(res.code).toBe(0);
    expect(res.stdout).toMatch(/\| project_id\s+\| [0-9a-f]{32}\s+\|/);
    const demo = /\| project_id\s+\| ([0-9a-f]{32})/.exec(res.stdout)![1];
    const admin = await openstackJson<{ project_id: string }>(['--os-cloud', 'ferry-admin', 'token', 'issue']);
    expect(demo).not.toBe(admin.project_id);
  }, 60_000);

  it('fails with a wrong password', async () => {
    const res = await openstack(['--os-cloud', 'ferry-demo', '--os-password', 'not-the-password', 'token', 'issue']);
    expect(res.code).not.toBe(0);
    expect(res.stderr).toMatch(/401|authentication/i);
  }, 60_000);

  it('resolves projects by name, and lists only their own to a member', async () => {
    const all = await openstackJson<{ Name: string }[]>(['--os-cloud', 'ferry-admin', 'project', 'list']);
    expect(all.map((p) => p.Name)).toEqual(['admin', 'demo']);
    const own = await openstackJson<{ Name: string }[]>(['--os-cloud', 'ferry-demo', 'project', 'list']);
    expect(own.map((p) => p.Name)).toEqual(['demo']);
    const shown = await openstackJson<{ name: string; domain_id: string }>(['--os-cloud', 'ferry-admin', 'project', 'show', 'demo']);
    expect(shown).toMatchObject({ name: 'demo', domain_id: 'default' });
  }, 60_000);

  it('revokes a token: openstack token revoke', async () => {
    const { id } = await openstackJson<{ id: string }>(['--os-cloud', 'ferry-demo', 'token', 'issue']);
    expect((await openstack(['--os-cloud', 'ferry-demo', 'token', 'revoke', id])).code).toBe(0);
    const again = await openstack(['--os-cloud', 'ferry-admin', 'token', 'revoke', id]);
    expect(again.code).not.toBe(0);
    expect(again.stderr).toMatch(/404/);
  }, 60_000);
});
