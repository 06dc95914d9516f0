// The index's list of ended statuses is frozen in its migration; it must still be exactly the domain's terminal statuses.
import { MIGRATION_MACHINES } from '../../domain';
import { ENDED } from './1768435200000-one-move-per-instance';

it('treats as ended exactly the statuses that are terminal in every migration type that has them', () => {
  const terminal = new Set(Object.values(MIGRATION_MACHINES).flatMap((m) => m.terminal));
  expect([...ENDED].sort()).toEqual([...terminal].sort());
});
