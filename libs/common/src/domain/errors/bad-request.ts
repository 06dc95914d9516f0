// 400s: the request itself is wrong and repeating it unchanged cannot succeed.
import { FerryError } from './ferry-error';

export class BadRequest extends FerryError {
  override readonly code: string = 'BadRequest';
  override readonly httpStatus = 400;
}

/** A value in the request is malformed or out of range (Nova's InvalidInput). */
export class InvalidInput extends BadRequest {
  override readonly code = 'InvalidInput';
}
