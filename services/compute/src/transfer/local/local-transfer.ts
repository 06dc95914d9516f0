// Transfer between two hosts on one machine (all-in-one mode, fake hosts): the destination path is a local path.
import { resolveCopyTuning, type CopyTuning } from '../copy-tuning';
import { copyToDestination } from '../disk-copy';
import type { CopyRequest, CopyResult, Transfer } from '../transfer';
import { LocalDestination } from './local-destination';

export type LocalTransferOptions = Partial<CopyTuning>;

export class LocalTransfer implements Transfer {
  readonly kind = 'local';
  private readonly tuning: CopyTuning;
  private readonly destination = new LocalDestination();

  constructor(opts: LocalTransferOptions = {}) {
    this.tuning = resolveCopyTuning('LocalTransfer', opts);
  }

  copy(req: CopyRequest): Promise<CopyResult> {
    return copyToDestination(this.destination, req, this.tuning);
  }
}
