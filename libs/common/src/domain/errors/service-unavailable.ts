// 503: a dependency Ferry needs is down right now (broker, database). Never used for bad input.
import { FerryError } from './ferry-error';

export class ServiceUnavailable extends FerryError {
  override readonly code = 'ServiceUnavailable';
  override readonly httpStatus = 503;
  override readonly retryable = true;
}
