// Identity version discovery documents, in the shape keystoneauth parses (Keystone's own).

export const IDENTITY_VERSION_ID = 'v3.14';

export function identityVersion(baseUrl: string) {
  return {
    id: IDENTITY_VERSION_ID,
    status: 'stable',
    updated: '2020-04-07T00:00:00Z',
    links: [{ rel: 'self', href: `${baseUrl}/identity/v3/` }],
    'media-types': [{ base: 'application/json', type: 'application/vnd.openstack.identity-v3+json' }],
  };
}

/** `GET /identity`: Keystone answers 300 Multiple Choices with every version it offers. */
export function identityVersions(baseUrl: string) {
  return { versions: { values: [identityVersion(baseUrl)] } };
}
