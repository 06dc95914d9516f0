// The shared read loop as data: one read per interval whatever the number of subscribers, a push only on change, a
// late subscriber served the latest snapshot at once, the loop stopped with the last subscriber, refused ones dropped.
import { silentLogger } from '@ferry/common/log';
import { KEEPALIVE_FRAME, SnapshotFeed, snapshotEvent, type FeedSink } from './feed';

class Sink implements FeedSink {
  frames: string[] = [];
  ended = false;
  write(frame: string): void {
    this.frames.push(frame);
  }
  end(): void {
    this.ended = true;
  }
}

describe('SnapshotFeed', () => {
  let value: unknown;
  let reads: number;
  let feed: SnapshotFeed<unknown>;
  const allowed = async () => true;

  beforeEach(() => {
    jest.useFakeTimers();
    value = { hosts: 1 };
    reads = 0;
    feed = new SnapshotFeed({ read: async () => { reads++; return value; }, intervalMs: 100, heartbeatMs: 1000, log: silentLogger() });
  });

  afterEach(async () => {
    await feed.close();
    jest.useRealTimers();
  });

  it('reads once per interval for any number of subscribers and pushes only what changed', async () => {
    const sinks = [new Sink(), new Sink(), new Sink()];
    for (const s of sinks) feed.subscribe(s, allowed);
    await jest.advanceTimersByTimeAsync(0);
    expect(reads).toBe(1);
    await jest.advanceTimersByTimeAsync(500);
    expect(reads).toBe(6);
    for (const s of sinks) expect(s.frames).toEqual([snapshotEvent(1, '{"hosts":1}')]);
    value = { hosts: 2 };
    await jest.advanceTimersByTimeAsync(100);
    for (const s of sinks) expect(s.frames).toEqual([snapshotEvent(1, '{"hosts":1}'), snapshotEvent(2, '{"hosts":2}')]);
  });

  it('serves a late subscriber the latest snapshot at once, and keeps idle streams alive', async () => {
    feed.subscribe(new Sink(), allowed);
    await jest.advanceTimersByTimeAsync(0);
    const late = new Sink();
    feed.subscribe(late, allowed);
    expect(late.frames).toEqual([snapshotEvent(1, '{"hosts":1}')]);
    await jest.advanceTimersByTimeAsync(1000);
    expect(late.frames.slice(1)).toEqual([KEEPALIVE_FRAME]);
  });

  it('stops reading when the last subscriber leaves, and reads afresh for the next one', async () => {
    const leave = feed.subscribe(new Sink(), allowed);
    await jest.advanceTimersByTimeAsync(250);
    leave();
    const before = reads;
    await jest.advanceTimersByTimeAsync(1000);
    expect(reads).toBe(before);
    expect(feed.subscriberCount).toBe(0);
    const next = new Sink();
    feed.subscribe(next, allowed);
    expect(next.frames).toEqual([]);
    await jest.advanceTimersByTimeAsync(0);
    expect(next.frames).toEqual([snapshotEvent(2, '{"hosts":1}')]);
  });

  it('ends the stream of a subscriber no longer allowed, and every stream on close', async () => {
    let stillAllowed = true;
    const revoked = new Sink();
    const kept = new Sink();
    feed.subscribe(revoked, async () => stillAllowed);
    feed.subscribe(kept, allowed);
    await jest.advanceTimersByTimeAsync(100);
    expect(revoked.ended).toBe(false);
    stillAllowed = false;
    await jest.advanceTimersByTimeAsync(100);
    expect(revoked.ended).toBe(true);
    expect(feed.subscriberCount).toBe(1);
    await feed.close();
    expect(kept.ended).toBe(true);
    expect(feed.subscriberCount).toBe(0);
  });

  it('survives a failed read and pushes at the next good one', async () => {
    const sink = new Sink();
    let fail = true;
    feed = new SnapshotFeed({ read: async () => { if (fail) throw new Error('database away'); return value; }, intervalMs: 100, heartbeatMs: 1000, log: silentLogger() });
    feed.subscribe(sink, allowed);
    await jest.advanceTimersByTimeAsync(0);
    expect(sink.frames).toEqual([]);
    fail = false;
    await jest.advanceTimersByTimeAsync(100);
    expect(sink.frames).toEqual([snapshotEvent(1, '{"hosts":1}')]);
  });
});
