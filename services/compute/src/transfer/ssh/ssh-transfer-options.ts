// Options of the SSH transfer: how to reach and authenticate to a destination's sshd, and how to pin its key.
import { join } from 'node:path';
import { utils } from 'ssh2';
import { InvalidInput } from '@ferry/common/domain';
import { DEFAULT_COPY_TUNING, resolveCopyTuning, type CopyTuning } from '../copy-tuning';

/** Where a destination host's sshd listens. */
export interface SshEndpoint {
  readonly address: string;
  /** Default 22. */
  readonly port?: number;
}

export interface SshTransferOptions extends Partial<CopyTuning> {
  /** The user to log in as on every destination. */
  readonly username: string;
  /** This host's private key (OpenSSH or PEM text). */
  readonly privateKey: Buffer | string;
  readonly passphrase?: string;
  /** The known_hosts file of this host (see knownHostsFileFor). */
  readonly knownHostsFile: string;
  /**
   * Pin the key a destination offers when nothing is pinned for it yet. Default false: an unpinned key is
   * refused (HostKeyUnknown). A key that differs from a pinned one is refused either way (HostKeyChanged).
   */
  readonly trustOnFirstUse?: boolean;
  /** Where a destination host's sshd listens. Default: the host name itself, port 22. */
  readonly endpointOf?: (host: string) => SshEndpoint;
  /** Time allowed to connect, exchange keys and authenticate. Default 20 s. */
  readonly connectTimeoutMs?: number;
}

export interface ResolvedSshTransferOptions {
  readonly username: string;
  readonly privateKey: Buffer | string;
  readonly passphrase?: string;
  readonly knownHostsFile: string;
  readonly trustOnFirstUse: boolean;
  readonly endpointOf: (host: string) => Required<SshEndpoint>;
  readonly connectTimeoutMs: number;
  readonly tuning: CopyTuning;
}

/** The largest SFTP write: within OpenSSH sftp-server's limit (256 KiB less the request header), in whole 4 KiB pages. */
const SFTP_WRITE_LENGTH = 252 * 1024;

/**
 * Copy tuning over SFTP. A longer write than the server allows is split by the client and its pieces sent one after
 * another, so writes stay within the limit; a read is four of them. Six in flight (1.5 MiB) cover the round trip
 * without overrunning the channel window (2 MiB), beyond which writes only queue in this process's memory.
 */
export const SSH_COPY_TUNING: CopyTuning = Object.freeze({
  ...DEFAULT_COPY_TUNING,
  readLength: 4 * SFTP_WRITE_LENGTH,
  maxWriteLength: SFTP_WRITE_LENGTH,
  writeConcurrency: 6,
});

/** The known_hosts file of a host: under the host's state dir, next to its instances. */
export function knownHostsFileFor(stateDir: string, host: string): string {
  return join(stateDir, 'hosts', host, 'known_hosts');
}

export function resolveSshTransferOptions(opts: SshTransferOptions): ResolvedSshTransferOptions {
  const fail = (message: string): never => {
    throw new InvalidInput(`SshTransfer: ${message}`);
  };
  if (!opts.username) fail('option username is required');
  if (!opts.knownHostsFile) fail('option knownHostsFile is required (the host key store; see knownHostsFileFor)');
  const parsed = utils.parseKey(opts.privateKey, opts.passphrase);
  if (parsed instanceof Error) fail(`option privateKey is not a usable private key: ${parsed.message}`);
  const connectTimeoutMs = opts.connectTimeoutMs ?? 20_000;
  if (!Number.isSafeInteger(connectTimeoutMs) || connectTimeoutMs < 1) fail(`option connectTimeoutMs must be a positive integer, got ${connectTimeoutMs}`);
  const endpointOf = opts.endpointOf ?? ((host: string): SshEndpoint => ({ address: host }));
  return {
    username: opts.username,
    privateKey: opts.privateKey,
    ...(opts.passphrase !== undefined ? { passphrase: opts.passphrase } : {}),
    knownHostsFile: opts.knownHostsFile,
    trustOnFirstUse: opts.trustOnFirstUse ?? false,
    endpointOf: (host) => {
      const e = endpointOf(host);
      return { address: e.address, port: e.port ?? 22 };
    },
    connectTimeoutMs,
    tuning: resolveCopyTuning('SshTransfer', opts, SSH_COPY_TUNING),
  };
}
