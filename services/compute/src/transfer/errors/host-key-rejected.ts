// The destination's SSH host key does not match what this host has pinned for it: no bytes are sent.
import { FerryError } from '@ferry/common/domain';

/** The family: an SSH host key Ferry refused. Never retryable: someone must verify the key and pin it. */
export class HostKeyRejected extends FerryError {
  override readonly code: string = 'HostKeyRejected';
  override readonly httpStatus = 502;
}

/** Nothing is pinned for the host and trust on first use is off. */
export class HostKeyUnknown extends HostKeyRejected {
  override readonly code = 'HostKeyUnknown';
}

/** The host offered a key other than the one pinned for it (a reinstalled host, or someone in the middle). */
export class HostKeyChanged extends HostKeyRejected {
  override readonly code = 'HostKeyChanged';
}
