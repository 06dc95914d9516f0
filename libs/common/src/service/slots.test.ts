import { Slots } from './slots';

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
