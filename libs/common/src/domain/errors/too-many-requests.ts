// 429: the caller is sending more than Ferry accepts from it right now (failed logins); it may retry later.
import { FerryError } from './ferry-error';

export class TooManyRequests extends FerryError {
  override readonly code = 'TooManyRequests';
  override readonly httpStatus = 429;
  override readonly retryable = true;
}
