// 406: the client asked for a representation or API microversion Ferry does not offer.
import { FerryError } from './ferry-error';

export class NotAcceptable extends FerryError {
  override readonly code = 'NotAcceptable';
  override readonly httpStatus = 406;
}
