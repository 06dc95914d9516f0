// The admin API as the `ferry` commands that go through it (audit, server cleanup) reach it: where it is, a token (from
// the usual OS_* variables, else for the seeded admin), and a Nova-style error body turned into one line.
import type { FerryConfig } from '@ferry/common/config';
import { UsageError } from './service';

/** The API's base URL: the published one, else the address it listens on (a wildcard bind is reached on loopback). */
export function apiBaseUrl(config: Readonly<FerryConfig>): string {
  if (config.publicUrl) return config.publicUrl.replace(/\/+$/, '');
  const host = ['0.0.0.0', '::', ''].includes(config.apiListen) ? '127.0.0.1' : config.apiListen;
  return `http://${host.includes(':') ? `[${host}]` : host}:${config.apiPort}`;
}

export async function request(url: string, init: RequestInit): Promise<Response> {
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

/** Where the compute API is and a token for it. */
export interface AdminSession {
  computeUrl: string;
  token: string;
}

/**
 * Logs in with the usual OS_* variables when OS_AUTH_URL is set (the compute endpoint then comes from the token's
 * catalog, as the openstack CLI finds it), else as the seeded admin (FERRY_ADMIN_PASSWORD) at Ferry's own address.
 */
export async function adminSession(config: Readonly<FerryConfig>, env: NodeJS.ProcessEnv = process.env): Promise<AdminSession> {
  if (env.OS_AUTH_URL) return osSession(env);
  const base = apiBaseUrl(config);
  const token = await login(`${base}/identity/v3`, { user: 'admin', password: config.adminPassword, project: 'admin' }, 'login as admin (FERRY_ADMIN_PASSWORD)');
  return { computeUrl: `${base}/compute/v2.1`, token: token.id };
}

interface Credentials {
  user: string;
  password: string;
  project: string;
  userDomain?: string;
  projectDomain?: string;
}

async function osSession(env: NodeJS.ProcessEnv): Promise<AdminSession> {
  const missing = ['OS_USERNAME', 'OS_PASSWORD', 'OS_PROJECT_NAME'].filter((v) => !env[v]);
  if (missing.length > 0) throw new UsageError(`OS_AUTH_URL is set, but ${missing.join(', ')} ${missing.length > 1 ? 'are' : 'is'} not`);
  const identity = env.OS_AUTH_URL!.replace(/\/+$/, '').replace(/(\/v3)?$/, '/v3');
  const token = await login(identity, {
    user: env.OS_USERNAME!, password: env.OS_PASSWORD!, project: env.OS_PROJECT_NAME!,
    userDomain: env.OS_USER_DOMAIN_NAME, projectDomain: env.OS_PROJECT_DOMAIN_NAME,
  }, `login as ${env.OS_USERNAME} at ${identity} (OS_* variables)`);
  const iface = env.OS_INTERFACE ?? 'public';
  const endpoint = token.catalog.find((s) => s.type === 'compute')?.endpoints.find((e) => e.interface === iface && (!env.OS_REGION_NAME || e.region === env.OS_REGION_NAME));
  if (!endpoint) throw new UsageError(`the catalog of ${identity} has no ${iface} compute endpoint${env.OS_REGION_NAME ? ` in region ${env.OS_REGION_NAME}` : ''}`);
  return { computeUrl: endpoint.url.replace(/\/+$/, ''), token: token.id };
}

interface Token {
  id: string;
  catalog: { type: string; endpoints: { interface: string; region: string; url: string }[] }[];
}

async function login(identityUrl: string, c: Credentials, what: string): Promise<Token> {
  const res = await request(`${identityUrl}/auth/tokens`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ auth: {
      identity: { methods: ['password'], password: { user: { name: c.user, domain: { name: c.userDomain ?? 'Default' }, password: c.password } } },
      scope: { project: { name: c.project, domain: { name: c.projectDomain ?? 'Default' } } },
    } }),
  });
  if (res.status !== 201) throw await failure(what, res);
  const body = (await res.json()) as { token?: { catalog?: Token['catalog'] } };
  return { id: res.headers.get('x-subject-token') ?? '', catalog: body.token?.catalog ?? [] };
}
