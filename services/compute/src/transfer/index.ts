// The transfer layer: moves a disk file to another host, whole (pass 1) or by changed ranges (pass 2).
export type { CopyRequest, CopyResult, Transfer } from './transfer';
export type { TransferProgress, ProgressListener } from './progress';
export { DEFAULT_COPY_TUNING, resolveCopyTuning, type CopyTuning } from './copy-tuning';
export { partPathFor } from './destination';
export { allocatedRanges } from './allocated-ranges';
export { alignRanges, clampRanges, normalizeRanges, rangesFromBlocks, splitRanges, totalLength, type ByteRange } from './byte-ranges';
export * from './errors';
export { LocalTransfer, type LocalTransferOptions } from './local/local-transfer';
export { SshTransfer } from './ssh/ssh-transfer';
export {
  knownHostsFileFor, SSH_COPY_TUNING, type SshEndpoint, type SshTransferOptions,
} from './ssh/ssh-transfer-options';
export { fingerprintOf, hostKeyFromBlob, type PublicHostKey } from './ssh/host-key';
export { endpointName, KnownHostsFile, knownHostsLine, parseKnownHosts, type KnownHost } from './ssh/known-hosts';
export { createTransfer, parseSshEndpoints, type TransferSettings } from './create-transfer';
