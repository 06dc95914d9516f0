import { DEFAULT_LIMIT, MAX_LIMIT, readImageListQuery } from './list-query';

describe('image list query', () => {
  it('defaults to 25 newest first, ties broken by id, hidden images left out', () => {
    expect(readImageListQuery({})).toEqual({
      limit: DEFAULT_LIMIT, sort: [{ key: 'created_at', dir: 'desc' }, { key: 'id', dir: 'desc' }], exact: {}, hidden: false, tags: [], properties: {},
    });
  });

  it('caps the limit and reads both sort syntaxes', () => {
    expect(readImageListQuery({ limit: '5000' }).limit).toBe(MAX_LIMIT);
    expect(readImageListQuery({ sort: 'name:asc,size' }).sort).toEqual([{ key: 'name', dir: 'asc' }, { key: 'size', dir: 'desc' }, { key: 'id', dir: 'desc' }]);
    expect(readImageListQuery({ sort_key: ['name', 'size'], sort_dir: ['asc', 'desc'] }).sort)
      .toEqual([{ key: 'name', dir: 'asc' }, { key: 'size', dir: 'desc' }, { key: 'id', dir: 'desc' }]);
    expect(readImageListQuery({ sort_key: 'id', sort_dir: 'asc' }).sort).toEqual([{ key: 'id', dir: 'asc' }]);
  });

  it('treats unknown keys as custom property filters', () => {
    const q = readImageListQuery({ os_distro: 'cirros', name: 'x', os_hidden: 'true', tag: ['a', 'b'] });
    expect(q).toMatchObject({ properties: { os_distro: 'cirros' }, exact: { name: 'x' }, hidden: true, tags: ['a', 'b'] });
  });

  it.each([
    [{ limit: '-1' }, 'limit param must be positive'],
    [{ limit: 'x' }, 'limit param must be an integer'],
    [{ sort_key: 'colour' }, /Invalid sort key: colour/],
    [{ sort_dir: 'up' }, 'Invalid sort direction: up'],
    [{ sort_key: ['name', 'size', 'id'], sort_dir: ['asc', 'desc'] }, /does not match/],
    [{ visibility: 'everyone' }, 'Invalid visibility value: everyone'],
    [{ member_status: 'maybe' }, 'Invalid status value: maybe'],
    [{ size_min: '-3' }, /size_min/],
  ])('rejects %p', (query, message) => {
    expect(() => readImageListQuery(query)).toThrow(message);
  });
});
