// Identity and policy failures: who the caller is (401) and what they may do (403).
import { FerryError } from './ferry-error';

export class NotAuthenticated extends FerryError {
  override readonly code = 'NotAuthenticated';
  override readonly httpStatus = 401;
}

export class Forbidden extends FerryError {
  override readonly code = 'Forbidden';
  override readonly httpStatus = 403;
}
