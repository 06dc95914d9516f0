// The transfer a compute uses, from settings: local copies (all hosts on one machine) or SFTP to each destination's sshd.
import { readFileSync } from 'node:fs';
import { homedir, userInfo } from 'node:os';
import { join } from 'node:path';
import type { FerryConfig } from '@ferry/common/config';
import { InvalidInput } from '@ferry/common/domain';
import { LocalTransfer } from './local/local-transfer';
import { SshTransfer } from './ssh/ssh-transfer';
import { knownHostsFileFor, type SshEndpoint } from './ssh/ssh-transfer-options';
import type { Transfer } from './transfer';

export type TransferSettings = Pick<
  FerryConfig, 'transfer' | 'stateDir' | 'sshUser' | 'sshKeyFile' | 'sshPort' | 'sshEndpoints' | 'sshTrustOnFirstUse'
>;

export function createTransfer(config: Readonly<TransferSettings>, host: string): Transfer {
  if (config.transfer === 'local') return new LocalTransfer();
  const endpoints = parseSshEndpoints(config.sshEndpoints ?? '', config.sshPort);
  return new SshTransfer({
    username: config.sshUser ?? userInfo().username,
    privateKey: readPrivateKey(config.sshKeyFile),
    knownHostsFile: knownHostsFileFor(config.stateDir, host),
    trustOnFirstUse: config.sshTrustOnFirstUse,
    endpointOf: (dest) => endpoints.get(dest) ?? { address: dest, port: config.sshPort },
  });
}

/** `host=address[:port],…` → endpoint per host. A malformed entry stops the compute with the entry named. */
export function parseSshEndpoints(raw: string, defaultPort: number): Map<string, SshEndpoint> {
  const out = new Map<string, SshEndpoint>();
  for (const entry of raw.split(',').map((e) => e.trim()).filter(Boolean)) {
    const match = /^([^=\s]+)=([^:\s]+|\[[^\]]+\])(?::(\d{1,5}))?$/.exec(entry);
    const port = match?.[3] === undefined ? defaultPort : Number(match[3]);
    if (!match || port < 1 || port > 65535) throw new InvalidInput(`FERRY_SSH_ENDPOINTS: cannot parse "${entry}" (expected host=address[:port])`);
    out.set(match[1]!, { address: match[2]!.replace(/^\[|\]$/g, ''), port });
  }
  return out;
}

function readPrivateKey(file: string | undefined): Buffer {
  const candidates = file ? [file] : [join(homedir(), '.ssh', 'id_ed25519'), join(homedir(), '.ssh', 'id_rsa')];
  for (const path of candidates) {
    try {
      return readFileSync(path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || file) {
        throw new InvalidInput(`cannot read the SSH transfer's private key ${path}: ${(err as Error).message}`);
      }
    }
  }
  throw new InvalidInput(`FERRY_TRANSFER=ssh needs a private key: set FERRY_SSH_KEY_FILE (looked for ${candidates.join(', ')})`);
}
