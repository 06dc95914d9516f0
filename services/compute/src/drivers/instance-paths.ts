// Where a host keeps each instance's files, and the check every path a peer sends (a cookie, a move record) must pass.
import { createHash } from 'node:crypto';
import { readdir, realpath } from 'node:fs/promises';
import { isAbsolute, join, posix } from 'node:path';
import { UnsafePeerPath } from './errors';

/** The directory of a host's instances under a state dir: `<state dir>/hosts/<host>/instances`. */
export function instancesDirOf(stateDir: string, host: string): string {
  return join(stateDir, 'hosts', host, 'instances');
}

/** The uuids of the instance directories under instancesDir (none when it does not exist), sorted. */
export async function instanceDirs(instancesDir: string): Promise<string[]> {
  try {
    return (await readdir(instancesDir, { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name).sort();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}

/** Identifies the storage under instancesDir: hosts whose instance directories are one directory share it. */
export async function storageIdOf(instancesDir: string): Promise<string> {
  return createHash('sha256').update(await realpath(instancesDir)).digest('hex').slice(0, 16);
}

/**
 * `path` if it names a plain file directly inside `uuid`'s directory on `host`
 * (`…/hosts/<host>/instances/<uuid>/<file>`, absolute, with no `.` or `..` segments); otherwise UnsafePeerPath.
 * Hosts may keep their state dir in different places, so only the part below it is checked: a peer can
 * never make this host write to another instance's files or outside an instances directory.
 */
export function peerDiskPath(path: unknown, host: string, uuid: string): string {
  const refuse = (why: string) =>
    new UnsafePeerPath(`Refusing disk path ${JSON.stringify(path)} for instance ${uuid} on host ${host}: ${why}`, { instance_uuid: uuid, host });
  if (typeof path !== 'string' || path === '') throw refuse('not a path');
  if (!isAbsolute(path) || posix.normalize(path) !== path || path.includes('\0')) throw refuse('not an absolute, normalized path');
  const segments = path.split('/');
  const [file, dir, instances, hostSegment, hosts] = segments.slice(-5).reverse();
  if (hosts !== 'hosts' || hostSegment !== host || instances !== 'instances' || dir !== uuid || !file || file === '.' || file === '..') {
    throw refuse(`not a file of that instance's directory (…/hosts/${host}/instances/${uuid}/<file>)`);
  }
  return path;
}
