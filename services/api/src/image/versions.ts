// Image API version discovery, in Glance's shape: every v2 minor Ferry speaks, the newest CURRENT, each
// pointing at <public>/image/v2/. Glance answers it with 300 Multiple Choices; keystoneauth reads the list.

/** Newest Image API minor Ferry's subset matches (2.7 added os_hidden and the multihash fields it shows). */
export const IMAGE_API_MINOR = 7;

export function imageVersions(baseUrl: string) {
  const href = `${baseUrl}/image/v2/`;
  return {
    versions: Array.from({ length: IMAGE_API_MINOR + 1 }, (_, i) => IMAGE_API_MINOR - i).map((minor) => ({
      id: `v2.${minor}`,
      status: minor === IMAGE_API_MINOR ? 'CURRENT' : 'SUPPORTED',
      links: [{ rel: 'self', href }],
    })),
  };
}
