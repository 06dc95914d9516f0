// SshTransfer against the transfer conformance suite, through a real OpenSSH sshd on loopback.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { knownHostsFileFor, SshTransfer } from '@ferry/compute/transfer';
import { startSshd } from '../../support/sshd';
import { transferConformance } from './conformance';

transferConformance('ssh', async () => {
  const sshd = await startSshd();
  const stateDir = await mkdtemp(join(tmpdir(), 'ferry-transfer-state-'));
  const knownHostsFile = knownHostsFileFor(stateDir, 'compute-1');
  await mkdir(dirname(knownHostsFile), { recursive: true });
  await writeFile(knownHostsFile, `${sshd.knownHostsLine('compute-2')}\n`);
  return {
    destHost: 'compute-2',
    make: (tuning = {}) =>
      new SshTransfer({
        ...tuning,
        username: sshd.username,
        privateKey: sshd.clientPrivateKey,
        knownHostsFile,
        endpointOf: () => ({ address: sshd.address, port: sshd.port }),
      }),
    cleanup: async () => {
      await sshd.stop();
      await rm(stateDir, { recursive: true, force: true });
    },
  };
});

