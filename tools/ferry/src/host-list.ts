// Host lists as pdsh and Slurm write them: `sim-[0001-1000]`, `a,b,c[1-3]`. Zero-padded bounds keep their width.
export class HostListError extends Error {}

const RANGE = /^([^[\]]*)\[(\d+)-(\d+)\]([^[\]]*)$/;
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
/** A process serving more hosts than this is a mistake (a typo in a bound), not a simulation. */
export const MAX_HOSTS = 10_000;

export function expandHostList(list: string): string[] {
  const hosts: string[] = [];
  for (const item of list.split(',').map((s) => s.trim()).filter((s) => s !== '')) {
    const m = RANGE.exec(item);
    if (!m) {
      hosts.push(checked(item));
      continue;
    }
    const [, prefix, fromText, toText, suffix] = m as unknown as [string, string, string, string, string];
    const from = Number(fromText);
    const to = Number(toText);
    if (from > to) throw new HostListError(`host range ${item}: ${fromText} is above ${toText}`);
    if (hosts.length + to - from + 1 > MAX_HOSTS) throw new HostListError(`host list ${list} names more than ${MAX_HOSTS} hosts`);
    const width = fromText.startsWith('0') ? fromText.length : 0;
    for (let n = from; n <= to; n++) hosts.push(checked(`${prefix}${String(n).padStart(width, '0')}${suffix}`));
  }
  if (hosts.length === 0) throw new HostListError('the host list is empty');
  const seen = new Set<string>();
  const twice = hosts.find((h) => seen.size === seen.add(h).size);
  if (twice) throw new HostListError(`host ${twice} is named twice in ${list}`);
  return hosts;
}

function checked(host: string): string {
  if (!NAME.test(host)) throw new HostListError(`${JSON.stringify(host)} is not a host name (letters, digits, dot, dash, underscore; e.g. sim-[0001-1000])`);
  return host;
}
