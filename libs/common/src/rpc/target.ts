// Target: where a message goes (a topic, one server of it, or all of them) and which API version it asks for.
import { DEFAULT_VERSION, isVersion } from './version';

export interface Target {
  readonly topic: string;
  /** One server of the topic; without it a call or cast goes to any one server (round-robin). */
  readonly server?: string;
  /** Cast to every server of the topic. */
  readonly fanout?: boolean;
  /** The API version the caller needs, "major.minor"; default 1.0. */
  readonly version?: string;
  /** Endpoint namespace, for endpoints that declare one. */
  readonly namespace?: string;
}

export interface ServerTarget {
  readonly topic: string;
  readonly server: string;
}

export type TargetOverrides = Partial<Pick<Target, 'server' | 'fanout' | 'version' | 'namespace'>>;

// A topic is one routing-key word: a dot would make `T.H` ambiguous.
const TOPIC = /^[A-Za-z0-9_-]+$/;
// A server name is a routing-key tail; `*` and `#` would turn its binding into a wildcard.
const SERVER = /^[^\s*#]+$/;

/** A validated, frozen Target; throws a TypeError naming the bad field. */
export function makeTarget(target: Target): Target {
  const { topic, server, fanout, version, namespace } = target;
  if (typeof topic !== 'string' || !TOPIC.test(topic)) {
    throw new TypeError(`RPC target topic must match ${TOPIC}, got ${JSON.stringify(topic)}`);
  }
  if (server !== undefined && (typeof server !== 'string' || !SERVER.test(server))) {
    throw new TypeError(`RPC target server must be a non-empty name without spaces, * or #, got ${JSON.stringify(server)}`);
  }
  if (fanout !== undefined && typeof fanout !== 'boolean') {
    throw new TypeError(`RPC target fanout must be a boolean, got ${JSON.stringify(fanout)}`);
  }
  if (version !== undefined && !isVersion(version)) {
    throw new TypeError(`RPC target version must be "major.minor", got ${JSON.stringify(version)}`);
  }
  if (namespace !== undefined && (typeof namespace !== 'string' || namespace === '')) {
    throw new TypeError(`RPC target namespace must be a non-empty string, got ${JSON.stringify(namespace)}`);
  }
  return Object.freeze({
    topic,
    ...(server !== undefined ? { server } : {}),
    ...(fanout ? { fanout } : {}),
    ...(version !== undefined ? { version } : {}),
    ...(namespace !== undefined ? { namespace } : {}),
  });
}

/** A new Target: target with overrides applied (an explicit undefined clears a field). */
export function withOverrides(target: Target, overrides: TargetOverrides): Target {
  return makeTarget({ ...target, ...overrides });
}

export function versionOf(target: Target): string {
  return target.version ?? DEFAULT_VERSION;
}

/** "compute", "compute.host1" or "compute (fanout)", for messages and logs. */
export function describeTarget(target: Target): string {
  if (target.fanout) return `${target.topic} (fanout)`;
  return target.server !== undefined ? `${target.topic}.${target.server}` : target.topic;
}
