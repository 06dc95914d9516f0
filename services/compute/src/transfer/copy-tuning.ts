// How a copy reads, scans, writes and reports: options every Transfer accepts, validated when it is built.
import { InvalidInput } from '@ferry/common/domain';

export interface CopyTuning {
  /** Bytes read from the source at a time. */
  readonly readLength: number;
  /** Granularity of hole detection: an all-zero block this large is not written by a whole-file copy. */
  readonly blockSize: number;
  /** Writes in flight at once at the destination. */
  readonly writeConcurrency: number;
  /** Largest single write at the destination. */
  readonly maxWriteLength: number;
  /** Least time between two progress reports. */
  readonly progressIntervalMs: number;
  /** Flush the destination file to stable storage before it is renamed into place (or, for ranges, closed). */
  readonly sync: boolean;
}

export const DEFAULT_COPY_TUNING: CopyTuning = Object.freeze({
  readLength: 1024 * 1024,
  blockSize: 4096,
  writeConcurrency: 4,
  maxWriteLength: 1024 * 1024,
  progressIntervalMs: 500,
  sync: true,
});

const MAX_LENGTH = 64 * 1024 * 1024;

/** defaults overlaid with the tuning options that are set (other keys of opts are ignored); throws InvalidInput naming `owner` and the bad option. */
export function resolveCopyTuning(owner: string, opts: Partial<CopyTuning>, defaults: CopyTuning = DEFAULT_COPY_TUNING): CopyTuning {
  const t = { ...defaults };
  for (const name of Object.keys(defaults) as (keyof CopyTuning)[]) {
    if (opts[name] !== undefined) Object.assign(t, { [name]: opts[name] });
  }
  const fail = (name: keyof CopyTuning, expected: string) => {
    throw new InvalidInput(`${owner}: option ${name} must be ${expected}, got ${JSON.stringify(t[name])}`);
  };
  const inRange = (n: number, min: number, max: number) => Number.isSafeInteger(n) && n >= min && n <= max;
  if (!inRange(t.readLength, 1, MAX_LENGTH)) fail('readLength', `an integer from 1 to ${MAX_LENGTH}`);
  if (!inRange(t.blockSize, 512, t.readLength) || t.readLength % t.blockSize !== 0) fail('blockSize', 'an integer from 512 that divides readLength');
  if (!inRange(t.writeConcurrency, 1, 1024)) fail('writeConcurrency', 'an integer from 1 to 1024');
  if (!inRange(t.maxWriteLength, 1, MAX_LENGTH)) fail('maxWriteLength', `an integer from 1 to ${MAX_LENGTH}`);
  if (!inRange(t.progressIntervalMs, 0, 3_600_000)) fail('progressIntervalMs', 'an integer number of milliseconds from 0 to 3600000');
  if (typeof t.sync !== 'boolean') fail('sync', 'true or false');
  return t;
}
