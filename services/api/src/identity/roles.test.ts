import { effectiveRoles, ROLES } from './roles';

describe('effective roles', () => {
  const names = (assigned: string[]) => effectiveRoles(assigned).map((r) => r.name);

  it('adds the roles each assigned role implies', () => {
    expect(names(['admin'])).toEqual(['admin', 'member', 'reader']);
    expect(names(['member'])).toEqual(['member', 'reader']);
    expect(names(['reader'])).toEqual(['reader']);
    expect(names([])).toEqual([]);
  });

  it('lists each role once, in a fixed order, with fixed ids', () => {
    expect(effectiveRoles(['reader', 'admin', 'member'])).toEqual(ROLES);
    expect(new Set(ROLES.map((r) => r.id)).size).toBe(ROLES.length);
    for (const r of ROLES) expect(r.id).toMatch(/^[0-9a-f]{32}$/);
  });

  it('keeps a role Ferry does not know, named by itself', () => {
    expect(effectiveRoles(['auditor', 'member'])).toEqual([ROLES[1], ROLES[2], { id: 'auditor', name: 'auditor' }]);
  });
});
