/**
 * Dates as people in a Japanese office read them: 年月日 and 24-hour time, in Japan time (JST,
 * Asia/Tokyo) whatever the browser's own zone. Pure functions, no DOM: unit-tested under node.
 */
export type Lang = 'ja' | 'en';
export const DEFAULT_TIME_ZONE = 'Asia/Tokyo';

type Parts = { year: string; month: string; day: string; hour: string; minute: string; second: string };

const partFormatters = new Map<string, Intl.DateTimeFormat>();

function partsOf(date: Date, timeZone: string): Parts {
  let f = partFormatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23',
    });
    partFormatters.set(timeZone, f);
  }
  const out: Record<string, string> = {};
  for (const p of f.formatToParts(date)) out[p.type] = p.value;
  return { year: out.year ?? '', month: out.month ?? '', day: out.day ?? '', hour: out.hour ?? '', minute: out.minute ?? '', second: out.second ?? '' };
}

function toDate(value: string | Date | null | undefined): Date | null {
  if (value === null || value === undefined || value === '') return null;
  const d = value instanceof Date ? value : new Date(value);
  return Number.isNaN(d.getTime()) ? null : d;
}

const unpad = (s: string) => String(Number(s));

/** 2026年11月25日 18:58:03 (ja) or 2026-11-25 18:58:03 JST (en); '—' for nothing. */
export function formatDateTime(value: string | Date | null | undefined, lang: Lang, opts: { seconds?: boolean; timeZone?: string } = {}): string {
  const d = toDate(value);
  if (!d) return '—';
  const tz = opts.timeZone ?? DEFAULT_TIME_ZONE;
  const p = partsOf(d, tz);
  const time = opts.seconds === false ? `${p.hour}:${p.minute}` : `${p.hour}:${p.minute}:${p.second}`;
  if (lang === 'ja') return `${p.year}年${unpad(p.month)}月${unpad(p.day)}日 ${time}`;
  return `${p.year}-${p.month}-${p.day} ${time}${tz === DEFAULT_TIME_ZONE ? ' JST' : ''}`;
}

/** 2026年11月25日 (ja) or 2026-11-25 (en). */
export function formatDate(value: string | Date | null | undefined, lang: Lang, timeZone: string = DEFAULT_TIME_ZONE): string {
  const d = toDate(value);
  if (!d) return '—';
  const p = partsOf(d, timeZone);
  return lang === 'ja' ? `${p.year}年${unpad(p.month)}月${unpad(p.day)}日` : `${p.year}-${p.month}-${p.day}`;
}

/** The calendar day (YYYY-MM-DD) of an instant in JST: what a date input shows for it. */
export function jstDay(value: string | Date): string {
  const d = toDate(value);
  if (!d) return '';
  const p = partsOf(d, DEFAULT_TIME_ZONE);
  return `${p.year}-${p.month}-${p.day}`;
}

const JST_OFFSET_MS = 9 * 3_600_000; // Japan has no daylight saving time

/**
 * A date input's value (YYYY-MM-DD, a day in Japan) as an ISO instant: its start (00:00 JST) or,
 * with `endOfDay`, the start of the next day (for exclusive upper bounds: "until the end of that day").
 */
export function jstDayToIso(day: string, opts: { endOfDay?: boolean } = {}): string | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(day.trim());
  if (!m) return null;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const utc = Date.UTC(y, mo - 1, d + (opts.endOfDay ? 1 : 0));
  const check = new Date(Date.UTC(y, mo - 1, d));
  if (check.getUTCFullYear() !== y || check.getUTCMonth() !== mo - 1 || check.getUTCDate() !== d) return null;
  return new Date(utc - JST_OFFSET_MS).toISOString();
}

/** Adds whole days to a YYYY-MM-DD day. */
export function addDays(day: string, days: number): string {
  const iso = jstDayToIso(day);
  if (!iso) return day;
  return jstDay(new Date(new Date(iso).getTime() + days * 86_400_000));
}

/** An instant as a `datetime-local` input shows it in Japan: YYYY-MM-DDTHH:mm (JST). */
export function jstDateTimeInput(value: string | Date): string {
  const d = toDate(value);
  if (!d) return '';
  const p = partsOf(d, DEFAULT_TIME_ZONE);
  return `${p.year}-${p.month}-${p.day}T${p.hour}:${p.minute}`;
}

/** A `datetime-local` value (YYYY-MM-DDTHH:mm, read as Japan time whatever the browser's zone) as an ISO instant. */
export function jstDateTimeToIso(value: string): string | null {
  const m = /^(\d{4}-\d{2}-\d{2})T(\d{2}):(\d{2})(?::\d{2})?$/.exec(value.trim());
  if (!m) return null;
  const start = jstDayToIso(m[1]!);
  const [h, min] = [Number(m[2]), Number(m[3])];
  if (!start || h > 23 || min > 59) return null;
  return new Date(new Date(start).getTime() + (h * 60 + min) * 60_000).toISOString();
}

/** Whether an instant falls on midnight in Japan (a whole-day boundary). */
export function isJstMidnight(value: string | Date): boolean {
  return jstDateTimeInput(value).endsWith('T00:00');
}
