import fc from 'fast-check';
import { BANDWIDTH_METADATA_KEY } from './live-migration-data';
import {
  MIGRATION_POLICY_PREFIX as P, POLICY_KNOBS, POLICY_SOURCES, bandwidthInForce, policyEntryProblems, policyInForce, policyValues,
  type MigrationPolicy, type PolicyKnob, type PolicyLayer, type PolicyLayers,
} from './migration-policy';

const MIB = 1024 * 1024;
const DEFAULTS: MigrationPolicy = {
  bandwidth_bytes_per_s: 1024 * MIB, max_downtime_ms: 500, completion_timeout_s_per_gib: 800, auto_converge: false, post_copy: false,
};

describe('the migration policy in force', () => {
  it('is the cluster default when nothing sets a knob', () => {
    const p = policyInForce(DEFAULTS, {});
    expect(policyValues(p)).toEqual(DEFAULTS);
    for (const knob of Object.keys(DEFAULTS) as PolicyKnob[]) expect(p[knob].source).toBe('default');
    expect(p.rejected).toEqual([]);
  });

  it('takes each knob from the most specific place that sets it: server, then image, then flavor', () => {
    const p = policyInForce(DEFAULTS, {
      flavor: { [`${P}max_downtime_ms`]: '300', [`${P}bandwidth_mib_s`]: '100', [`${P}auto_converge`]: 'true', [`${P}post_copy`]: 'true' },
      image: { [`${P}max_downtime_ms`]: '400', [`${P}post_copy`]: 'false' },
      server: { [`${P}max_downtime_ms`]: '250', other: 'x' },
    });
    expect(p.max_downtime_ms).toEqual({ value: 250, source: 'server', key: `${P}max_downtime_ms` });
    expect(p.post_copy).toEqual({ value: false, source: 'image', key: `${P}post_copy` });
    expect(p.auto_converge).toEqual({ value: true, source: 'flavor', key: `${P}auto_converge` });
    expect(p.bandwidth_bytes_per_s).toEqual({ value: 100 * MIB, source: 'flavor', key: `${P}bandwidth_mib_s` });
    expect(p.completion_timeout_s_per_gib).toEqual({ value: 800, source: 'default' });
  });

  it('counts the older per-server bandwidth key, below the namespaced one in the same place', () => {
    expect(policyInForce(DEFAULTS, { server: { [BANDWIDTH_METADATA_KEY]: '64' } }).bandwidth_bytes_per_s)
      .toEqual({ value: 64 * MIB, source: 'server', key: BANDWIDTH_METADATA_KEY });
    expect(policyInForce(DEFAULTS, { server: { [BANDWIDTH_METADATA_KEY]: '64', [`${P}bandwidth_mib_s`]: '32' } }).bandwidth_bytes_per_s.value).toBe(32 * MIB);
    // The older key on the server still beats the flavor's namespaced one: the place decides, not the key.
    expect(policyInForce(DEFAULTS, { server: { [BANDWIDTH_METADATA_KEY]: '64' }, flavor: { [`${P}bandwidth_mib_s`]: '32' } }).bandwidth_bytes_per_s.source).toBe('server');
  });

  it('accepts fractional MiB/s and the usual spellings of booleans', () => {
    const p = policyInForce(DEFAULTS, { server: { [`${P}bandwidth_mib_s`]: '0.5', [`${P}auto_converge`]: 'Yes', [`${P}post_copy`]: ' on ' } });
    expect(p.bandwidth_bytes_per_s.value).toBe(MIB / 2);
    expect([p.auto_converge.value, p.post_copy.value]).toEqual([true, true]);
    expect(policyInForce({ ...DEFAULTS, auto_converge: true }, { flavor: { [`${P}auto_converge`]: '0' } }).auto_converge.value).toBe(false);
  });

  it.each([
    ['max_downtime_ms', 'abc'], ['max_downtime_ms', '99'], ['max_downtime_ms', '600001'], ['max_downtime_ms', '1.5'], ['max_downtime_ms', '-200'],
    ['max_downtime_ms', ''], ['completion_timeout_s_per_gib', '86401'], ['completion_timeout_s_per_gib', '1e3'], ['bandwidth_mib_s', '0'],
    ['bandwidth_mib_s', '-5'], ['bandwidth_mib_s', 'fast'], ['bandwidth_mib_s', 'Infinity'], ['auto_converge', 'maybe'], ['post_copy', '2'],
  ])('skips %s=%j for the next place down, saying why', (suffix, bad) => {
    const key = `${P}${suffix}`;
    const p = policyInForce(DEFAULTS, { server: { [key]: bad } });
    const knob = (Object.keys(POLICY_KNOBS) as PolicyKnob[]).find((k) => POLICY_KNOBS[k].keys.includes(key))!;
    expect(p[knob]).toEqual({ value: DEFAULTS[knob], source: 'default' });
    expect(p.rejected).toEqual([{ source: 'server', key, value: bad, problem: expect.stringMatching(/^must be /) }]);
    expect(policyEntryProblems({ [key]: bad })).toEqual([expect.stringContaining(key)]);
  });

  it('falls back to a less specific place when the more specific value is bad', () => {
    const p = policyInForce(DEFAULTS, { server: { [`${P}max_downtime_ms`]: 'lots' }, image: { [`${P}max_downtime_ms`]: '5' }, flavor: { [`${P}max_downtime_ms`]: '700' } });
    expect(p.max_downtime_ms).toEqual({ value: 700, source: 'flavor', key: `${P}max_downtime_ms` });
    expect(p.rejected.map((r) => r.source)).toEqual(['server', 'image']);
  });

  it('keeps the host bandwidth a ceiling: more than it is skipped', () => {
    const p = policyInForce(DEFAULTS, { server: { [`${P}bandwidth_mib_s`]: '2048' }, flavor: { [`${P}bandwidth_mib_s`]: '512' } });
    expect(p.bandwidth_bytes_per_s).toEqual({ value: 512 * MIB, source: 'flavor', key: `${P}bandwidth_mib_s` });
    expect(p.rejected).toEqual([{ source: 'server', key: `${P}bandwidth_mib_s`, value: '2048', problem: "is above this host's 1024 MiB/s" }]);
  });

  it('finds no problem in good entries nor in keys that are not the policy\'s, and names unknown policy keys', () => {
    expect(policyEntryProblems({ [`${P}max_downtime_ms`]: '300', [`${P}post_copy`]: 'false', [BANDWIDTH_METADATA_KEY]: '10', 'hw:cpu_policy': 'dedicated' })).toEqual([]);
    expect(policyEntryProblems({ [`${P}max_downtime`]: '300' })).toEqual([expect.stringMatching(/^ferry:migration_policy:max_downtime is not a migration policy key/)]);
    expect(policyEntryProblems({ [BANDWIDTH_METADATA_KEY]: 'none' })).toEqual([`${BANDWIDTH_METADATA_KEY} must be a number of MiB/s above 0 and at most 1048576, not "none"`]);
  });
});

describe('bandwidthInForce', () => {
  it('is the ceiling unless a place asks for less, taking the most specific place that sets it well', () => {
    expect(bandwidthInForce(1000 * MIB, {})).toBe(1000 * MIB);
    expect(bandwidthInForce(1000 * MIB, { server: { [BANDWIDTH_METADATA_KEY]: '100' } })).toBe(100 * MIB);
    expect(bandwidthInForce(1000 * MIB, { flavor: { [`${P}bandwidth_mib_s`]: '200' } })).toBe(200 * MIB);
    expect(bandwidthInForce(1000 * MIB, { image: { [`${P}bandwidth_mib_s`]: '300' }, flavor: { [`${P}bandwidth_mib_s`]: '200' } })).toBe(300 * MIB);
    // Above the ceiling, or not a number: skipped for the next place down.
    expect(bandwidthInForce(10 * MIB, { server: { [BANDWIDTH_METADATA_KEY]: '100' }, flavor: { [`${P}bandwidth_mib_s`]: '5' } })).toBe(5 * MIB);
    expect(bandwidthInForce(10 * MIB, { server: { [BANDWIDTH_METADATA_KEY]: 'fast' } })).toBe(10 * MIB);
  });

  it('agrees with the policy in force for any entries', () => {
    fc.assert(fc.property(fc.option(fc.constantFrom('1', '50', '2000', 'x')), fc.option(fc.constantFrom('7', '900', '')), (server, flavor) => {
      const layers: PolicyLayers = {
        ...(server !== null ? { server: { [BANDWIDTH_METADATA_KEY]: server } } : {}), ...(flavor !== null ? { flavor: { [`${P}bandwidth_mib_s`]: flavor } } : {}),
      };
      expect(bandwidthInForce(DEFAULTS.bandwidth_bytes_per_s, layers)).toBe(policyInForce(DEFAULTS, layers).bandwidth_bytes_per_s.value);
    }));
  });
});

describe('the migration policy in force, for any entries', () => {
  const LAYERS: PolicyLayer[] = ['server', 'image', 'flavor'];
  const allKeys = (Object.keys(POLICY_KNOBS) as PolicyKnob[]).flatMap((k) => POLICY_KNOBS[k].keys);
  const value = fc.oneof(
    fc.string(), fc.integer({ min: -10, max: 700_000 }).map(String), fc.constantFrom('true', 'false', 'yes', 'off', '0.5', '1e3', ' 300 ', 'NaN'),
  );
  const entries = fc.dictionary(fc.oneof(fc.constantFrom(...allKeys), fc.string()), value, { maxKeys: 8 });
  const layers: fc.Arbitrary<PolicyLayers> = fc.record({ server: entries, image: entries, flavor: entries }, { requiredKeys: [] });
  const defaults: fc.Arbitrary<MigrationPolicy> = fc.record({
    bandwidth_bytes_per_s: fc.integer({ min: 1024, max: 2 ** 40 }), max_downtime_ms: fc.integer({ min: 100, max: 600_000 }),
    completion_timeout_s_per_gib: fc.integer({ min: 0, max: 86_400 }), auto_converge: fc.boolean(), post_copy: fc.boolean(),
  });

  it('always has every knob in range, from a place that holds a good value for it, with nothing more specific that does', () => {
    fc.assert(fc.property(defaults, layers, (d, l) => {
      const p = policyInForce(d, l);
      const v = policyValues(p);
      expect(v.max_downtime_ms).toBeGreaterThanOrEqual(100);
      expect(v.max_downtime_ms).toBeLessThanOrEqual(600_000);
      expect(v.completion_timeout_s_per_gib).toBeGreaterThanOrEqual(0);
      expect(v.bandwidth_bytes_per_s).toBeGreaterThan(0);
      expect(v.bandwidth_bytes_per_s).toBeLessThanOrEqual(d.bandwidth_bytes_per_s);
      for (const knob of Object.keys(POLICY_KNOBS) as PolicyKnob[]) {
        const { source, key } = p[knob];
        expect(POLICY_SOURCES).toContain(source);
        const goodIn = (layer: PolicyLayer) => policyInForce(d, { [layer]: l[layer] })[knob].source === layer;
        if (source === 'default') {
          expect(p[knob].value).toBe(d[knob]);
          for (const layer of LAYERS) expect(goodIn(layer)).toBe(false);
        } else {
          expect(Object.hasOwn(l[source]!, key!)).toBe(true);
          for (const layer of LAYERS.slice(0, LAYERS.indexOf(source))) expect(goodIn(layer)).toBe(false);
        }
      }
    }), { numRuns: 300 });
  });

  it('rejects exactly the entries the API would refuse, plus bandwidth above the host, each named once', () => {
    fc.assert(fc.property(defaults, layers, (d, l) => {
      const p = policyInForce(d, l);
      for (const r of p.rejected) {
        const refused = policyEntryProblems({ [r.key]: r.value }).length > 0;
        if (!refused) expect(r.problem).toMatch(/above this host/);
      }
      const seen = p.rejected.map((r) => `${r.source} ${r.key}`);
      expect(new Set(seen).size).toBe(seen.length);
    }), { numRuns: 300 });
  });

  it('is the same policy whatever keys outside the policy sit beside it', () => {
    fc.assert(fc.property(defaults, layers, fc.dictionary(fc.string().map((s) => `x-${s}`), fc.string(), { maxKeys: 4 }), (d, l, noise) => {
      const noisy: PolicyLayers = Object.fromEntries(Object.entries(l).map(([k, v]) => [k, { ...noise, ...v }]));
      expect(policyInForce(d, noisy)).toEqual(policyInForce(d, l));
    }), { numRuns: 200 });
  });
});
