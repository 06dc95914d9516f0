// Timestamps and ids exactly as Nova prints them, so clients parse Ferry's responses as they parse Nova's.
import { createHash } from 'node:crypto';

/** `created`/`updated`: second precision with a Z (Nova's utils.isotime). */
export function isoTime(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Naive timestamps with microseconds (launched_at, instance actions): how Nova serialises a datetime. */
export function naiveTime(d: Date | null | undefined): string | null {
  if (!d) return null;
  return d.toISOString().replace(/Z$/, '').replace(/\.(\d{3})$/, '.$1000');
}

/** The obfuscated host id: sha224(project + host), '' without a host (Nova's generate_hostid). */
export function hostId(host: string | null | undefined, projectId: string | null | undefined): string {
  if (!host) return '';
  return createHash('sha224').update(`${projectId ?? ''}${host}`).digest('hex');
}

