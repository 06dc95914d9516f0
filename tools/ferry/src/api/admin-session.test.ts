import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '@ferry/common/config';
import { UsageError } from '../commands/service';
import { resolveCredentials } from './admin-session';

describe('the credentials a ferry command logs in with', () => {
  const config = loadConfig({ FERRY_ADMIN_PASSWORD: 'from-settings', FERRY_PUBLIC_URL: 'http://ferry.example:8774/' });
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'ferry-creds-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("falls back to the seeded admin on Ferry's own API", async () => {
    expect(await resolveCredentials(config, {}, dir)).toEqual({
      authUrl: 'http://ferry.example:8774/identity', username: 'admin', password: 'from-settings', projectName: 'admin',
      userDomainName: 'Default', projectDomainName: 'Default', interface: 'public', source: 'FERRY_ADMIN_PASSWORD',
    });
  });

  it('takes the OS_* variables over the settings, with Default domains and the user as project unless given', async () => {
    expect(await resolveCredentials(config, { OS_AUTH_URL: 'http://k/identity/v3', OS_USERNAME: 'ops', OS_PASSWORD: 'pw' }, dir)).toEqual({
      authUrl: 'http://k/identity/v3', username: 'ops', password: 'pw', projectName: 'ops', userDomainName: 'Default', projectDomainName: 'Default',
      interface: 'public', source: 'the OS_* variables',
    });
    expect(await resolveCredentials(config, { OS_AUTH_URL: 'http://k', OS_USERNAME: 'ops', OS_PASSWORD: 'pw', OS_INTERFACE: 'internal', OS_REGION_NAME: 'R2' }, dir))
      .toMatchObject({ interface: 'internal', region: 'R2' });
    await expect(resolveCredentials(config, { OS_AUTH_URL: 'http://k' }, dir)).rejects.toThrow(new UsageError('OS_AUTH_URL is set but OS_USERNAME and OS_PASSWORD are not'));
  });

  it("takes OS_CLOUD's entry from the first clouds.yaml that names it, over the OS_* variables", async () => {
    writeFileSync(join(dir, 'clouds.yaml'), 'clouds:\n  other:\n    auth: {auth_url: http://x, username: u, password: p}\n');
    const file = join(dir, 'mine.yaml');
    writeFileSync(file, 'clouds:\n  ops:\n    region_name: R1\n    auth:\n      auth_url: http://k/identity\n      username: ops\n      password: pw\n      project_name: infra\n      user_domain_name: Corp\n');
    expect(await resolveCredentials(config, { OS_CLOUD: 'ops', OS_CLIENT_CONFIG_FILE: file, OS_AUTH_URL: 'http://ignored' }, dir)).toEqual({
      authUrl: 'http://k/identity', username: 'ops', password: 'pw', projectName: 'infra', userDomainName: 'Corp', projectDomainName: 'Default',
      interface: 'public', region: 'R1', source: `cloud ops of ${file}`,
    });
    expect((await resolveCredentials(config, { OS_CLOUD: 'other' }, dir)).source).toBe(`cloud other of ${join(dir, 'clouds.yaml')}`);
    await expect(resolveCredentials(config, { OS_CLOUD: 'nowhere' }, dir)).rejects.toThrow(/OS_CLOUD=nowhere, but no clouds.yaml names it/);
    writeFileSync(join(dir, 'clouds.yaml'), 'clouds:\n  half:\n    auth: {auth_url: http://x}\n');
    await expect(resolveCredentials(config, { OS_CLOUD: 'half' }, dir)).rejects.toThrow(/needs auth_url, username and password/);
  });
});
