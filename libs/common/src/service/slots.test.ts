import { Slots, withSlot } from './slots';

it('lets N holders in, queues the rest in order, and hands a released slot to the next waiter', async () => {
  const slots = new Slots(2);
  const order: number[] = [];
  await slots.acquire();
  await slots.acquire();
  const third = slots.acquire().then(() => order.push(3));
  const fourth = slots.acquire().then(() => order.push(4));
  await Promise.resolve();
  expect(order).toEqual([]);
  slots.release();
  await third;
  expect(order).toEqual([3]);
  slots.release();
  await fourth;
  expect(order).toEqual([3, 4]);
  expect(slots.inUse).toBe(2);
  slots.release();
  slots.release();
  expect(slots.inUse).toBe(0);
});

it('lets a waiter leave the queue: it holds nothing, and the next release goes to the one behind it', async () => {
  const slots = new Slots(1);
  expect(await slots.acquire()).toBe(true);
  const leaving = new AbortController();
  const second = slots.acquire(leaving.signal);
  const third = slots.acquire();
  expect(slots.queued).toBe(2);
  leaving.abort();
  expect(await second).toBe(false);
  expect(slots.queued).toBe(1);
  slots.release();
  expect(await third).toBe(true);
  expect(slots.inUse).toBe(1);
  slots.release();
  expect(slots.inUse).toBe(0);
  expect(await slots.acquire(leaving.signal)).toBe(false);
  expect(slots.inUse).toBe(0);
});

it('withSlot runs the work holding a slot and releases it however the work ends', async () => {
  const slots = new Slots(1);
  await expect(withSlot(slots, async () => {
    expect(slots.inUse).toBe(1);
    throw new Error('refused');
  })).rejects.toThrow('refused');
  expect(slots.inUse).toBe(0);
  const order: string[] = [];
  let finishFirst!: () => void;
  const first = withSlot(slots, () => new Promise<void>((r) => { order.push('first'); finishFirst = r; }));
  const second = withSlot(slots, async () => { order.push('second'); return 2; });
  await Promise.resolve();
  expect(order).toEqual(['first']);
  expect(slots.queued).toBe(1);
  finishFirst();
  await first;
  expect(await second).toBe(2);
  expect(order).toEqual(['first', 'second']);
  expect(slots.inUse).toBe(0);
});
