// Transfer to another host over SSH: ssh2 to the destination's sshd (host key pinned), bytes written over SFTP.
import { access, constants } from 'node:fs/promises';
import { copyToDestination, throwIfCancelled } from '../disk-copy';
import { TransferFailed } from '../errors';
import type { CopyRequest, CopyResult, Transfer } from '../transfer';
import { KnownHostsFile } from './known-hosts';
import { SftpDestination } from './sftp-destination';
import { openSftpSession } from './ssh-session';
import { resolveSshTransferOptions, type ResolvedSshTransferOptions, type SshTransferOptions } from './ssh-transfer-options';

/**
 * Why SFTP rather than a remote command (`cat`, `dd`): positional writes, truncate, rename and unlink are
 * protocol requests, so a sparse pass 1 writes only data extents into a part file and renames it, and pass 2
 * patches ranges in place, all over one channel and with nothing installed on the destination but sshd's own
 * sftp-server. Several pipelined writes keep the link busy; throughput matches `scp`, which uses SFTP too.
 */
export class SshTransfer implements Transfer {
  readonly kind = 'ssh';
  private readonly opts: ResolvedSshTransferOptions;
  private readonly knownHosts: KnownHostsFile;

  constructor(opts: SshTransferOptions) {
    this.opts = resolveSshTransferOptions(opts);
    this.knownHosts = new KnownHostsFile(this.opts.knownHostsFile);
  }

  async copy(req: CopyRequest): Promise<CopyResult> {
    throwIfCancelled(req);
    // A missing source fails here, before a connection is made for nothing.
    await access(req.source, constants.R_OK).catch((err: unknown) => {
      throw TransferFailed.because(`cannot read ${req.source}`, err, { source: req.source });
    });
    const { address, port } = this.opts.endpointOf(req.dest.host);
    const session = await openSftpSession({
      host: req.dest.host, address, port,
      username: this.opts.username,
      privateKey: this.opts.privateKey,
      ...(this.opts.passphrase !== undefined ? { passphrase: this.opts.passphrase } : {}),
      knownHosts: this.knownHosts,
      trustOnFirstUse: this.opts.trustOnFirstUse,
      connectTimeoutMs: this.opts.connectTimeoutMs,
      ...(req.signal ? { signal: req.signal } : {}),
    });
    try {
      return await copyToDestination(new SftpDestination(session.sftp), req, this.opts.tuning);
    } finally {
      await session.close();
    }
  }
}
