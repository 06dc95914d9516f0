import { instancesDirOf, peerDiskPath } from './instance-paths';
import { UnsafePeerPath } from './errors';

const UUID = '3f1c2d4e-0000-4000-8000-000000000001';
const OTHER = '3f1c2d4e-0000-4000-8000-000000000002';

describe('paths a peer names', () => {
  it('accepts a file directly in the instance directory of that host, under any state dir', () => {
    const own = `${instancesDirOf('/var/lib/ferry', 'compute-2')}/${UUID}/disk`;
    expect(peerDiskPath(own, 'compute-2', UUID)).toBe(own);
    expect(peerDiskPath(`/srv/state/hosts/compute-2/instances/${UUID}/disk.part`, 'compute-2', UUID)).toBe(`/srv/state/hosts/compute-2/instances/${UUID}/disk.part`);
  });

  it.each([
    ['another instance', `/var/lib/ferry/hosts/compute-2/instances/${OTHER}/disk`],
    ['another host', `/var/lib/ferry/hosts/compute-3/instances/${UUID}/disk`],
    ['a climb out', `/var/lib/ferry/hosts/compute-2/instances/${UUID}/../../../../../../etc/passwd`],
    ['a dot segment', `/var/lib/ferry/hosts/compute-2/instances/${UUID}/./disk`],
    ['a file outside any instances directory', '/etc/passwd'],
    ['a relative path', `hosts/compute-2/instances/${UUID}/disk`],
    ['the instance directory itself', `/var/lib/ferry/hosts/compute-2/instances/${UUID}`],
    ['a doubled slash', `/var/lib/ferry/hosts/compute-2/instances/${UUID}//disk`],
    ['a NUL byte', `/var/lib/ferry/hosts/compute-2/instances/${UUID}/disk\0`],
    ['not a string', 42],
    ['nothing', ''],
  ])('refuses %s', (_name, path) => {
    expect(() => peerDiskPath(path, 'compute-2', UUID)).toThrow(UnsafePeerPath);
  });
});
