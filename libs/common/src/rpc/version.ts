// RPC API versions "major.minor": a server implementing 1.3 answers 1.0–1.3, never 1.4 or 2.x.

export interface ApiVersion {
  readonly major: number;
  readonly minor: number;
}

const VERSION = /^(\d{1,6})\.(\d{1,6})$/;

export const DEFAULT_VERSION = '1.0';

export function isVersion(text: unknown): text is string {
  return typeof text === 'string' && VERSION.test(text);
}

/** The parsed version, or undefined when text is not "major.minor". */
export function parseVersion(text: string): ApiVersion | undefined {
  const m = VERSION.exec(text);
  return m ? { major: Number(m[1]), minor: Number(m[2]) } : undefined;
}

/** True when an endpoint implementing `implemented` can serve a call asking for `requested`. */
export function isCompatible(implemented: ApiVersion, requested: ApiVersion): boolean {
  return implemented.major === requested.major && implemented.minor >= requested.minor;
}
