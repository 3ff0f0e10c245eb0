// How numbers, units and ages read on the wall screen. Pure functions; the locale is a
// parameter so tests (and a plant that wants another) get stable output.
import type { TagValue } from './wire.ts';

export interface TagFormat {
  label: string;
  unit: string;
  fractionDigits: number;
}

/** Display rules for the demo machine tags; unknown tags fall back to their name, no unit. */
export const tagFormats: Record<string, TagFormat> = {
  good_count: { label: 'Good parts', unit: '', fractionDigits: 0 },
  scrap_count: { label: 'Scrap parts', unit: '', fractionDigits: 0 },
  temperature: { label: 'Temperature', unit: '°C', fractionDigits: 1 },
  vibration: { label: 'Vibration', unit: 'mm/s', fractionDigits: 2 },
  speed: { label: 'Speed', unit: 'parts/min', fractionDigits: 0 },
  speed_setpoint: { label: 'Setpoint', unit: 'parts/min', fractionDigits: 0 },
};

export function tagFormat(name: string): TagFormat {
  return tagFormats[name] ?? { label: name, unit: '', fractionDigits: 2 };
}

const numberFormats = new Map<string, Intl.NumberFormat>();

function numberFormat(locale: string, fractionDigits: number): Intl.NumberFormat {
  const key = `${locale}:${fractionDigits}`;
  let format = numberFormats.get(key);
  if (format === undefined) {
    format = new Intl.NumberFormat(locale, { minimumFractionDigits: fractionDigits, maximumFractionDigits: fractionDigits });
    numberFormats.set(key, format);
  }
  return format;
}

export function formatValue(value: TagValue | undefined, fractionDigits: number, locale = 'en-US'): string {
  if (value === undefined) return '—';
  if (typeof value === 'boolean') return value ? 'on' : 'off';
  if (typeof value === 'string') return value;
  return numberFormat(locale, fractionDigits).format(value);
}

/** "just now", "42 s ago", "3 min ago", "2 h 5 min ago"; a future timestamp (clock skew) reads "just now". */
export function formatAge(ageMs: number): string {
  const seconds = Math.floor(ageMs / 1000);
  if (seconds < 2) return 'just now';
  if (seconds < 60) return `${seconds} s ago`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ago`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours} h ${minutes % 60} min ago`;
  return `${Math.floor(hours / 24)} d ago`;
}

/** "45 s", "12 min", "3 h 20 min", "4 d 2 h". */
export function formatDuration(durationMs: number): string {
  const seconds = Math.max(0, Math.floor(durationMs / 1000));
  if (seconds < 60) return `${seconds} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  if (hours < 24) return `${hours} h ${minutes % 60} min`;
  return `${Math.floor(hours / 24)} d ${hours % 24} h`;
}

/** Scrap as a share of all parts made, e.g. "0.3 % scrap"; empty when nothing was made. */
export function formatScrapShare(goodCount: number, scrapCount: number, locale = 'en-US'): string {
  const total = goodCount + scrapCount;
  if (total <= 0) return '';
  return `${numberFormat(locale, 1).format((scrapCount / total) * 100)} % scrap`;
}

export function formatCount(count: number, locale = 'en-US'): string {
  return numberFormat(locale, 0).format(count);
}

const timeOfDayFormats = new Map<string, Intl.DateTimeFormat>();

/** Wall-clock time of an epoch-ms timestamp, "14:32:05" (24-hour); the time zone defaults to the browser's. */
export function formatTimeOfDay(epochMs: number, locale = 'en-GB', timeZone?: string): string {
  const key = `${locale}:${timeZone ?? ''}`;
  let format = timeOfDayFormats.get(key);
  if (format === undefined) {
    const options: Intl.DateTimeFormatOptions = { hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' };
    if (timeZone !== undefined) options.timeZone = timeZone;
    format = new Intl.DateTimeFormat(locale, options);
    timeOfDayFormats.set(key, format);
  }
  return format.format(epochMs);
}

/** A short duration in milliseconds with the precision it deserves: "0.42 ms", "12.5 ms", "340 ms". */
export function formatMilliseconds(ms: number, locale = 'en-US'): string {
  const digits = Math.abs(ms) < 10 ? 2 : Math.abs(ms) < 100 ? 1 : 0;
  return `${numberFormat(locale, digits).format(ms)} ms`;
}
