import type { ApiContext } from '../../http/api-context';
import { parseIsoTime, parseListQuery, strictBool } from './filters';
import { sortKeysFor } from './sort-keys';

const member: ApiContext = { request_id: 'req-1', user_id: 'u', project_id: 'p', user_name: 'u', project_name: 'p', roles: ['member'], is_admin: false };
const admin: ApiContext = { ...member, roles: ['admin'], is_admin: true };
const v = (minor: number) => ({ major: 2, minor });

describe('server list query', () => {
  it('reads times as Nova does: no zone is UTC, a date alone is midnight', () => {
    expect(parseIsoTime('x', '2024-05-01T10:00:00Z').toISOString()).toBe('2024-05-01T10:00:00.000Z');
    expect(parseIsoTime('x', '2024-05-01T10:00:00').toISOString()).toBe('2024-05-01T10:00:00.000Z');
    expect(parseIsoTime('x', '2024-05-01T12:00:00+02:00').toISOString()).toBe('2024-05-01T10:00:00.000Z');
    expect(parseIsoTime('x', '2024-05-01').toISOString()).toBe('2024-05-01T00:00:00.000Z');
    expect(() => parseIsoTime('changes-since', 'May 1st')).toThrow("Invalid input for query parameters changes-since. Value: May 1st. 'May 1st' is not a 'date-time'");
  });

  it('reads booleans strictly, with an optional meaning for the empty value', () => {
    expect(['1', 'True', 'yes', 'on', 't', 'Y'].map((s) => strictBool(s))).toEqual([true, true, true, true, true, true]);
    expect(['0', 'false', 'no', 'off'].map((s) => strictBool(s))).toEqual([false, false, false, false]);
    expect(strictBool('', true)).toBe(true);
    expect(() => strictBool('maybe')).toThrow(/Unrecognized value 'maybe'/);
  });

  it('sorts newest first by default and always ends with created_at and uuid', () => {
    expect(parseListQuery({}, member, v(1), true).sort).toEqual([{ key: 'created_at', dir: 'desc' }, { key: 'uuid', dir: 'desc' }]);
    expect(parseListQuery({ sort_key: 'display_name', sort_dir: 'asc' }, member, v(1), true).sort).toEqual([
      { key: 'display_name', dir: 'asc' }, { key: 'created_at', dir: 'asc' }, { key: 'uuid', dir: 'asc' },
    ]);
  });

  it('drops filters a member may not use, keeps them for admins', () => {
    expect([...parseListQuery({ host: 'h', name: 'x' }, member, v(1), true).filters.keys()]).toEqual(['name']);
    expect([...parseListQuery({ host: 'h', name: 'x' }, admin, v(1), true).filters.keys()]).toEqual(['host', 'name']);
    expect(parseListQuery({ all_tenants: '' }, admin, v(1), true).projectId).toBeNull();
    expect(parseListQuery({}, admin, v(1), true).projectId).toBe('p');
  });

  it('offers locked as a sort key from 2.73 and stops ignoring keys at 2.75', () => {
    expect(sortKeysFor(v(72)).ignored.has('locked')).toBe(true);
    expect(sortKeysFor(v(73)).valid.has('locked') && !sortKeysFor(v(73)).ignored.has('locked')).toBe(true);
    expect(sortKeysFor(v(75)).valid.has('vcpus')).toBe(false);
    expect(sortKeysFor(v(74)).valid.has('vcpus')).toBe(true);
  });
});
