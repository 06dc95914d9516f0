// resize_confirm_window: the destination confirms moves left in VERIFY_RESIZE longer than the window (Nova's
// _poll_unconfirmed_resizes). The confirm itself runs on the source, as an API confirm would.
import { advanceMigration, finishedMovesOlderThan, startAction } from '@ferry/common/db';
import { newRequestContext } from '@ferry/common/rpc';
import type { ComputeContext } from '../compute-context';

export async function autoConfirmResizes(c: ComputeContext): Promise<number> {
  const window = c.config.resizeConfirmWindowSeconds;
  if (window <= 0) return 0;
  let confirmed = 0;
  for (const m of await finishedMovesOlderThan(c.ds, c.host, window)) {
    if (!(await advanceMigration(c.ds, m.id, ['finished'], 'confirming', 'dest'))) continue;
    c.log.info({ migration_id: m.id, instance_uuid: m.instance_uuid, window_seconds: window }, 'confirming a move left unconfirmed past resize_confirm_window');
    // Its own action, as Nova's periodic confirm records one: `server event list` shows who confirmed and when.
    const ctx = newRequestContext({ user_id: m.user_id ?? undefined, project_id: m.project_id ?? undefined });
    await startAction(c.ds, ctx, m.instance_uuid, 'confirmResize');
    await c.computeRpc.confirmResize(ctx, m.source_compute!, m.id).catch((err: unknown) =>
      c.log.error({ migration_id: m.id, err: (err as Error).message }, 'cannot cast confirm_resize; recovery on the source will confirm'));
    confirmed++;
  }
  return confirmed;
}
