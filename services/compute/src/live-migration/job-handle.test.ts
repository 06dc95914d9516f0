import type { LiveMigrationJob } from '../drivers';
import { LiveJobHandle } from './job-handle';

function recordingJob(): { job: LiveMigrationJob; calls: string[] } {
  const calls: string[] = [];
  const job = { abort: () => calls.push('abort'), forceComplete: () => calls.push('force_complete') } as unknown as LiveMigrationJob;
  return { job, calls };
}

it('passes requests straight to an attached job', () => {
  const h = new LiveJobHandle();
  const { job, calls } = recordingJob();
  h.attach(job);
  expect(calls).toEqual([]);
  h.forceComplete();
  h.abort();
  expect(calls).toEqual(['force_complete', 'abort']);
});

it('keeps a request made before the job exists and applies it on attach', () => {
  for (const [asked, applied] of [['abort', ['abort']], ['force_complete', ['force_complete']]] as const) {
    const h = new LiveJobHandle();
    if (asked === 'abort') h.abort();
    else h.forceComplete();
    const { job, calls } = recordingJob();
    h.attach(job);
    expect(calls).toEqual(applied);
  }
});

it('lets an earlier abort win over a later force-complete', () => {
  const h = new LiveJobHandle();
  h.abort();
  h.forceComplete();
  const { job, calls } = recordingJob();
  h.attach(job);
  h.forceComplete();
  expect(calls).toEqual(['abort']);
});
