// Failures to find or validate a destination for a move; both are answered 400 at the API, as Nova does.
import { FerryError } from './ferry-error';

export class NoValidHost extends FerryError {
  override readonly code = 'NoValidHost';
  override readonly httpStatus = 400;
  static because(reason: string): NoValidHost {
    return new NoValidHost(`No valid host was found. ${reason}`.trim(), { reason });
  }
}

/** A destination or source check before a move failed (capacity, CPU, storage, capabilities). */
export class MigrationPreCheckError extends FerryError {
  override readonly code = 'MigrationPreCheckError';
  override readonly httpStatus = 400;
  static because(reason: string, details?: Record<string, unknown>): MigrationPreCheckError {
    return new MigrationPreCheckError(`Migration pre-check error: ${reason}`, { reason, ...details });
  }
}
