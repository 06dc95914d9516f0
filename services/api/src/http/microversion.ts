// Compute API microversion negotiation: request headers → the version a request is served at.

export interface ApiVersion {
  readonly major: number;
  readonly minor: number;
}

export const MIN_VERSION: ApiVersion = Object.freeze({ major: 2, minor: 1 });
export const MAX_VERSION: ApiVersion = Object.freeze({ major: 2, minor: 80 });

export const VERSION_HEADER = 'openstack-api-version';
export const LEGACY_VERSION_HEADER = 'x-openstack-nova-api-version';
export const VARY = 'OpenStack-API-Version, X-OpenStack-Nova-API-Version';

export class MicroversionError extends Error {
  constructor(readonly status: 400 | 406, message: string) {
    super(message);
  }
}

export function formatVersion(v: ApiVersion): string {
  return `${v.major}.${v.minor}`;
}

export function compareVersions(a: ApiVersion, b: ApiVersion): number {
  return a.major - b.major || a.minor - b.minor;
}

/** Rule bounds ("2.47") are literals in the code, parsed once: views test them for every row of a listing. */
const ruleBounds = new Map<string, ApiVersion>();

function ruleBound(raw: string): ApiVersion {
  let v = ruleBounds.get(raw);
  if (!v) {
    v = parseVersion(raw);
    ruleBounds.set(raw, v);
  }
  return v;
}

/** True when v lies in [min, max] (max optional), the shape of every "from 2.X" / "until 2.Y" rule. */
export function versionIn(v: ApiVersion, min: string, max?: string): boolean {
  return compareVersions(v, ruleBound(min)) >= 0 && (max === undefined || compareVersions(v, ruleBound(max)) <= 0);
}

export function parseVersion(raw: string): ApiVersion {
  const m = /^([1-9]\d*)\.(0|[1-9]\d*)$/.exec(raw.trim());
  if (!m) throw new MicroversionError(400, `API Version String ${raw} is of invalid format. Must be of format MajorNum.MinorNum.`);
  return { major: Number(m[1]), minor: Number(m[2]) };
}

/** The compute entry of `OpenStack-API-Version: compute 2.42[, volume 3.1]`, if any. */
function computeEntry(header: string): string | undefined {
  for (const part of header.split(',')) {
    const [service, version, ...rest] = part.trim().split(/\s+/);
    if (service?.toLowerCase() === 'compute' && version !== undefined && rest.length === 0) return version;
  }
  return undefined;
}

function headerValue(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v.join(',') : v;
}

/**
 * The version a request is served at. No header → 2.1; `latest` → the maximum; malformed → 400;
 * outside [min, max] → 406. The standard header wins over the legacy one.
 */
export function negotiateVersion(headers: Record<string, string | string[] | undefined>): ApiVersion {
  const standard = headerValue(headers[VERSION_HEADER]);
  const raw = (standard !== undefined ? computeEntry(standard) : undefined) ?? headerValue(headers[LEGACY_VERSION_HEADER]);
  if (raw === undefined) return MIN_VERSION;
  if (raw.trim().toLowerCase() === 'latest') return MAX_VERSION;
  const v = parseVersion(raw);
  if (compareVersions(v, MIN_VERSION) < 0 || compareVersions(v, MAX_VERSION) > 0) {
    throw new MicroversionError(
      406,
      `Version ${formatVersion(v)} is not supported by the API. Minimum is ${formatVersion(MIN_VERSION)} and maximum is ${formatVersion(MAX_VERSION)}.`,
    );
  }
  return v;
}

/** Headers every versioned response carries. */
export function versionHeaders(v: ApiVersion): Record<string, string> {
  return {
    'OpenStack-API-Version': `compute ${formatVersion(v)}`,
    'X-OpenStack-Nova-API-Version': formatVersion(v),
    Vary: VARY,
  };
}
