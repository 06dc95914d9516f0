import { hostKeyFromBlob, type PublicHostKey } from './host-key';
import { judgeHostKey, preferredAlgorithms, rejectionFor } from './host-key-policy';
import { parseKnownHosts } from './known-hosts';

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
