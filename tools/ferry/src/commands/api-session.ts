// The admin API session the operator commands (`ferry audit`, `ferry host evacuate`) use: the API's address from the
// settings, a token for the seeded admin (FERRY_ADMIN_PASSWORD), and Nova-style errors turned into usage errors.
import type { FerryConfig } from '@ferry/common/config';
import { UsageError } from './service';

/** The API's base URL: the published one, else the address it listens on (a wildcard bind is reached on loopback). */
export function apiBaseUrl(config: Readonly<FerryConfig>): string {
  if (config.publicUrl) return config.publicUrl.replace(/\/+$/, '');
  const host = ['0.0.0.0', '::', ''].includes(config.apiListen) ? '127.0.0.1' : config.apiListen;
  return `http://${host.includes(':') ? `[${host}]` : host}:${config.apiPort}`;
}

async function send(url: string, init: RequestInit): Promise<Response> {
  try {
    return await fetch(url, { ...init, signal: AbortSignal.timeout(120_000) });
  } catch (err) {
    throw new UsageError(`cannot reach the Ferry API at ${url}: ${(err as Error).message}. Set FERRY_PUBLIC_URL (or FERRY_API_LISTEN / FERRY_API_PORT) to where it listens.`);
  }
}

/** The message of a Nova-style error body ({"forbidden": {"message": …}}), or the raw text. */
export async function failure(what: string, res: Response): Promise<UsageError> {
  const text = await res.text();
  let message = text;
  try {
    const body = JSON.parse(text) as Record<string, { message?: string }>;
    message = Object.values(body)[0]?.message ?? text;
  } catch {
    // not JSON: keep the text
  }
  return new UsageError(`${what}: HTTP ${res.status}: ${message}`);
}

export interface AdminSession {
  request(method: 'GET' | 'POST', path: string, body?: unknown): Promise<Response>;
}

/** Logs in as the seeded admin; every request then carries its token. */
export async function adminSession(config: Readonly<FerryConfig>): Promise<AdminSession> {
  const base = apiBaseUrl(config);
  const login = await send(`${base}/identity/v3/auth/tokens`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ auth: {
      identity: { methods: ['password'], password: { user: { name: 'admin', domain: { name: 'Default' }, password: config.adminPassword } } },
      scope: { project: { name: 'admin', domain: { name: 'Default' } } },
    } }),
  });
  if (login.status !== 201) throw await failure('login as admin (FERRY_ADMIN_PASSWORD)', login);
  const token = login.headers.get('x-subject-token') ?? '';
  return {
    request: (method, path, body) => send(`${base}${path}`, {
      method, headers: { 'x-auth-token': token, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    }),
  };
}
