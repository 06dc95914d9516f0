// Resource links in Nova's shape: a versioned "self" link and an unversioned "bookmark".
export function resourceLinks(baseUrl: string, collection: string, id: string | number) {
  return [
    { rel: 'self', href: `${baseUrl}/compute/v2.1/${collection}/${id}` },
    { rel: 'bookmark', href: `${baseUrl}/compute/${collection}/${id}` },
  ];
}
