// SshTransfer's host key pinning against a real sshd: unknown and changed keys are refused, trust on first use pins.
import { execFile } from 'node:child_process';
import { access, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { knownHostsFileFor, SshTransfer, type SshTransferOptions } from '@ferry/compute/transfer';
import { SSH_KEYGEN, startSshd, type Sshd } from '../../support/sshd';
import { makeSparseDisk, MIB, sha256File } from './fixtures';

const run = promisify(execFile);
const exists = (path: string) => access(path).then(() => true, () => false);

describe('SSH host key pinning', () => {
  let sshd: Sshd;
  let dir: string;
  let knownHostsFile: string;
  let source: string;
  let dest: string;
  const transfer = (opts: Partial<SshTransferOptions> = {}) =>
    new SshTransfer({
      username: sshd.username,
      privateKey: sshd.clientPrivateKey,
      knownHostsFile,
      endpointOf: () => ({ address: sshd.address, port: sshd.port }),
      ...opts,
    });
  const copy = (t: SshTransfer) => t.copy({ source, dest: { host: 'compute-2', path: dest } });
  const pin = async (line: string) => {
    await mkdir(dirname(knownHostsFile), { recursive: true });
    await writeFile(knownHostsFile, `${line}\n`);
  };

  beforeAll(async () => {
    sshd = await startSshd();
  });
  afterAll(async () => {
    await sshd?.stop();
  });
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ferry-host-keys-'));
    knownHostsFile = knownHostsFileFor(join(dir, 'state'), 'compute-1');
    source = join(dir, 'disk');
    dest = join(dir, 'dest', 'disk');
    await makeSparseDisk(source, 8 * MIB, [{ offset: MIB, length: 64 * 1024 }]);
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('refuses an unknown key by default, naming the host and the offered fingerprint', async () => {
    const err = await copy(transfer()).catch((e: unknown) => e);
    expect(err).toMatchObject({
      code: 'HostKeyUnknown',
      details: { host: 'compute-2', fingerprint: sshd.hostKey.fingerprint, known_hosts: knownHostsFile },
    });
    expect((err as Error).message).toContain(sshd.hostKey.fingerprint);
    expect((err as Error).message).toContain(`${knownHostsFile}: compute-2,[127.0.0.1]:${sshd.port} ${sshd.hostKey.type} ${sshd.hostKey.base64}`);
    expect(await exists(knownHostsFile)).toBe(false);
    expect(await exists(join(dir, 'dest'))).toBe(false);
  });

  it('with trust on first use, pins the key it first sees, then accepts it without', async () => {
    await copy(transfer({ trustOnFirstUse: true }));
    expect(await readFile(knownHostsFile, 'utf8')).toBe(`${sshd.knownHostsLine('compute-2', `[127.0.0.1]:${sshd.port}`)}\n`);
    await rm(dest);
    await copy(transfer());
    expect(await sha256File(dest)).toBe(await sha256File(source));
  });

  it('refuses a changed key, even with trust on first use', async () => {
    const line = sshd.knownHostsLine('compute-2');
    await pin(line);
    const pinned = sshd.hostKey.fingerprint;
    await sshd.replaceHostKey();
    const err = await copy(transfer({ trustOnFirstUse: true })).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'HostKeyChanged', details: { host: 'compute-2', fingerprint: sshd.hostKey.fingerprint, pinned: [{ fingerprint: pinned, line: 1 }] } });
    expect((err as Error).message).toMatch(/^Host key for compute-2 .* changed/);
    expect(await exists(join(dir, 'dest'))).toBe(false);
    expect(await readFile(knownHostsFile, 'utf8')).toBe(`${line}\n`);
  });

  it('refuses a host that offers a key of another type than the one pinned', async () => {
    await run(SSH_KEYGEN, ['-q', '-t', 'rsa', '-b', '2048', '-N', '', '-f', join(dir, 'rsa')]);
    const [type, base64] = (await readFile(join(dir, 'rsa.pub'), 'utf8')).split(' ');
    await pin(`compute-2 ${type} ${base64}`);
    await expect(copy(transfer())).rejects.toMatchObject({ code: 'HostKeyChanged', details: { key_type: 'ssh-ed25519', pinned: [{ key_type: 'ssh-rsa' }] } });
  });

  it('accepts a key pinned the OpenSSH way: under the endpoint, and hashed by ssh-keygen -H', async () => {
    await pin(sshd.knownHostsLine());
    await copy(transfer());
    await run(SSH_KEYGEN, ['-H', '-f', knownHostsFile]);
    expect(await readFile(knownHostsFile, 'utf8')).toMatch(/^\|1\|/);
    await copy(transfer());
    expect(await sha256File(dest)).toBe(await sha256File(source));
  });

  it('refuses a key pinned for another host', async () => {
    await pin(sshd.knownHostsLine('compute-3'));
    await expect(copy(transfer())).rejects.toMatchObject({ code: 'HostKeyUnknown' });
  });

  it('fails with TransferFailed when the destination refuses the client key', async () => {
    await pin(sshd.knownHostsLine('compute-2'));
    await run(SSH_KEYGEN, ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'stranger')]);
    await expect(copy(transfer({ privateKey: await readFile(join(dir, 'stranger')) }))).rejects.toMatchObject({ code: 'TransferFailed' });
  });

  it('fails with TransferFailed when nothing listens at the endpoint', async () => {
    await pin(sshd.knownHostsLine('compute-2'));
    const t = transfer({ endpointOf: () => ({ address: '127.0.0.1', port: 1 }) });
    await expect(copy(t)).rejects.toMatchObject({ code: 'TransferFailed', details: { dest_host: 'compute-2' } });
  });
});
