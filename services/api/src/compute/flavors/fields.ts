// Turns a validated POST /flavors body into a new flavor's columns, with Nova's messages for bad numbers
// (which it accepts as integers or digit strings) and its rules: ram and vcpus >= 1, sizes >= 0.
import { randomUUID } from 'node:crypto';
import { BadRequest } from '@ferry/common/domain';
import { versionIn, type ApiVersion } from '../../http/microversion';
import { parseStrictBool } from '../common/request-params';
import type { FlavorCreate } from './schemas';

const MAX_INT = 0x7fffffff;
/** Largest single-precision float (the rxtx_factor column is a real). */
const MAX_FLOAT = 3.40282e38;
const ID_PATTERN = /^(?! )[a-zA-Z0-9. _-]+(?<! )$/;

export interface NewFlavor {
  flavorid: string;
  name: string;
  memory_mb: number;
  vcpus: number;
  root_gb: number;
  ephemeral_gb: number;
  swap: number;
  rxtx_factor: number;
  is_public: boolean;
  description: string | null;
}

function shown(value: unknown): string {
  return typeof value === 'string' ? `'${value}'` : JSON.stringify(value);
}

function invalid(field: string, value: unknown, problem: string): BadRequest {
  return new BadRequest(`Invalid input for field/attribute ${field}. Value: ${String(value)}. ${shown(value)} ${problem}`);
}

/** Nova's flavor_param_* schema plus utils.validate_integer: an integer or a digit string within [min, 2^31-1]. */
export function flavorInteger(field: string, label: string, value: unknown, min: number): number {
  if (typeof value === 'string') {
    if (!/^[0-9]+$/.test(value)) throw invalid(field, value, "does not match '^[0-9]+$'");
    const n = Number(value);
    if (n < min) throw new BadRequest(`Invalid input received: ${label} must be >= ${min}`);
    if (n > MAX_INT) throw new BadRequest(`Invalid input received: ${label} must be <= ${MAX_INT}`);
    return n;
  }
  if (typeof value !== 'number' || !Number.isInteger(value)) throw invalid(field, value, "is not of type 'integer', 'string'");
  if (value < min) throw invalid(field, value, `is less than the minimum of ${min}`);
  if (value > MAX_INT) throw invalid(field, value, `is greater than the maximum of ${MAX_INT}`);
  return value;
}

/** A positive float, as a number or a decimal string. */
export function rxtxFactor(value: unknown): number {
  if (typeof value === 'string' && !/^[0-9]+(\.[0-9]+)?$/.test(value)) throw invalid('rxtx_factor', value, "does not match '^[0-9]+(\\.[0-9]+)?$'");
  if (typeof value !== 'string' && typeof value !== 'number') throw invalid('rxtx_factor', value, "is not of type 'number', 'string'");
  const n = Number(value);
  if (!(n > 0 && n <= MAX_FLOAT)) throw new BadRequest(`Invalid input received: 'rxtx_factor' argument must be a float between 0 and ${MAX_FLOAT}`);
  return n;
}

/** The flavor id: as given (numbers as their decimal string), or a new uuid when absent, null or empty. */
export function flavorId(value: unknown): string {
  if (value === undefined || value === null || value === 0) return randomUUID();
  if (typeof value === 'number') return String(value);
  if (typeof value !== 'string') throw invalid('id', value, "is not of type 'string', 'number', 'null'");
  if (value.length < 1 || value.length > 255 || !ID_PATTERN.test(value)) throw invalid('id', value, `does not match '${ID_PATTERN.source}'`);
  return value;
}

export function newFlavor(body: FlavorCreate, v: ApiVersion): NewFlavor {
  const f = body.flavor;
  if (!versionIn(v, '2.55') && 'description' in f) {
    throw new BadRequest("Additional properties are not allowed ('description' was unexpected)");
  }
  return {
    flavorid: flavorId(f.id),
    name: f.name.trim(),
    memory_mb: flavorInteger('ram', 'ram', f.ram, 1),
    vcpus: flavorInteger('vcpus', 'vcpus', f.vcpus, 1),
    root_gb: flavorInteger('disk', 'disk', f.disk, 0),
    ephemeral_gb: f['OS-FLV-EXT-DATA:ephemeral'] === undefined ? 0 : flavorInteger('OS-FLV-EXT-DATA:ephemeral', 'ephemeral', f['OS-FLV-EXT-DATA:ephemeral'], 0),
    swap: f.swap === undefined ? 0 : flavorInteger('swap', 'swap', f.swap, 0),
    rxtx_factor: f.rxtx_factor === undefined ? 1 : rxtxFactor(f.rxtx_factor),
    is_public: f['os-flavor-access:is_public'] === undefined ? true : parseStrictBool(f['os-flavor-access:is_public'])!,
    description: f.description ?? null,
  };
}
