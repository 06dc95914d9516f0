import { generateKeyPairSync } from 'node:crypto';
import { knownHostsFileFor, resolveSshTransferOptions, SSH_COPY_TUNING } from './ssh-transfer-options';

const privateKey = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey.export({ type: 'sec1', format: 'pem' }).toString();
const base = { username: 'ferry', privateKey, knownHostsFile: '/state/hosts/compute-1/known_hosts' };

describe('SSH transfer options', () => {
  it('defaults to refusing unknown keys, port 22 and the SFTP tuning', () => {
    const o = resolveSshTransferOptions(base);
    expect(o.trustOnFirstUse).toBe(false);
    expect(o.endpointOf('compute-2')).toEqual({ address: 'compute-2', port: 22 });
    expect(o.tuning).toEqual(SSH_COPY_TUNING);
  });

  it('keeps the SFTP write length within OpenSSH sftp-server limits', () => {
    expect(SSH_COPY_TUNING.maxWriteLength).toBeLessThanOrEqual(256 * 1024 - 1024);
  });

  it.each([
    [{ username: '' }, 'username'],
    [{ knownHostsFile: '' }, 'knownHostsFile'],
    [{ privateKey: 'not a key' }, 'privateKey'],
    [{ connectTimeoutMs: 0 }, 'connectTimeoutMs'],
    [{ writeConcurrency: 0 }, 'writeConcurrency'],
  ])('refuses %p, naming the option', (bad, name) => {
    expect(() => resolveSshTransferOptions({ ...base, ...bad })).toThrow(expect.objectContaining({ code: 'InvalidInput', message: expect.stringContaining(name) }));
  });

  it('keeps a host\'s known_hosts under its state dir', () => {
    expect(knownHostsFileFor('/var/lib/ferry', 'compute-1')).toBe('/var/lib/ferry/hosts/compute-1/known_hosts');
  });
});
