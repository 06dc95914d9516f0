// The places a migration policy is read from, for many instances in one statement: server metadata, the properties of
// the image each booted from (deleted or not), and its flavor's extra specs.
import type { PolicyLayers } from '../../domain';
import type { Db } from '../db-handle';

interface LayerRow {
  uuid: string;
  metadata: Record<string, string> | null;
  image: Record<string, string> | null;
  flavor: Record<string, string> | null;
}

/** Each instance's policy layers, by uuid; an instance that does not exist is absent. */
export async function policyLayersOf(db: Db, uuids: readonly string[]): Promise<Map<string, PolicyLayers>> {
  if (uuids.length === 0) return new Map();
  const rows: LayerRow[] = await db.query(
    `SELECT i.uuid, i.metadata, img.properties AS image, i.flavor->'extra_specs' AS flavor
       FROM instances i LEFT JOIN images img ON img.id::text = i.image_ref
      WHERE i.uuid = ANY($1)`,
    [uuids],
  );
  return new Map(rows.map((r) => [r.uuid, { server: r.metadata, image: r.image, flavor: r.flavor }]));
}
