import { describe, expect, it } from 'vitest';
import { formatAge, formatCount, formatDuration, formatMilliseconds, formatTimeOfDay, formatValue, tagFormat } from './format.ts';

describe('format', () => {
  it('formats values by kind with fixed fraction digits', () => {
    expect(formatValue(71.456, 1)).toBe('71.5');
    expect(formatValue(12345, 0)).toBe('12,345');
    expect(formatValue(true, 0)).toBe('on');
    expect(formatValue('BATCH-7', 0)).toBe('BATCH-7');
    expect(formatValue(undefined, 0)).toBe('—');
    expect(formatValue(1.5, 1, 'de-DE')).toBe('1,5');
  });

  it('reads ages and durations in plain words, clamping clock skew to "just now"', () => {
    expect(formatAge(-5_000)).toBe('just now');
    expect(formatAge(1_500)).toBe('just now');
    expect(formatAge(42_000)).toBe('42 s ago');
    expect(formatAge(185_000)).toBe('3 min ago');
    expect(formatAge(2 * 3_600_000 + 5 * 60_000)).toBe('2 h 5 min ago');
    expect(formatAge(5 * 86_400_000)).toBe('5 d ago');
    expect(formatDuration(45_000)).toBe('45 s');
    expect(formatDuration(3 * 3_600_000 + 20 * 60_000)).toBe('3 h 20 min');
    expect(formatDuration(4 * 86_400_000 + 2 * 3_600_000)).toBe('4 d 2 h');
    expect(formatCount(1_234_567)).toBe('1,234,567');
  });

  it('knows the units of the demo tags and falls back to the tag name', () => {
    expect(tagFormat('temperature')).toMatchObject({ label: 'Temperature', unit: '°C' });
    expect(tagFormat('vibration').unit).toBe('mm/s');
    expect(tagFormat('speed').unit).toBe('parts/min');
    expect(tagFormat('oil_level')).toEqual({ label: 'oil_level', unit: '', fractionDigits: 2 });
  });

  it('reads a time of day on a 24-hour clock and short durations in ms with fitting precision', () => {
    const ts = Date.UTC(2026, 0, 1, 14, 32, 5, 900);
    expect(formatTimeOfDay(ts, 'en-GB', 'UTC')).toBe('14:32:05');
    expect(formatTimeOfDay(ts, 'en-GB', 'Europe/Berlin')).toBe('15:32:05');
    expect(formatMilliseconds(0.4213)).toBe('0.42 ms');
    expect(formatMilliseconds(12.54)).toBe('12.5 ms');
    expect(formatMilliseconds(1_340.2)).toBe('1,340 ms');
  });
});
