// Random requests for the route table: bodies grown from each route's JSON schema and then broken, hostile query
// strings, headers and microversions. A plan names real ids by index so it resolves against whatever rows exist then.
import fc from 'fast-check';
import type { RouteInfo } from './route-table';

// Strings that have broken parsers, regex filters, SQL and path handling somewhere before.
const NASTY = [
  '', ' ', '  x  ', 'null', 'true', '0', '-1', '00', '1.5', '1e309', '-0', '9223372036854775808', '2147483648', 'NaN', 'Infinity',
  '%', '%%', '%00', '%zz', '\u0000', '\n', '\t', '../', '..', '.', '/', '//', '?', '#', '&', '=', ';', ',', "'", '"', '\\', '`',
  '.*', '(', ')', '[', ']', '{', '}', '*', '+', '?*', '(?<x>', '(?=', '$', '^', '|', '{1,99999999}', '\\p{L}', '[[:alpha:]]', '(a+)+$',
  "' OR 1=1 --", '%27', '_', '%_', 'admin', 'compute-1', 'compute-1.local', 'nova', 'active', 'ACTIVE', 'deleted', 'latest',
  '2026-01-01T00:00:00Z', '2026-13-45T99:99:99', 'yesterday', '😀', 'é', 'e\u0301', '\u202e', '\ufeff', '\u2028', 'ℌ', 'İ', 'ß',
  'a'.repeat(256), 'x'.repeat(7000),
];

export const nastyString: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...NASTY) },
  { weight: 2, arbitrary: fc.string({ maxLength: 12 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'grapheme', maxLength: 12 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 12 }) },
  { weight: 1, arbitrary: fc.integer().map(String) },
  { weight: 1, arbitrary: fc.uuid() },
  { weight: 1, arbitrary: fc.nat(3000).map((n) => 'y'.repeat(n)) },
);

/** `depth` arrays or objects inside each other. */
function nested(depth: number, asObject: boolean): unknown {
  let v: unknown = 1;
  for (let i = 0; i < depth; i += 1) v = asObject ? { a: v } : [v];
  return v;
}

export const nastyValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: nastyString },
  { weight: 2, arbitrary: fc.constantFrom<unknown>(null, true, false, 0, -1, 1.5, 2 ** 31, 2 ** 53 + 2, -(2 ** 63), 1e308, [], {}, [null], { '': null }) },
  { weight: 1, arbitrary: fc.integer() },
  { weight: 1, arbitrary: fc.double({ noNaN: true }) },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }) },
  { weight: 1, arbitrary: fc.tuple(fc.integer({ min: 10, max: 3000 }), fc.boolean()).map(([d, o]) => nested(d, o)) },
);

type Schema = Record<string, unknown>;

// Values that exist in the fuzz database, offered for properties of these names so bodies get past the lookups
// (a random flavorRef is always a 400) into the code behind them.
const CIRROS_IMAGE_ID = '6f0b1e5c-3c1d-4b38-9a5e-0c1f3a2d7e11';
const REAL_VALUES: Readonly<Record<string, unknown[]>> = {
  flavorRef: ['1', '2', '3', 1, 'http://ferry.test/flavors/2'], imageRef: [CIRROS_IMAGE_ID], host: ['compute-1', 'compute-2', null],
  availability_zone: ['nova', 'nova:compute-2'], networks: ['none', 'auto'], block_migration: ['auto', false], name: ['fuzz-vm', 'vm'],
  status: ['disabled', 'enabled'], forced_down: [true, false], disabled_reason: ['fuzz'],
};

function stringFor(s: Schema): fc.Arbitrary<string> {
  const max = Math.min(typeof s.maxLength === 'number' ? s.maxLength : 24, 24);
  const min = Math.min(typeof s.minLength === 'number' ? s.minLength : 0, max);
  switch (s.format) {
    case 'ipv4': return fc.ipV4();
    case 'ipv6': return fc.ipV6();
    case 'uuid': return fc.uuid();
    case 'date-time': return fc.date({ noInvalidDate: true, min: new Date(0), max: new Date(4e12) }).map((d) => d.toISOString());
  }
  if (typeof s.pattern === 'string') {
    try {
      return fc.stringMatching(new RegExp(s.pattern, 'u')).filter((x) => x.length <= 255);
    } catch {
      // Unicode property classes are beyond stringMatching: plain strings still exercise the field.
    }
  }
  return fc.string({ minLength: min, maxLength: max });
}

// Schemas share parts (names, metadata) across microversions and routes; an arbitrary is built once per part.
const built = new WeakMap<object, Map<number, fc.Arbitrary<unknown>>>();

/** Values that (mostly) satisfy a JSON schema as typebox writes them; unknown keywords fall back to any JSON. */
export function fromSchema(schema: unknown, depth = 0): fc.Arbitrary<unknown> {
  if (!schema || typeof schema !== 'object') return buildFromSchema({}, depth);
  const byDepth = built.get(schema) ?? new Map<number, fc.Arbitrary<unknown>>();
  built.set(schema, byDepth);
  if (!byDepth.has(depth)) byDepth.set(depth, buildFromSchema(schema as Schema, depth));
  return byDepth.get(depth)!;
}

function buildFromSchema(s: Schema, depth: number): fc.Arbitrary<unknown> {
  if ('const' in s) return fc.constant(s.const);
  if (Array.isArray(s.enum)) return fc.constantFrom(...(s.enum as unknown[]));
  const union = (s.anyOf ?? s.oneOf) as unknown[] | undefined;
  if (union?.length) return fc.oneof(...union.map((u) => fromSchema(u, depth)));
  if (Array.isArray(s.allOf) && s.allOf.length) return fromSchema(s.allOf[0], depth);
  const type = Array.isArray(s.type) ? s.type[0] : s.type;
  switch (type) {
    case 'null': return fc.constant(null);
    case 'boolean': return fc.boolean();
    case 'integer': return fc.integer({
      min: typeof s.minimum === 'number' ? s.minimum : -1000, max: typeof s.maximum === 'number' ? s.maximum : 100_000,
    });
    case 'number': return fc.double({ noNaN: true, noDefaultInfinity: true, min: typeof s.minimum === 'number' ? s.minimum : -1e6, max: 1e6 });
    case 'string': return stringFor(s);
    case 'array': {
      if (depth > 4) return fc.constant([]);
      const items = Array.isArray(s.items) ? fc.oneof(...s.items.map((i) => fromSchema(i, depth + 1))) : fromSchema(s.items, depth + 1);
      const min = typeof s.minItems === 'number' ? s.minItems : 0;
      return fc.array(items, { minLength: min, maxLength: Math.max(min, Math.min(typeof s.maxItems === 'number' ? s.maxItems : 3, 3)) });
    }
    case 'object': {
      if (depth > 4) return fc.constant({});
      const props = (s.properties ?? {}) as Record<string, unknown>;
      const required = (s.required ?? []) as string[];
      const patterns = Object.values((s.patternProperties ?? {}) as Record<string, unknown>);
      const valueFor = (k: string, v: unknown) => (REAL_VALUES[k]
        ? fc.oneof({ weight: 2, arbitrary: fc.constantFrom(...REAL_VALUES[k]!) }, { weight: 1, arbitrary: fromSchema(v, depth + 1) })
        : fromSchema(v, depth + 1));
      const known = fc.record(Object.fromEntries(Object.entries(props).map(([k, v]) => [k, valueFor(k, v)])), { requiredKeys: required });
      if (!patterns.length) return known;
      const extra = fc.dictionary(fc.string({ minLength: 1, maxLength: 8 }), fromSchema(patterns[0], depth + 1), { maxKeys: 3 });
      return fc.tuple(known, extra).map(([a, b]) => ({ ...b, ...a }));
    }
  }
  return fc.jsonValue({ maxDepth: 2 });
}

type Path = (string | number)[];

/** Every place inside v a mutation can reach (the root is []). */
function pathsOf(v: unknown, at: Path = [], out: Path[] = []): Path[] {
  out.push(at);
  if (out.length > 200) return out;
  if (Array.isArray(v)) v.forEach((x, i) => pathsOf(x, [...at, i], out));
  else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) pathsOf(x, [...at, k], out);
  return out;
}

function edit(v: unknown, path: Path, f: (x: unknown) => unknown): unknown {
  if (!path.length) return f(v);
  const [head, ...rest] = path;
  const copy = (Array.isArray(v) ? [...v] : { ...(v as object) }) as Record<string | number, unknown>;
  copy[head!] = edit(copy[head!], rest, f);
  return copy;
}

const DELETE = Symbol('delete');
const prune = (v: unknown): unknown => (Array.isArray(v)
  ? v.filter((x) => x !== DELETE).map(prune)
  : v && typeof v === 'object' ? Object.fromEntries(Object.entries(v).filter(([, x]) => x !== DELETE).map(([k, x]) => [k, prune(x)])) : v);

/** A good value broken one way: a key dropped, a value replaced, a property added; or left good. */
function mutated(good: fc.Arbitrary<unknown>): fc.Arbitrary<unknown> {
  return fc.tuple(good, fc.constantFrom('keep', 'keep', 'keep', 'drop', 'replace', 'extra', 'replace'), fc.nat(), nastyValue, nastyString).map(([v, how, n, weird, key]) => {
    const paths = pathsOf(v);
    const objects = paths.filter((p) => { const x = p.reduce<unknown>((o, k) => (o as Record<string | number, unknown>)[k], v); return x !== null && typeof x === 'object'; });
    switch (how) {
      case 'drop': return paths.length > 1 ? prune(edit(v, paths[1 + (n % (paths.length - 1))]!, () => DELETE)) : v;
      case 'replace': return edit(v, paths[n % paths.length]!, () => weird);
      case 'extra': return objects.length ? edit(v, objects[n % objects.length]!, (o) => (Array.isArray(o) ? [...o, weird] : { ...(o as object), [key || 'extra']: weird })) : v;
      default: return v;
    }
  });
}

export type BodyPlan = { kind: 'none' } | { kind: 'json'; value: unknown } | { kind: 'raw'; text: string };

const RAW_BODIES = ['', '{', '[1,', 'null', 'true', '"x"', '1', '{}{}', '{"a":1,"a":2}', '\ufeff{}', '<xml/>', 'a=1&b=2', '{"__proto__":{"x":1}}',
  '{"constructor":{"prototype":{"x":1}}}', `{"a":"${'z'.repeat(1_100_000)}"}`];

export function bodyFor(route: RouteInfo): fc.Arbitrary<BodyPlan> {
  const fromSchemas = route.bodies.length
    ? [{ weight: 16, arbitrary: mutated(fc.oneof(...route.bodies.map((b) => fromSchema(b)))).map((value): BodyPlan => ({ kind: 'json', value })) }]
    : [];
  return fc.oneof(
    ...fromSchemas,
    { weight: 2, arbitrary: fc.constant<BodyPlan>({ kind: 'none' }) },
    { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 3 }).map((value): BodyPlan => ({ kind: 'json', value })) },
    { weight: 1, arbitrary: nastyValue.map((value): BodyPlan => ({ kind: 'json', value })) },
    { weight: 1, arbitrary: fc.constantFrom(...RAW_BODIES).map((text): BodyPlan => ({ kind: 'raw', text })) },
  );
}

// Query parameters some route reads, so random values meet real parsing code.
const QUERY_KEYS = [
  'name', 'status', 'host', 'node', 'flavor', 'image', 'ip', 'ip6', 'limit', 'marker', 'sort_key', 'sort_dir', 'changes-since', 'changes-before',
  'deleted', 'all_tenants', 'project_id', 'tenant_id', 'user_id', 'instance_uuid', 'migration_type', 'source_compute', 'hidden', 'locked',
  'availability_zone', 'tags', 'not-tags', 'minRam', 'minDisk', 'is_public', 'with_servers', 'hypervisor_hostname_pattern', 'binary',
  'domain_id', 'enabled', 'nocatalog', 'allow_expired', 'visibility', 'member_status', 'owner', 'fields', 'include', 'vm_state', 'task_state',
];

export interface QueryPlan {
  pairs: [string, string][];
  /** Send values as they are, without percent-encoding (so %zz and & reach the parser). */
  raw: boolean;
}

export function queryFor(route: RouteInfo): fc.Arbitrary<QueryPlan> {
  const own = Object.keys(((route.querystring ?? {}) as Schema).properties as object ?? {});
  const key = fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...own, ...QUERY_KEYS) }, { weight: 1, arbitrary: nastyString });
  const value = fc.oneof(nastyString, fc.nat(1000).map(String), fc.constantFrom('true', 'false', 'asc', 'desc', 'created_at', 'display_name', 'uuid'));
  return fc.record({ pairs: fc.array(fc.tuple(key, value), { maxLength: 6 }), raw: fc.nat(6).map((n) => n === 0) });
}

export type Who = 'admin' | 'member' | 'anonymous' | 'bogus';

/** Microversion headers: absent, in range, out of range, malformed, `latest`, legacy or duplicated. */
export const versionHeaders: fc.Arbitrary<[string, string][]> = fc.oneof(
  { weight: 4, arbitrary: fc.constant<[string, string][]>([]) },
  { weight: 6, arbitrary: fc.integer({ min: 1, max: 80 }).map((m): [string, string][] => [['openstack-api-version', `compute 2.${m}`]]) },
  {
    weight: 3,
    arbitrary: fc.constantFrom('compute latest', 'compute 2.81', 'compute 2.0', 'compute 3.0', 'compute 1.1', 'compute 2.999999999999',
      'compute 2.x', 'compute', 'compute 2', 'compute 2.01', 'compute -2.5', ' compute  2.5 ', 'COMPUTE 2.5', 'volume 2.5', 'compute 2.5, volume 3.0',
      'image 2.5', '2.5', '', 'compute 2.5.1', 'compute 02.5').map((v): [string, string][] => [['openstack-api-version', v]]),
  },
  { weight: 1, arbitrary: fc.constantFrom('2.1', '2.60', 'latest', '2.99', 'x').map((v): [string, string][] => [['x-openstack-nova-api-version', v]]) },
  { weight: 1, arbitrary: nastyString.filter((s) => /^[\x20-\x7e]*$/.test(s) && s.length < 500).map((v): [string, string][] => [['openstack-api-version', `compute ${v}`]]) },
);

// Mostly JSON, so that bodies reach validation and handlers; the rest tries the content-type parser.
export const contentType: fc.Arbitrary<string | null> = fc.oneof(
  { weight: 12, arbitrary: fc.constant('application/json') },
  {
    weight: 6,
    arbitrary: fc.constantFrom(null, 'application/json; charset=utf-8', 'application/JSON', 'text/plain', 'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x', 'application/json-patch+json', 'application/openstack-images-v2.1-json-patch', 'application/xml', 'garbage', ''),
  },
);

export type ParamPlan = { real: number } | { random: string };

export interface RequestPlan {
  route: number;
  who: Who;
  params: ParamPlan[];
  query: QueryPlan;
  body: BodyPlan;
  versions: [string, string][];
  contentType: string | null;
  /** X-Subject-Token for identity token routes: index into a pool, or random. */
  subject: ParamPlan | null;
  accept: string | null;
  /** Percent-encode one letter of the route's literal path (index into its letters): the router decodes it, auth must too. */
  obfuscate: number | null;
}

export function planFor(routes: RouteInfo[]): fc.Arbitrary<RequestPlan> {
  const param: fc.Arbitrary<ParamPlan> = fc.oneof(
    { weight: 3, arbitrary: fc.nat().map((real) => ({ real })) },
    { weight: 1, arbitrary: nastyString.filter((s) => s.length > 0).map((random) => ({ random })) },
  );
  // Built once per route: schema-derived arbitraries are costly to construct.
  const perRoute = routes.map((r, route): fc.Arbitrary<RequestPlan> => fc.record({
    route: fc.constant(route),
    who: fc.constantFrom<Who>('admin', 'admin', 'member', 'member', 'anonymous', 'bogus'),
    params: fc.tuple(...r.params.map(() => param)) as fc.Arbitrary<ParamPlan[]>,
    query: fc.oneof({ weight: 2, arbitrary: fc.constant<QueryPlan>({ pairs: [], raw: false }) }, { weight: 1, arbitrary: queryFor(r) }),
    body: r.method === 'GET' || r.method === 'HEAD'
      ? fc.oneof({ weight: 9, arbitrary: fc.constant<BodyPlan>({ kind: 'none' }) }, { weight: 1, arbitrary: bodyFor(r) })
      : bodyFor(r),
    versions: versionHeaders,
    contentType,
    subject: fc.option(param, { nil: null }),
    accept: fc.constantFrom(null, null, null, 'application/json', 'application/xml', '*/*', 'text/html'),
    obfuscate: fc.option(fc.nat(), { nil: null, freq: 10 }),
  }));
  // Routes that change state hold most of the logic (and all of the CAS): they are drawn four times as often.
  const draws = routes.flatMap((r, i) => (r.method === 'GET' || r.method === 'HEAD' ? [i] : [i, i, i, i]));
  return fc.constantFrom(...draws).chain((route) => perRoute[route]!);
}
