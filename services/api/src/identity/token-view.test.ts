import { keystoneTime, tokenView } from './token-view';
import type { TokenRecord } from './token-store';

const record = (project: TokenRecord['project']): TokenRecord => ({
  idHash: 'x', auditId: 'audit', issuedAt: new Date('2026-01-07T10:00:00.123Z'), expiresAt: new Date('2026-01-07T11:00:00.123Z'),
  user: { id: 'u1', name: 'demo', domain_id: 'default' }, project, roles: project ? ['member'] : [],
});
const opts = { baseUrl: 'http://h:1', region: 'RegionX', catalog: true };

describe('token view', () => {
  it('writes Keystone timestamps with microseconds', () => {
    expect(keystoneTime(new Date('2026-01-07T10:00:00.123Z'))).toBe('2026-01-07T10:00:00.123000Z');
  });

  it('shows a project-scoped token with roles and the catalog in its region', () => {
    const { token } = tokenView(record({ id: 'p1', name: 'demo', domain_id: 'default' }), opts) as { token: Record<string, any> }; // eslint-disable-line @typescript-eslint/no-explicit-any
    expect(token.project).toEqual({ id: 'p1', name: 'demo', domain: { id: 'default', name: 'Default' } });
    expect(token.roles.map((r: { name: string }) => r.name)).toEqual(['member', 'reader']);
    expect(token.catalog.flatMap((s: { endpoints: { region: string }[] }) => s.endpoints.map((e) => e.region))).toEqual(Array(9).fill('RegionX'));
    expect(token.is_domain).toBe(false);
    expect(tokenView(record({ id: 'p1', name: 'demo', domain_id: 'default' }), { ...opts, catalog: false }).token).not.toHaveProperty('catalog');
  });

  it('shows an unscoped token without project, roles or catalog', () => {
    const { token } = tokenView(record(null), opts);
    expect(Object.keys(token).sort()).toEqual(['audit_ids', 'expires_at', 'issued_at', 'methods', 'user']);
  });
});
