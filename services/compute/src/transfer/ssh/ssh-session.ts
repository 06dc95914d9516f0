// Opens an SFTP session to a destination host's sshd, refusing any host key that is not pinned for it.
import { Client, type ConnectConfig, type ServerHostKeyAlgorithm, type SFTPWrapper } from 'ssh2';
import { HostKeyRejected, TransferCancelled, TransferFailed } from '../errors';
import { hostKeyFromBlob, type PublicHostKey } from './host-key';
import { judgeHostKey, pinOnFirstUse, preferredAlgorithms, rejectionFor } from './host-key-policy';
import { endpointName, type KnownHostsFile } from './known-hosts';

const CLOSE_TIMEOUT_MS = 5000;
/** A connection silent for this many keepalive intervals is dead, which fails the SFTP requests in flight. */
const KEEPALIVE_INTERVAL_MS = 5000;
const KEEPALIVE_COUNT_MAX = 3;

export interface SftpSessionRequest {
  /** The Ferry host name of the destination. */
  readonly host: string;
  readonly address: string;
  readonly port: number;
  readonly username: string;
  readonly privateKey: Buffer | string;
  readonly passphrase?: string;
  readonly knownHosts: KnownHostsFile;
  readonly trustOnFirstUse: boolean;
  readonly connectTimeoutMs: number;
  readonly signal?: AbortSignal;
}

export interface SftpSession {
  readonly sftp: SFTPWrapper;
  /** Ends the SSH connection; resolves once it is closed. */
  close(): Promise<void>;
}

/** The names a destination goes by in known_hosts: its Ferry host name and its endpoint. */
export function destinationNames(host: string, address: string, port: number): string[] {
  return [...new Set([host, endpointName(address, port)])];
}

export async function openSftpSession(req: SftpSessionRequest): Promise<SftpSession> {
  const names = destinationNames(req.host, req.address, req.port);
  const known = await req.knownHosts.entries();
  const target = `${req.host} (${endpointName(req.address, req.port)})`;
  let rejection: HostKeyRejected | undefined;

  /** Accepts a pinned key; pins an unknown one under trust on first use; refuses anything else. */
  const verifyHostKey = async (offered: PublicHostKey): Promise<boolean> => {
    let verdict = judgeHostKey(known, names, offered);
    if (verdict.kind === 'unknown' && req.trustOnFirstUse) verdict = await pinOnFirstUse(req.knownHosts, names, offered);
    if (verdict.kind === 'pinned') return true;
    rejection = rejectionFor(verdict, offered, { host: req.host, names, knownHostsPath: req.knownHosts.path });
    return false;
  };

  const client = new Client();
  let closed = false;
  client.once('close', () => {
    closed = true;
  });
  /** Ends the connection politely; a peer that does not answer within CLOSE_TIMEOUT_MS has its socket destroyed. */
  const close = () =>
    new Promise<void>((resolve) => {
      if (closed) return resolve();
      const timer = setTimeout(() => client.destroy(), CLOSE_TIMEOUT_MS);
      client.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
      client.end();
    });
  return new Promise<SftpSession>((resolve, reject) => {
    let settled = false;
    const settle = (err: Error | undefined, session?: SftpSession) => {
      if (settled) return;
      settled = true;
      req.signal?.removeEventListener('abort', onAbort);
      if (err) {
        client.destroy();
        reject(err);
      } else resolve(session!);
    };
    const onAbort = () => settle(new TransferCancelled(`connection to ${target} was cancelled`, { dest_host: req.host }));
    if (req.signal?.aborted) return onAbort();
    req.signal?.addEventListener('abort', onAbort, { once: true });

    // After the session is handed out, a dropped connection fails the SFTP requests in flight; the error is theirs.
    client.on('error', (err) => settle(rejection ?? TransferFailed.because(`cannot open an SSH session to ${target}`, err, { dest_host: req.host })));
    client.on('close', () => settle(rejection ?? new TransferFailed(`SSH connection to ${target} closed before the session opened`, { dest_host: req.host })));
    client.on('ready', () => {
      client.sftp((err, sftp) => {
        if (err) settle(TransferFailed.because(`${target} refused the SFTP subsystem`, err, { dest_host: req.host }));
        else settle(undefined, { sftp, close });
      });
    });

    const preferred = preferredAlgorithms(known, names) as ServerHostKeyAlgorithm[];
    const config: ConnectConfig = {
      host: req.address,
      port: req.port,
      username: req.username,
      privateKey: req.privateKey,
      ...(req.passphrase !== undefined ? { passphrase: req.passphrase } : {}),
      readyTimeout: req.connectTimeoutMs,
      keepaliveInterval: KEEPALIVE_INTERVAL_MS,
      keepaliveCountMax: KEEPALIVE_COUNT_MAX,
      // remove, then prepend: the keys' order makes the pinned types the client's first choice.
      ...(preferred.length ? { algorithms: { serverHostKey: { remove: preferred, prepend: preferred, append: [] } } } : {}),
      hostVerifier: (key: Buffer, verify: (valid: boolean) => void) => {
        let offered: PublicHostKey;
        try {
          offered = hostKeyFromBlob(key);
        } catch {
          return verify(false);
        }
        verifyHostKey(offered).then(verify, (err: unknown) => {
          settle(TransferFailed.because(`cannot record the host key of ${target}`, err, { dest_host: req.host }));
        });
      },
    };
    try {
      client.connect(config);
    } catch (err) {
      settle(TransferFailed.because(`cannot connect to ${target}`, err, { dest_host: req.host }));
    }
  });
}
