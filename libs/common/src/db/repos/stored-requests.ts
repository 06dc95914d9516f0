// What an accepted request carried that the instance row has no column for, kept in system_metadata until the step
// that uses it ran: the reconciler re-drives a lost message with the same request.
import type { DataSource } from 'typeorm';

/**
 * Sets (or, for null, removes) one system_metadata entry, merged in one statement so concurrent writers of other
 * keys lose nothing.
 */
export async function rememberRequestValue(ds: DataSource, instanceUuid: string, key: string, value: string | null): Promise<void> {
  await ds.query(
    `UPDATE instances SET system_metadata = CASE WHEN $2::text IS NULL THEN coalesce(system_metadata, '{}'::jsonb) - $3::text
                                                 ELSE coalesce(system_metadata, '{}'::jsonb) || jsonb_build_object($3::text, $2::text) END
      WHERE uuid = $1`,
    [instanceUuid, value, key],
  );
}
