// Nova's ExceptionPayload: the `fault` of an .error notification, built from whatever was thrown.
import path from 'node:path';
import { FerryError } from '../domain/errors/ferry-error';
import type { NovaObject } from '../rpc/transport';
import { novaObject } from './nova-object';

export const EXCEPTION_PAYLOAD_VERSION = '1.1';

/** Where a stack frame says the error was thrown: `at fn (file:line:col)` or `at file:line:col`. */
const FRAME = /^\s*at (?:async )?(?:new )?(?:(.+?) \()?(.+?):\d+:\d+\)?$/;

/**
 * The fault for err. `exception` is a FerryError's stable code, otherwise the error's class name; the message
 * and traceback go out with credentials masked, since every consumer of the bus reads them (Nova leaves this a TODO).
 */
export function exceptionPayload(err: unknown): NovaObject {
  const { module_name, function_name } = origin(err);
  return novaObject('ExceptionPayload', EXCEPTION_PAYLOAD_VERSION, {
    module_name,
    function_name,
    exception: exceptionName(err),
    exception_message: maskSecrets(err instanceof Error ? err.message : String(err)),
    traceback: maskSecrets(err instanceof Error ? (err.stack ?? '') : ''),
  });
}

export function exceptionName(err: unknown): string {
  if (err instanceof FerryError) return err.code;
  if (err instanceof Error) return err.name || 'Error';
  return typeof err;
}

/** text with URL passwords and `password=…`-style values replaced by ***. */
export function maskSecrets(text: string): string {
  return text
    .replace(/([a-z][a-z0-9+.-]*:\/\/[^:/@\s]*:)[^@\s]+@/gi, '$1***@')
    .replace(/\b((?:password|passwd|secret|token|adminPass)["']?\s*[:=]\s*["']?)[^\s"',;)\]}&]+/gi, '$1***');
}

/** The module (file name without extension, like Nova's module) and function of the innermost frame. */
function origin(err: unknown): { module_name: string; function_name: string } {
  const stack = err instanceof Error ? err.stack : undefined;
  for (const line of stack?.split('\n') ?? []) {
    const m = FRAME.exec(line);
    if (!m) continue;
    const file = m[2].replace(/^file:\/\//, '');
    return { module_name: path.basename(file).replace(/\.[cm]?[jt]s$/, ''), function_name: m[1] ?? '<anonymous>' };
  }
  return { module_name: 'unknown', function_name: 'unknown' };
}
