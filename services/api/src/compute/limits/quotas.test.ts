import { Forbidden } from '@ferry/common/domain';
import { checkMetadataQuota, instancesThatFit } from './quotas';

const tiny = { vcpus: 1, memory_mb: 512 };
const medium = { vcpus: 2, memory_mb: 4096 };
const none = { instances: 0, cores: 0, ram: 0 };

describe('instance quota', () => {
  it('grants max_count when everything fits', () => {
    expect(instancesThatFit(none, tiny, 1, 10)).toBe(10);
    expect(instancesThatFit({ instances: 9, cores: 9, ram: 4608 }, tiny, 1, 1)).toBe(1);
  });

  it('grants fewer than max_count when at least min_count fit, limited by the tightest resource', () => {
    expect(instancesThatFit(none, medium, 2, 20)).toBe(10);
    expect(instancesThatFit({ instances: 0, cores: 16, ram: 0 }, medium, 1, 5)).toBe(2);
    expect(() => instancesThatFit({ instances: 0, cores: 0, ram: 49152 }, medium, 1, 5)).toThrow(
      'Quota exceeded for ram: Requested 20480, but already used 49152 of 51200 ram',
    );
  });

  it("refuses with Nova's message, naming every resource over, in order", () => {
    const err = (() => {
      try {
        instancesThatFit({ instances: 8, cores: 18, ram: 1024 }, medium, 2, 3);
      } catch (e) {
        return e as Forbidden;
      }
      throw new Error('expected a refusal');
    })();
    expect(err).toBeInstanceOf(Forbidden);
    expect(err.message).toBe('Quota exceeded for cores, instances: Requested 6, 2-3, but already used 18, 8 of 20, 10 cores, instances');
  });

  it('counts metadata items', () => {
    expect(() => checkMetadataQuota(Object.fromEntries(Array.from({ length: 128 }, (_, i) => [`k${i}`, 'v'])))).not.toThrow();
    expect(() => checkMetadataQuota(Object.fromEntries(Array.from({ length: 129 }, (_, i) => [`k${i}`, 'v'])))).toThrow('Maximum number of metadata items exceeds 128');
  });
});
