// Decides whether a destination's host key is the one pinned for it, and words the refusal when it is not.
import { HostKeyChanged, HostKeyRejected, HostKeyUnknown } from '../errors';
import { algorithmsForKeyType, fingerprintOf, sameHostKey, type PublicHostKey } from './host-key';
import { knownHostsLine, namesHost, type KnownHost, type KnownHostsFile } from './known-hosts';

export type HostKeyVerdict =
  | { readonly kind: 'pinned' }
  | { readonly kind: 'unknown' }
  | { readonly kind: 'changed'; readonly pinned: readonly KnownHost[] }
  | { readonly kind: 'revoked'; readonly entry: KnownHost };

/** Entries that pin a key for any of names (revocations and certificate authorities are not pins). */
export function pinsFor(known: readonly KnownHost[], names: readonly string[]): KnownHost[] {
  return known.filter((e) => e.marker === undefined && names.some((n) => namesHost(e.hosts, n)));
}

/**
 * The offered key is accepted only if a line for one of the destination's names pins exactly it. A host with
 * pinned keys that offers any other key has changed, whatever the key's type.
 */
export function judgeHostKey(known: readonly KnownHost[], names: readonly string[], offered: PublicHostKey): HostKeyVerdict {
  const revoked = known.find((e) => e.marker === 'revoked' && sameHostKey(e.key, offered) && names.some((n) => namesHost(e.hosts, n)));
  if (revoked) return { kind: 'revoked', entry: revoked };
  const pinned = pinsFor(known, names);
  if (pinned.length === 0) return { kind: 'unknown' };
  return pinned.some((e) => sameHostKey(e.key, offered)) ? { kind: 'pinned' } : { kind: 'changed', pinned };
}

/** Pins under way, per known_hosts file: each waits for the one before it. */
const pinsInProgress = new Map<string, Promise<HostKeyVerdict>>();

/**
 * Trust on first use, once: judges the offered key against the file as it is now, after any pin already
 * under way, and pins it only if the destination is still unknown. Two first connections (one of them
 * perhaps to an impostor) cannot pin two different keys; the later one is judged against the first pin.
 * A known_hosts file belongs to one Ferry host, run by one compute process, so an in-process queue suffices.
 */
export async function pinOnFirstUse(file: KnownHostsFile, names: readonly string[], offered: PublicHostKey): Promise<HostKeyVerdict> {
  const before = pinsInProgress.get(file.path);
  const run = (async (): Promise<HostKeyVerdict> => {
    await before?.catch(() => undefined);
    const verdict = judgeHostKey(await file.entries(), names, offered);
    if (verdict.kind !== 'unknown') return verdict;
    await file.pin(names, offered);
    return { kind: 'pinned' };
  })();
  pinsInProgress.set(file.path, run);
  try {
    return await run;
  } finally {
    if (pinsInProgress.get(file.path) === run) pinsInProgress.delete(file.path);
  }
}

/** Host key algorithms to ask for first, so a host offers the type of key pinned for it. */
export function preferredAlgorithms(known: readonly KnownHost[], names: readonly string[]): string[] {
  return [...new Set(pinsFor(known, names).flatMap((e) => algorithmsForKeyType(e.key.type)))];
}

/** Who was contacted, for the refusal's message. */
export interface HostKeyContext {
  /** The Ferry host name of the destination. */
  readonly host: string;
  /** Its names in known_hosts: the host name and `[address]:port`. */
  readonly names: readonly string[];
  readonly knownHostsPath: string;
}

export function rejectionFor(verdict: Exclude<HostKeyVerdict, { kind: 'pinned' }>, offered: PublicHostKey, ctx: HostKeyContext): HostKeyRejected {
  const fingerprint = fingerprintOf(offered);
  const where = `${ctx.host} (${ctx.names.filter((n) => n !== ctx.host).join(', ') || ctx.host})`;
  const details = { host: ctx.host, names: ctx.names, key_type: offered.type, fingerprint, known_hosts: ctx.knownHostsPath };
  switch (verdict.kind) {
    case 'unknown':
      return new HostKeyUnknown(
        `Host key of ${where} is not pinned: it offered ${offered.type} ${fingerprint}. ` +
          `Check that fingerprint on ${ctx.host} (ssh-keygen -lf /etc/ssh/ssh_host_${offered.type.replace(/^ssh-|-.*$/g, '')}_key.pub), ` +
          `then pin it by adding this line to ${ctx.knownHostsPath}: ${knownHostsLine(ctx.names, offered)} ` +
          '(or enable trust on first use to pin whatever key the host offers first).',
        details,
      );
    case 'changed': {
      const pins = verdict.pinned.map((e) => `${e.key.type} ${fingerprintOf(e.key)} (line ${e.line})`).join(', ');
      return new HostKeyChanged(
        `Host key for ${where} changed: it offered ${offered.type} ${fingerprint}, but ${ctx.knownHostsPath} pins ${pins}. ` +
          'Refusing to connect: someone may be intercepting the connection. If the host was reinstalled, verify its new key, ' +
          'then replace the old line.',
        { ...details, pinned: verdict.pinned.map((e) => ({ line: e.line, key_type: e.key.type, fingerprint: fingerprintOf(e.key) })) },
      );
    }
    case 'revoked':
      return new HostKeyRejected(
        `Host key of ${where} is revoked: it offered ${offered.type} ${fingerprint}, which ${ctx.knownHostsPath} line ${verdict.entry.line} marks @revoked.`,
        { ...details, revoked_line: verdict.entry.line },
      );
  }
}
