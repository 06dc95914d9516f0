// The known_hosts store, in OpenSSH's format so `ssh-keyscan` output and an operator's habits work unchanged.
import { createHmac } from 'node:crypto';
import { appendFile, mkdir, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { hostKeyFromBlob, type PublicHostKey } from './host-key';

/** One line of known_hosts. */
export interface KnownHost {
  /** 1-based line number, for messages that point an operator at it. */
  readonly line: number;
  readonly marker?: 'revoked' | 'cert-authority';
  /** The host field: comma-separated patterns, or one hashed name (|1|salt|hash). */
  readonly hosts: string;
  readonly key: PublicHostKey;
}

/**
 * The entries of a known_hosts text. Blank lines, comments and lines that do not parse are skipped, as the ssh
 * client skips them.
 */
export function parseKnownHosts(text: string): KnownHost[] {
  const entries: KnownHost[] = [];
  text.split('\n').forEach((raw, i) => {
    const fields = raw.trim().split(/\s+/);
    if (fields[0] === '' || fields[0].startsWith('#')) return;
    let marker: KnownHost['marker'];
    if (fields[0] === '@revoked' || fields[0] === '@cert-authority') marker = fields.shift()!.slice(1) as KnownHost['marker'];
    const [hosts, type, base64] = fields;
    if (!hosts || !type || !base64) return;
    try {
      const key = hostKeyFromBlob(Buffer.from(base64, 'base64'));
      if (key.type !== type) return;
      entries.push({ line: i + 1, ...(marker ? { marker } : {}), hosts, key });
    } catch {
      // not a key: ignored, like the ssh client does
    }
  });
  return entries;
}

/** How OpenSSH names an endpoint in known_hosts: the bare address on port 22, `[address]:port` otherwise. */
export function endpointName(address: string, port: number): string {
  return port === 22 ? address : `[${address}]:${port}`;
}

/** Whether the entry's host field names `name` (plain patterns with * ? and !negation, or a hashed name). */
export function namesHost(hosts: string, name: string): boolean {
  const lower = name.toLowerCase();
  if (hosts.startsWith('|1|')) return hashedNameMatches(hosts, lower);
  let matched = false;
  for (const pattern of hosts.toLowerCase().split(',')) {
    const negated = pattern.startsWith('!');
    if (!globMatches(negated ? pattern.slice(1) : pattern, lower)) continue;
    if (negated) return false;
    matched = true;
  }
  return matched;
}

function globMatches(pattern: string, name: string): boolean {
  const source = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${source}$`).test(name);
}

function hashedNameMatches(hosts: string, name: string): boolean {
  const [, , salt, hash] = hosts.split('|');
  if (!salt || !hash) return false;
  return createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest('base64') === hash;
}

/** A known_hosts line pinning key under names. */
export function knownHostsLine(names: readonly string[], key: PublicHostKey): string {
  return `${names.join(',')} ${key.type} ${key.blob.toString('base64')}`;
}

/** The known_hosts file of one Ferry host: read before every connection, appended to when a key is pinned. */
export class KnownHostsFile {
  constructor(readonly path: string) {}

  async entries(): Promise<KnownHost[]> {
    try {
      return parseKnownHosts(await readFile(this.path, 'utf8'));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
  }

  /** Appends a line pinning key under names (O_APPEND: concurrent pins each land whole). */
  async pin(names: readonly string[], key: PublicHostKey): Promise<void> {
    await mkdir(dirname(this.path), { recursive: true });
    let text = '';
    try {
      text = await readFile(this.path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    const separator = text === '' || text.endsWith('\n') ? '' : '\n';
    await appendFile(this.path, `${separator}${knownHostsLine(names, key)}\n`, { mode: 0o644 });
  }
}
