import { naiveTime, parseIsoTime, timeParam } from './nova-time';

describe('Nova timestamps', () => {
  it('prints a datetime naive, in UTC, with microseconds', () => {
    expect(naiveTime(new Date('2024-01-02T03:04:05.678Z'))).toBe('2024-01-02T03:04:05.678000');
    expect(naiveTime(null)).toBeNull();
  });

  it.each([
    ['2024-01-02', '2024-01-02T00:00:00.000000Z'],
    ['2024-01-02T03:04', '2024-01-02T03:04:00.000000Z'],
    ['2024-01-02T03:04:05', '2024-01-02T03:04:05.000000Z'],
    ['2024-01-02 03:04:05Z', '2024-01-02T03:04:05.000000Z'],
    ['2024-01-02T03:04:05.123456789Z', '2024-01-02T03:04:05.123456Z'],
    ['2024-01-02T03:04:05,5+02:00', '2024-01-02T01:04:05.500000Z'],
    ['2024-01-02T00:30:00-0130', '2024-01-02T02:00:00.000000Z'],
  ])('reads %s as %s', (raw, iso) => {
    expect(parseIsoTime(raw)?.iso).toBe(iso);
  });

  it('keeps microseconds when comparing', () => {
    const a = parseIsoTime('2024-01-01T00:00:00.000001Z')!;
    const b = parseIsoTime('2024-01-01T00:00:00Z')!;
    expect(a.micros - b.micros).toBe(1n);
  });

  it.each(['yesterday', '2024-13-01', '2024-02-30', '2024-01-01T24:00:00', '2024-01-01T00:00:00+2', ''])('rejects %p', (raw) => {
    expect(parseIsoTime(raw)).toBeUndefined();
  });

  it('names the parameter in its 400', () => {
    expect(() => timeParam('changes-since', 'soon')).toThrow("Invalid input for query parameters changes-since. Value: soon. 'soon' is not a 'date-time'");
  });
});
