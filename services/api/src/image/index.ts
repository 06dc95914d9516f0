// The Image API v2 subset Ferry serves at /image: version discovery, image list and show, and the schemas.
import type { RoutesPlugin } from '../api-deps';
import { readImageListQuery } from './list-query';
import { getImage, listImages } from './repo';
import { IMAGE_SCHEMA, IMAGES_SCHEMA } from './schemas';
import { imageVersions } from './versions';
import { imageView } from './views';

export const IMAGE_PREFIX = '/image';

type Query = Record<string, unknown>;

/** Glance's relative collection links: the query as given, with marker replaced by the page's last id. */
function pageLinks(query: Query, nextMarker: string | undefined) {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) {
    if (k === 'marker') continue;
    for (const one of Array.isArray(v) ? v : [v]) params.append(k, String(one));
  }
  const first = params.size ? `/v2/images?${params.toString()}` : '/v2/images';
  if (nextMarker === undefined) return { first };
  params.set('marker', nextMarker);
  return { first, next: `/v2/images?${params.toString()}` };
}

/** Version discovery needs no token: Glance answers it with 300 Multiple Choices, at its root and at /v2. */
export const imageVersionRoutes: RoutesPlugin = async (app, { deps }) => {
  for (const path of ['/', '/v2', '/v2/']) app.get(path, async (_req, reply) => reply.code(300).send(imageVersions(deps.publicUrl())));
};

/** The image routes proper; each needs a token. */
export const imageRoutes: RoutesPlugin = async (app, { deps }) => {
  const ds = deps.db.dataSource;

  app.get('/v2/images', async (req) => {
    const query = req.query as Query;
    const q = readImageListQuery(query);
    const images = await listImages(ds, req.ctx, q);
    const full = q.limit > 0 && images.length === q.limit;
    return {
      images: images.map(imageView),
      ...pageLinks(query, full ? images[images.length - 1]!.id : undefined),
      schema: '/v2/schemas/images',
    };
  });

  app.get<{ Params: { id: string } }>('/v2/images/:id', async (req) => imageView(await getImage(ds, req.ctx, req.params.id)));
  app.get('/v2/schemas/image', async () => IMAGE_SCHEMA);
  app.get('/v2/schemas/images', async () => IMAGES_SCHEMA);
};
