// Turns a request plan into bytes on a socket: real ids from the rows that exist now, tokens, raw path and headers
// (node:http, so GET bodies, odd content types and unencoded paths go out as planned).
import { request as httpRequest } from 'node:http';
import type { DataSource } from 'typeorm';
import type { ParamPlan, RequestPlan } from './arbitraries';
import type { RouteInfo } from './route-table';

export interface ConcreteRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string;
}

export interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

/** Real values for a path parameter, keyed by the path segment before it. */
export type Pools = Record<string, string[]>;

// Ordered by when rows were made, not by their random ids, so a seed picks the same rows in a replay.
const POOL_QUERIES: Readonly<Record<string, string>> = {
  servers: 'SELECT uuid::text AS v FROM instances ORDER BY created_at, display_name',
  'os-instance-actions': 'SELECT request_id AS v FROM instance_actions ORDER BY id',
  migrations: 'SELECT id::text AS v FROM migrations ORDER BY id',
  flavors: 'SELECT flavorid AS v FROM flavors ORDER BY id',
  'os-extra_specs': `SELECT v FROM (SELECT DISTINCT jsonb_object_keys(extra_specs) AS v FROM flavors UNION SELECT 'hw:cpu_policy') k ORDER BY v`,
  'os-hypervisors': `SELECT v FROM compute_nodes, LATERAL (VALUES (1, id::text), (2, uuid::text), (3, hypervisor_hostname)) x(k, v) ORDER BY id, k`,
  'os-services': 'SELECT id::text AS v FROM services ORDER BY id',
  projects: 'SELECT id AS v FROM projects ORDER BY name',
  users: 'SELECT id AS v FROM users ORDER BY name',
  images: 'SELECT id::text AS v FROM images ORDER BY created_at, name',
};

export async function loadPools(ds: DataSource): Promise<Pools> {
  const pools: Pools = {};
  for (const [segment, sql] of Object.entries(POOL_QUERIES)) {
    pools[segment] = ((await ds.query(sql)) as { v: string }[]).map((r) => r.v);
  }
  pools['os-hypervisors']!.push('compute');
  return pools;
}

/** encodeURIComponent, except for lone surrogates it cannot encode (they go out as U+FFFD's bytes). */
function encode(s: string): string {
  try {
    return encodeURIComponent(s);
  } catch {
    return encodeURIComponent(s.replace(/[\ud800-\udfff]/g, '\ufffd'));
  }
}

function pick(plan: ParamPlan, pool: string[]): string {
  return 'real' in plan ? (pool.length ? pool[plan.real % pool.length]! : 'none') : plan.random;
}

export interface Credentials {
  admin: string;
  member: string;
  /** Tokens a DELETE /auth/tokens may revoke without cutting the run's own. */
  subjects: string[];
}

/** segments with one letter of a literal segment written as %XX. */
function obfuscated(segments: string[], n: number): string[] {
  const letters = segments.flatMap((seg, i) => (seg.startsWith(':') ? [] : [...seg].flatMap((c, j) => (/[a-z]/i.test(c) ? [[i, j] as const] : []))));
  if (!letters.length) return segments;
  const [i, j] = letters[n % letters.length]!;
  const seg = segments[i]!;
  return segments.map((s, k) => (k === i ? `${seg.slice(0, j)}%${seg.charCodeAt(j).toString(16)}${seg.slice(j + 1)}` : s));
}

export function concrete(plan: RequestPlan, route: RouteInfo, pools: Pools, creds: Credentials): ConcreteRequest {
  const pattern = route.url.split('/');
  const segments = plan.obfuscate === null ? pattern : obfuscated(pattern, plan.obfuscate);
  let p = 0;
  const path = segments.map((seg, i) => {
    if (!seg.startsWith(':')) return seg;
    return encode(pick(plan.params[p++]!, pools[pattern[i - 1]!] ?? []));
  }).join('/');
  // Past 16 KiB of request line and headers Node's own parser answers a bare 431 before the app sees anything.
  const query = plan.query.pairs.map(([k, v]) => (plan.query.raw ? `${k}=${v}` : `${encode(k)}=${encode(v)}`)).join('&').slice(0, 8000);
  const headers: Record<string, string> = {};
  const token = { admin: creds.admin, member: creds.member, anonymous: undefined, bogus: 'gAAAAABbogus-token' }[plan.who];
  if (token) headers['x-auth-token'] = token;
  for (const [k, v] of plan.versions) headers[k] = v;
  if (plan.contentType !== null) headers['content-type'] = plan.contentType;
  if (plan.accept) headers.accept = plan.accept;
  if (plan.subject) {
    const subjects = route.method === 'DELETE' ? creds.subjects : [creds.admin, creds.member, ...creds.subjects];
    headers['x-subject-token'] = pick(plan.subject, subjects);
  }
  // A body on HEAD would be read as the start of the next request on the connection, by client and server alike.
  for (const [k, v] of Object.entries(headers)) headers[k] = v.slice(0, 4096);
  const body = plan.body.kind === 'none' || route.method === 'HEAD' ? undefined : plan.body.kind === 'raw' ? plan.body.text : JSON.stringify(plan.body.value);
  return { method: route.method, path: query ? `${path}?${query}` : path, headers, ...(body !== undefined ? { body } : {}) };
}

/** Header values node:http refuses to send (control characters) would fail the request before the server sees it. */
const sendable = (v: string) => !/[^\t\x20-\x7e\x80-\xff]/.test(v);

/** Answers that stream until the client hangs up. */
const STREAM_TYPE = 'application/x-ndjson';

export function send(baseUrl: string, req: ConcreteRequest): Promise<Reply> {
  const headers: Record<string, string | number> = Object.fromEntries(Object.entries(req.headers).filter(([, v]) => sendable(v)));
  if (req.body !== undefined) headers['content-length'] = Buffer.byteLength(req.body);
  return new Promise((resolve, reject) => {
    const r = httpRequest(`${baseUrl}${req.path}`, { method: req.method, headers, agent: false }, (res) => {
      if (res.statusCode === 200 && String(res.headers['content-type']).startsWith(STREAM_TYPE)) {
        // A stream (GET /os-ferry-bus) never ends: its status and headers are the answer.
        resolve({ status: res.statusCode, headers: res.headers, text: '' });
        res.destroy();
        return;
      }
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    r.on('error', reject);
    r.end(req.body);
  });
}

/** The request as one line to paste into a shell (curl), tokens shown by role. */
export function describe(req: ConcreteRequest, creds: Credentials): string {
  const cut = (v: string) => (v.length > 300 ? `${v.slice(0, 300)}…(${v.length} chars)` : v);
  const shown = (v: string) => (v === creds.admin ? '$ADMIN_TOKEN' : v === creds.member ? '$MEMBER_TOKEN' : cut(v));
  const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  const body = req.body === undefined ? '' : ` --data-binary ${q(cut(req.body))}`;
  const headers = Object.entries(req.headers).map(([k, v]) => ` -H ${q(`${k}: ${shown(v)}`)}`).join('');
  return `curl -X ${req.method} ${q(`$FERRY_URL${cut(req.path)}`)}${headers}${body}`;
}
