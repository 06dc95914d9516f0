// How the `ferry` commands that go through the API (audit, server cleanup, host evacuate) reach it, as an OpenStack
// client would: credentials from OS_CLOUD and clouds.yaml, or the OS_* variables, or else Ferry's own settings (the
// seeded admin with FERRY_ADMIN_PASSWORD on the API Ferry's settings name); a Keystone token; the compute endpoint from
// the token's catalog; Nova-style error bodies turned into one line.
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { FerryConfig } from '@ferry/common/config';
import { UsageError } from '../commands/service';

export interface ApiCredentials {
  /** Keystone's URL as clients give it (…/identity or …/identity/v3). */
  authUrl: string;
  username: string;
  password: string;
  projectName: string;
  userDomainName: string;
  projectDomainName: string;
  /** Which of the catalog's endpoints to use (public unless OS_INTERFACE or the cloud's `interface` says otherwise). */
  interface: string;
  /** Only endpoints of this region (OS_REGION_NAME or the cloud's `region_name`), when given. */
  region?: string;
  /** Where they came from, for messages. */
  source: string;
}

type Env = Readonly<Record<string, string | undefined>>;

/** The API's base URL: the published one, else the address it listens on (a wildcard bind is reached on loopback). */
export function apiBaseUrl(config: Readonly<FerryConfig>): string {
  if (config.publicUrl) return config.publicUrl.replace(/\/+$/, '');
  const host = ['0.0.0.0', '::', ''].includes(config.apiListen) ? '127.0.0.1' : config.apiListen;
  return `http://${host.includes(':') ? `[${host}]` : host}:${config.apiPort}`;
}

/** Where openstacksdk looks for clouds.yaml, in its order (OS_CLIENT_CONFIG_FILE first when set). */
export function cloudsYamlPaths(env: Env, cwd: string): string[] {
  return [
    ...(env.OS_CLIENT_CONFIG_FILE ? [env.OS_CLIENT_CONFIG_FILE] : []),
    join(cwd, 'clouds.yaml'), join(homedir(), '.config', 'openstack', 'clouds.yaml'), '/etc/openstack/clouds.yaml',
  ];
}

/** The credentials a command uses: OS_CLOUD's entry in clouds.yaml, else OS_AUTH_URL and friends, else Ferry's settings. */
export async function resolveCredentials(config: Readonly<FerryConfig>, env: Env = process.env, cwd = process.cwd()): Promise<ApiCredentials> {
  if (env.OS_CLOUD) return cloudCredentials(env.OS_CLOUD, env, cwd);
  if (env.OS_AUTH_URL) {
    const missing = ['OS_USERNAME', 'OS_PASSWORD'].filter((k) => !env[k]);
    if (missing.length > 0) throw new UsageError(`OS_AUTH_URL is set but ${missing.join(' and ')} ${missing.length > 1 ? 'are' : 'is'} not`);
    return {
      authUrl: env.OS_AUTH_URL, username: env.OS_USERNAME!, password: env.OS_PASSWORD!,
      projectName: env.OS_PROJECT_NAME ?? env.OS_TENANT_NAME ?? env.OS_USERNAME!,
      userDomainName: env.OS_USER_DOMAIN_NAME ?? 'Default', projectDomainName: env.OS_PROJECT_DOMAIN_NAME ?? 'Default',
      interface: env.OS_INTERFACE ?? 'public', ...(env.OS_REGION_NAME ? { region: env.OS_REGION_NAME } : {}), source: 'the OS_* variables',
    };
  }
  return {
    authUrl: `${apiBaseUrl(config)}/identity`, username: 'admin', password: config.adminPassword, projectName: 'admin',
    userDomainName: 'Default', projectDomainName: 'Default', interface: 'public', source: 'FERRY_ADMIN_PASSWORD',
  };
}

/** One cloud of clouds.yaml, as openstacksdk reads the parts Ferry's commands need. */
interface CloudEntry {
  auth?: Record<string, string | undefined>;
  interface?: string;
  region_name?: string;
}

async function cloudCredentials(cloud: string, env: Env, cwd: string): Promise<ApiCredentials> {
  for (const path of cloudsYamlPaths(env, cwd)) {
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch {
      continue;
    }
    const clouds = (parseYaml(text) as { clouds?: Record<string, CloudEntry> } | null)?.clouds ?? {};
    const entry = clouds[cloud];
    const auth = entry?.auth;
    if (!auth) continue;
    if (!auth.auth_url || !auth.username || !auth.password) {
      throw new UsageError(`cloud ${cloud} in ${path} needs auth_url, username and password under auth`);
    }
    return {
      authUrl: auth.auth_url, username: auth.username, password: auth.password, projectName: auth.project_name ?? auth.username,
      userDomainName: auth.user_domain_name ?? 'Default', projectDomainName: auth.project_domain_name ?? 'Default',
      interface: entry.interface ?? 'public', ...(entry.region_name ? { region: entry.region_name } : {}), source: `cloud ${cloud} of ${path}`,
    };
  }
  throw new UsageError(`OS_CLOUD=${cloud}, but no clouds.yaml names it (looked in ${cloudsYamlPaths(env, cwd).join(', ')})`);
}

/** How long a request may take; a stream (signal given) lasts until its reader aborts it. */
const REQUEST_TIMEOUT_MS = 120_000;

async function send(url: string, init: RequestInit): Promise<Response> {
  try {
    return await fetch(url, { ...init, signal: init.signal ?? AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
  } catch (err) {
    throw new UsageError(`cannot reach the Ferry API at ${url}: ${(err as Error).message}. Point OS_CLOUD or OS_AUTH_URL at it, or set FERRY_PUBLIC_URL (or FERRY_API_LISTEN / FERRY_API_PORT) to where it listens.`);
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
  /** The compute endpoint the catalog gave (…/compute/v2.1). */
  computeUrl: string;
  /** A request to the compute API, path relative to its endpoint (e.g. `/os-ferry-audit`). */
  compute(method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, body?: unknown, headers?: Record<string, string>): Promise<Response>;
  /** A GET of the compute API whose answer streams until signal aborts it (no request timeout). */
  stream(path: string, signal: AbortSignal): Promise<Response>;
}

interface CatalogEntry {
  type: string;
  endpoints: { interface: string; region?: string; url: string }[];
}

/** Logs in with the resolved credentials and finds the compute endpoint in the token's catalog. */
export async function adminSession(config: Readonly<FerryConfig>, env: Env = process.env, cwd = process.cwd()): Promise<AdminSession> {
  const creds = await resolveCredentials(config, env, cwd);
  const identity = creds.authUrl.replace(/\/+$/, '').replace(/\/v3$/, '');
  const login = await send(`${identity}/v3/auth/tokens`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ auth: {
      identity: { methods: ['password'], password: { user: { name: creds.username, domain: { name: creds.userDomainName }, password: creds.password } } },
      scope: { project: { name: creds.projectName, domain: { name: creds.projectDomainName } } },
    } }),
  });
  if (login.status !== 201) throw await failure(`login as ${creds.username} (${creds.source})`, login);
  const token = login.headers.get('x-subject-token') ?? '';
  const catalog = ((await login.json()) as { token?: { catalog?: CatalogEntry[] } }).token?.catalog ?? [];
  const endpoint = catalog.find((s) => s.type === 'compute')?.endpoints
    .find((e) => e.interface === creds.interface && (!creds.region || e.region === creds.region))?.url;
  if (!endpoint) {
    throw new UsageError(`the token of ${creds.username} (${creds.source}) has no ${creds.interface} compute endpoint${creds.region ? ` in region ${creds.region}` : ''} in its catalog`);
  }
  const computeUrl = endpoint.replace(/\/+$/, '');
  return {
    computeUrl,
    compute: (method, path, body, headers = {}) => send(`${computeUrl}${path}`, {
      method,
      headers: { 'x-auth-token': token, ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    }),
    stream: (path, signal) => send(`${computeUrl}${path}`, { method: 'GET', headers: { 'x-auth-token': token }, signal }),
  };
}
