import { DEFAULT_COPY_TUNING, resolveCopyTuning } from './copy-tuning';

describe('copy tuning', () => {
  it('overlays the options that are set on the defaults', () => {
    expect(resolveCopyTuning('T', { writeConcurrency: 8, sync: undefined })).toEqual({ ...DEFAULT_COPY_TUNING, writeConcurrency: 8 });
  });

  it.each([
    [{ readLength: 0 }, 'readLength'],
    [{ blockSize: 1000 }, 'blockSize'],
    [{ blockSize: 4096 * 512 }, 'blockSize'],
    [{ writeConcurrency: 0 }, 'writeConcurrency'],
    [{ maxWriteLength: 1.5 }, 'maxWriteLength'],
    [{ progressIntervalMs: -1 }, 'progressIntervalMs'],
  ])('refuses %p, naming the option', (opts, name) => {
    expect(() => resolveCopyTuning('LocalTransfer', opts)).toThrow(expect.objectContaining({ code: 'InvalidInput', message: expect.stringContaining(name) }));
  });
});
