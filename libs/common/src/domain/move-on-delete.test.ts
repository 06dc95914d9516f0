import { statusEndingMoveOnDelete } from './move-on-delete';

describe('the status a move ends in when its instance is deleted', () => {
  it('errors out a cold move before VERIFY_RESIZE, from either host or the API', () => {
    for (const type of ['migration', 'resize']) {
      for (const status of ['pre-migrating', 'migrating', 'post-migrating', 'reverting']) {
        for (const role of ['source', 'dest', 'api'] as const) expect(statusEndingMoveOnDelete(type, status, role)).toBe('error');
      }
    }
  });

  it('leaves a cold move in VERIFY_RESIZE to the destination\'s confirm, a confirm under way to finish, and a finished record alone', () => {
    for (const status of ['finished', 'confirming', 'confirmed', 'reverted', 'error', 'failed']) expect(statusEndingMoveOnDelete('resize', status, 'dest')).toBeUndefined();
    expect(statusEndingMoveOnDelete('resize', 'confirming', 'source')).toBeUndefined();
    // With the destination down the API cannot have it confirmed: the record errors out.
    expect(statusEndingMoveOnDelete('migration', 'finished', 'api')).toBe('error');
  });

  it('cancels a live migration where the writer may, leaving the rest to the side that may', () => {
    for (const status of ['queued', 'preparing', 'running', 'post-migrating']) expect(statusEndingMoveOnDelete('live-migration', status, 'source')).toBe('cancelled');
    expect(statusEndingMoveOnDelete('live-migration', 'running', 'dest')).toBe('cancelled');
    // After Finish only the source may cancel: the destination leaves it to the source's Confirm.
    expect(statusEndingMoveOnDelete('live-migration', 'post-migrating', 'dest')).toBeUndefined();
    expect(statusEndingMoveOnDelete('live-migration', 'accepted', 'dest')).toBe('error');
    // The API (the source down) leaves a running one to the destination and to the source's recovery.
    expect(statusEndingMoveOnDelete('live-migration', 'running', 'api')).toBeUndefined();
    expect(statusEndingMoveOnDelete('live-migration', 'queued', 'api')).toBe('cancelled');
    expect(statusEndingMoveOnDelete('live-migration', 'completed', 'source')).toBeUndefined();
  });

  it('knows nothing of unknown types or statuses', () => {
    expect(statusEndingMoveOnDelete('teleport', 'running', 'source')).toBeUndefined();
    expect(statusEndingMoveOnDelete('resize', 'running', 'source')).toBeUndefined();
  });
});
