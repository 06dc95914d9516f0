// A status write that the state tables do not allow: always a bug in the caller, never bad user input.
import { FerryError } from './ferry-error';

export class InvalidTransition extends FerryError {
  override readonly code = 'InvalidTransition';
  override readonly httpStatus = 500;
}
