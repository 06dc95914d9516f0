import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hostKeyFromBlob, type PublicHostKey } from './host-key';
import { judgeHostKey, pinOnFirstUse, preferredAlgorithms, rejectionFor } from './host-key-policy';
import { KnownHostsFile, parseKnownHosts } from './known-hosts';

function key(type: string, fill: number): PublicHostKey {
  const name = Buffer.from(type);
  const blob = Buffer.alloc(4 + name.length + 4 + 32, fill);
  blob.writeUInt32BE(name.length, 0);
  name.copy(blob, 4);
  blob.writeUInt32BE(32, 4 + name.length);
  return hostKeyFromBlob(blob);
}
const line = (hosts: string, k: PublicHostKey) => `${hosts} ${k.type} ${k.blob.toString('base64')}`;

const A = key('ssh-ed25519', 1);
const B = key('ssh-ed25519', 2);
const RSA = key('ssh-rsa', 3);
const NAMES = ['compute-2', '[10.0.0.2]:2222'];
const CTX = { host: 'compute-2', names: NAMES, knownHostsPath: '/state/hosts/compute-1/known_hosts' };

describe('host key policy', () => {
  it('accepts the key pinned under the host name or the endpoint', () => {
    expect(judgeHostKey(parseKnownHosts(line('compute-2', A)), NAMES, A)).toEqual({ kind: 'pinned' });
    expect(judgeHostKey(parseKnownHosts(line('[10.0.0.2]:2222', A)), NAMES, A)).toEqual({ kind: 'pinned' });
  });

  it('calls a host with no pin unknown, whatever other hosts pin', () => {
    expect(judgeHostKey(parseKnownHosts(line('compute-3', A)), NAMES, A)).toEqual({ kind: 'unknown' });
    expect(judgeHostKey([], NAMES, A)).toEqual({ kind: 'unknown' });
  });

  it('calls any other key changed, even one of another type', () => {
    const known = parseKnownHosts(line('compute-2', A));
    expect(judgeHostKey(known, NAMES, B)).toMatchObject({ kind: 'changed', pinned: [{ line: 1 }] });
    expect(judgeHostKey(known, NAMES, RSA)).toMatchObject({ kind: 'changed' });
  });

  it('accepts any of several pinned keys (one per type)', () => {
    const known = parseKnownHosts([line('compute-2', A), line('compute-2', RSA)].join('\n'));
    expect(judgeHostKey(known, NAMES, RSA)).toEqual({ kind: 'pinned' });
  });

  it('refuses a revoked key even where it is pinned', () => {
    const known = parseKnownHosts([line('compute-2', A), `@revoked ${line('*', A)}`].join('\n'));
    expect(judgeHostKey(known, NAMES, A)).toMatchObject({ kind: 'revoked', entry: { line: 2 } });
  });

  it('asks first for the algorithms of the pinned key types', () => {
    const known = parseKnownHosts([line('compute-2', RSA), line('compute-2', A), line('compute-3', key('ecdsa-sha2-nistp256', 4))].join('\n'));
    expect(preferredAlgorithms(known, NAMES)).toEqual(['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa', 'ssh-ed25519']);
    expect(preferredAlgorithms([], NAMES)).toEqual([]);
  });

  it('words an unknown key with the host, the fingerprint and the line to pin', () => {
    const err = rejectionFor({ kind: 'unknown' }, A, CTX);
    expect(err.code).toBe('HostKeyUnknown');
    expect(err.message).toContain('compute-2 ([10.0.0.2]:2222)');
    expect(err.message).toContain(`${CTX.knownHostsPath}: ${line('compute-2,[10.0.0.2]:2222', A)}`);
    expect(err.details).toMatchObject({ host: 'compute-2', key_type: 'ssh-ed25519', fingerprint: expect.stringMatching(/^SHA256:/) });
  });

  it('words a changed key with both fingerprints', () => {
    const known = parseKnownHosts(line('compute-2', A));
    const verdict = judgeHostKey(known, NAMES, B);
    if (verdict.kind !== 'changed') throw new Error(`expected changed, got ${verdict.kind}`);
    const err = rejectionFor(verdict, B, CTX);
    expect(err.code).toBe('HostKeyChanged');
    expect(err.message).toMatch(/^Host key for compute-2 .* changed/);
    expect(err.details).toMatchObject({ pinned: [{ line: 1, key_type: 'ssh-ed25519' }] });
  });
});

describe('trust on first use', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ferry-tofu-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('pins only the first of two concurrent first connections offering different keys; the other is a changed key', async () => {
    const file = new KnownHostsFile(join(dir, 'known_hosts'));
    const verdicts = await Promise.all([pinOnFirstUse(file, NAMES, A), pinOnFirstUse(file, NAMES, B)]);
    expect(verdicts[0]).toEqual({ kind: 'pinned' });
    expect(verdicts[1]).toMatchObject({ kind: 'changed' });
    const pinned = parseKnownHosts(await readFile(file.path, 'utf8'));
    expect(pinned).toHaveLength(1);
    expect(judgeHostKey(pinned, NAMES, A)).toEqual({ kind: 'pinned' });
  });

  it('pins a key offered by many first connections at once a single time', async () => {
    const file = new KnownHostsFile(join(dir, 'known_hosts'));
    const verdicts = await Promise.all(Array.from({ length: 8 }, () => pinOnFirstUse(file, NAMES, A)));
    expect(verdicts.every((v) => v.kind === 'pinned')).toBe(true);
    expect(parseKnownHosts(await readFile(file.path, 'utf8'))).toHaveLength(1);
  });
});
