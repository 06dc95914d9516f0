// The allow-list of error types that may be rebuilt from a remote failure (RPC reply, stored fault).
import { FerryError } from './ferry-error';

export type ErrorConstructor = new (message: string, details?: Record<string, unknown>) => FerryError;

const catalog = new Map<string, ErrorConstructor>();

/** Adds error classes to the allow-list; the key is each class's `code`. */
export function registerErrorTypes(...ctors: ErrorConstructor[]): void {
  for (const ctor of ctors) {
    const code = new ctor('probe').code;
    const existing = catalog.get(code);
    if (existing && existing !== ctor) throw new Error(`error code ${code} registered twice (${existing.name}, ${ctor.name})`);
    catalog.set(code, ctor);
  }
}

/** The class registered for code, or undefined when it is not on the allow-list. */
export function errorTypeFor(code: string): ErrorConstructor | undefined {
  return catalog.get(code);
}
