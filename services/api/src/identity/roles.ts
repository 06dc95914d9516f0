// Ferry's roles, as Keystone's bootstrap creates them: admin implies member, member implies reader.

export interface RoleRef {
  id: string;
  name: string;
}

/** Fixed ids, so a role has the same id in every Ferry deployment and across restarts. */
export const ROLES: readonly RoleRef[] = Object.freeze([
  { id: 'b17c691b52934220101197e0d0628bc7', name: 'admin' },
  { id: '4c1c9a5073a2f407b6f5d89fed9d6232', name: 'member' },
  { id: 'fb58af3ad50bcf69e8e99e633c453193', name: 'reader' },
]);

/** Keystone's default implied roles: holding the key means holding the value too. */
const IMPLIES: Readonly<Record<string, string>> = Object.freeze({ admin: 'member', member: 'reader' });

/** Assigned role names plus every role they imply, in ROLES order; a name Ferry does not know keeps its name as id. */
export function effectiveRoles(assigned: readonly string[]): RoleRef[] {
  const names = new Set<string>();
  for (const role of assigned) {
    for (let name: string | undefined = role; name !== undefined && !names.has(name); name = IMPLIES[name]) names.add(name);
  }
  const known = ROLES.filter((r) => names.has(r.name));
  const unknown = [...names].filter((n) => !ROLES.some((r) => r.name === n)).sort().map((name) => ({ id: name, name }));
  return [...known, ...unknown];
}
