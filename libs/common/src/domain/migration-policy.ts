// The migration policy in force for one instance (KubeVirt's MigrationPolicy, chosen per instance): each knob from
// the most specific place that sets it well — server metadata, then image properties, then flavor extra specs —
// else the cluster's setting. An entry that cannot apply is skipped, with the reason, for the next place down.
import { BANDWIDTH_METADATA_KEY } from './live-migration-data';

/** Every policy key starts with this; the same keys serve server metadata, image properties and flavor extra specs. */
export const MIGRATION_POLICY_PREFIX = 'ferry:migration_policy:';

export interface MigrationPolicy {
  /** Bytes per second one migration may use (the host's own setting stays a ceiling). */
  bandwidth_bytes_per_s: number;
  /** The largest downtime (ms) the downtime ramp finally allows. */
  max_downtime_ms: number;
  /** Seconds per GiB of guest RAM before the completion timeout's action (0: never). */
  completion_timeout_s_per_gib: number;
  auto_converge: boolean;
  /** Force-complete (and a completion timeout's force_complete) switches to post-copy instead of pausing the guest. */
  post_copy: boolean;
}

export type PolicyKnob = keyof MigrationPolicy;

/** Where a value in force came from, most specific first. */
export const POLICY_SOURCES = ['server', 'image', 'flavor', 'default'] as const;
export type PolicySource = (typeof POLICY_SOURCES)[number];
export type PolicyLayer = Exclude<PolicySource, 'default'>;

/** The entries each place holds (server metadata, image properties, flavor extra specs); absent: nothing set there. */
export type PolicyLayers = Partial<Record<PolicyLayer, Readonly<Record<string, string>> | null>>;

/** An entry that did not apply, and why. */
export interface RejectedPolicyEntry {
  source: PolicyLayer;
  key: string;
  value: string;
  problem: string;
}

/** What a migration records: each knob's value and where it came from, and the entries that were skipped. */
export type PolicyInForce = {
  [K in PolicyKnob]: { value: MigrationPolicy[K]; source: PolicySource; key?: string };
} & { rejected: RejectedPolicyEntry[] };

type Parsed<T> = { value: T } | { problem: string };

const MIB = 1024 * 1024;
const MAX_BANDWIDTH_MIB_S = 1024 * 1024;

function integerIn(min: number, max: number) {
  return (raw: string): Parsed<number> => {
    const s = raw.trim();
    if (!/^\d+$/.test(s)) return { problem: `must be an integer from ${min} to ${max}` };
    const n = Number(s);
    return n >= min && n <= max ? { value: n } : { problem: `must be an integer from ${min} to ${max}` };
  };
}

function mibPerSecond(raw: string): Parsed<number> {
  const s = raw.trim();
  const n = /^\d+(\.\d+)?$/.test(s) ? Number(s) : NaN;
  if (!(n > 0 && n <= MAX_BANDWIDTH_MIB_S)) return { problem: `must be a number of MiB/s above 0 and at most ${MAX_BANDWIDTH_MIB_S}` };
  return { value: Math.max(1, Math.round(n * MIB)) };
}

function boolean(raw: string): Parsed<boolean> {
  const s = raw.trim().toLowerCase();
  if (['true', '1', 'yes', 'on'].includes(s)) return { value: true };
  if (['false', '0', 'no', 'off'].includes(s)) return { value: false };
  return { problem: 'must be true or false' };
}

interface KnobSpec<K extends PolicyKnob> {
  /** Keys that set the knob, the preferred one first (a place holding several takes the first it has). */
  keys: readonly string[];
  parse: (raw: string) => Parsed<MigrationPolicy[K]>;
}

/** The knobs and their keys; ranges match the cluster settings the defaults come from. */
export const POLICY_KNOBS: { readonly [K in PolicyKnob]: KnobSpec<K> } = {
  // The older per-server key still counts, below the namespaced one.
  bandwidth_bytes_per_s: { keys: [`${MIGRATION_POLICY_PREFIX}bandwidth_mib_s`, BANDWIDTH_METADATA_KEY], parse: mibPerSecond },
  max_downtime_ms: { keys: [`${MIGRATION_POLICY_PREFIX}max_downtime_ms`], parse: integerIn(100, 600_000) },
  completion_timeout_s_per_gib: { keys: [`${MIGRATION_POLICY_PREFIX}completion_timeout_s_per_gib`], parse: integerIn(0, 86_400) },
  auto_converge: { keys: [`${MIGRATION_POLICY_PREFIX}auto_converge`], parse: boolean },
  post_copy: { keys: [`${MIGRATION_POLICY_PREFIX}post_copy`], parse: boolean },
};

const KNOB_NAMES = Object.keys(POLICY_KNOBS) as PolicyKnob[];
const KNOWN_KEYS = new Set(KNOB_NAMES.flatMap((k) => POLICY_KNOBS[k].keys));

/**
 * The problems with the policy entries among `entries` (other keys are not looked at): an unknown key under the
 * policy prefix, or a value its knob refuses. Empty when every policy entry is good. The API refuses these with a 400.
 */
export function policyEntryProblems(entries: Readonly<Record<string, string>>): string[] {
  const problems: string[] = [];
  for (const [key, value] of Object.entries(entries)) {
    if (!KNOWN_KEYS.has(key)) {
      if (key.startsWith(MIGRATION_POLICY_PREFIX)) {
        problems.push(`${key} is not a migration policy key (known: ${[...KNOWN_KEYS].filter((k) => k.startsWith(MIGRATION_POLICY_PREFIX)).join(', ')})`);
      }
      continue;
    }
    const knob = KNOB_NAMES.find((k) => POLICY_KNOBS[k].keys.includes(key))!;
    const parsed = POLICY_KNOBS[knob].parse(String(value));
    if ('problem' in parsed) problems.push(`${key} ${parsed.problem}, not ${JSON.stringify(String(value))}`);
  }
  return problems;
}

/**
 * The policy in force: for each knob, the first place (server, image, flavor) holding a key for it whose value parses
 * and — for bandwidth — does not exceed the default, which is the host's ceiling; else the default. Pure.
 */
export function policyInForce(defaults: MigrationPolicy, layers: PolicyLayers): PolicyInForce {
  const rejected: RejectedPolicyEntry[] = [];
  const pick = <K extends PolicyKnob>(knob: K): PolicyInForce[K] => knobInForce(knob, defaults[knob], layers, rejected);
  return {
    bandwidth_bytes_per_s: pick('bandwidth_bytes_per_s'),
    max_downtime_ms: pick('max_downtime_ms'),
    completion_timeout_s_per_gib: pick('completion_timeout_s_per_gib'),
    auto_converge: pick('auto_converge'),
    post_copy: pick('post_copy'),
    rejected,
  };
}

/**
 * Bytes per second one live migration of the instance may use: the bandwidth its policy sets, else `ceiling` (the
 * host's own setting, which a policy may lower but not raise). The same choice `policyInForce` makes.
 */
export function bandwidthInForce(ceiling: number, layers: PolicyLayers): number {
  return knobInForce('bandwidth_bytes_per_s', ceiling, layers, []).value;
}

/** One knob: the first place holding a good value for it, else the default; skipped entries go to `rejected`. */
function knobInForce<K extends PolicyKnob>(knob: K, fallback: MigrationPolicy[K], layers: PolicyLayers, rejected: RejectedPolicyEntry[]): PolicyInForce[K] {
  const spec = POLICY_KNOBS[knob];
  for (const source of POLICY_SOURCES) {
    if (source === 'default') break;
    const entries = layers[source];
    if (!entries) continue;
    const key = spec.keys.find((k) => Object.hasOwn(entries, k));
    if (key === undefined) continue;
    const raw = String(entries[key]);
    const parsed = spec.parse(raw);
    let problem = 'problem' in parsed ? parsed.problem : undefined;
    if (!problem && knob === 'bandwidth_bytes_per_s' && (parsed as { value: number }).value > (fallback as number)) {
      problem = `is above this host's ${+((fallback as number) / MIB).toFixed(3)} MiB/s`;
    }
    if (problem) {
      rejected.push({ source, key, value: raw, problem });
      continue;
    }
    return { value: (parsed as { value: MigrationPolicy[K] }).value, source, key } as PolicyInForce[K];
  }
  return { value: fallback, source: 'default' } as PolicyInForce[K];
}

/** The plain values of a policy in force. */
export function policyValues(p: PolicyInForce): MigrationPolicy {
  return {
    bandwidth_bytes_per_s: p.bandwidth_bytes_per_s.value, max_downtime_ms: p.max_downtime_ms.value,
    completion_timeout_s_per_gib: p.completion_timeout_s_per_gib.value, auto_converge: p.auto_converge.value, post_copy: p.post_copy.value,
  };
}
