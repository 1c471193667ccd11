// Cron schedules as robfig/cron's ParseStandard reads them (the CronJob API's format): five
// fields (minute hour day-of-month month day-of-week) with lists, ranges, steps, names and
// "?", or a descriptor like @hourly; evaluated in an IANA time zone. Used by CronJob
// validation and its controller, so it lives in api/.
const FIELDS = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day of month', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12, names: ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'] },
  { name: 'day of week', min: 0, max: 6, names: ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] },
] as const;

const DESCRIPTORS: Record<string, string> = {
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
  '@monthly': '0 0 1 * *',
  '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@hourly': '0 * * * *',
};

export interface Schedule {
  minutes: Set<number>;
  hours: Set<number>;
  days: Set<number>;
  months: Set<number>;
  weekdays: Set<number>;
  /** day-of-month or day-of-week was "*" (then the other alone decides) */
  daysStar: boolean;
  weekdaysStar: boolean;
}

function parseValue(text: string, field: (typeof FIELDS)[number]): number {
  const names = 'names' in field ? (field.names as readonly string[]) : undefined;
  const named = names?.indexOf(text.toLowerCase()) ?? -1;
  if (named >= 0) return named + field.min;
  if (!/^[0-9]+$/.test(text)) throw new Error(`failed to parse int from ${text}: strconv.Atoi: parsing "${text}": invalid syntax`);
  return Number(text);
}

function parseField(text: string, index: number): { values: Set<number>; star: boolean } {
  const field = FIELDS[index];
  const values = new Set<number>();
  let star = false;
  for (const part of text.split(',')) {
    const [range, stepText, extra] = part.split('/');
    if (extra !== undefined) throw new Error(`too many slashes: ${part}`);
    let lo: number;
    let hi: number;
    if (range === '*' || range === '?') {
      lo = field.min;
      hi = field.max;
      if (stepText === undefined) star = true;
    } else {
      const bounds = range.split('-');
      if (bounds.length > 2) throw new Error(`too many hyphens: ${range}`);
      lo = parseValue(bounds[0], field);
      hi = bounds.length === 2 ? parseValue(bounds[1], field) : stepText !== undefined ? field.max : lo;
    }
    const step = stepText === undefined ? 1 : parseValue(stepText, field);
    if (field.name === 'day of week' && hi === 7) hi = 6; // 7 is Sunday too
    if (lo < field.min) throw new Error(`beginning of range (${lo}) below minimum (${field.min}): ${part}`);
    if (hi > field.max) throw new Error(`end of range (${hi}) above maximum (${field.max}): ${part}`);
    if (lo > hi) throw new Error(`beginning of range (${lo}) beyond end of range (${hi}): ${part}`);
    if (step === 0) throw new Error(`step of range should be a positive number: ${part}`);
    for (let v = lo; v <= hi; v += step) values.add(v);
  }
  return { values, star };
}

/** ParseStandard; throws with robfig/cron's message on a bad schedule. */
export function parseSchedule(spec: string): Schedule {
  const text = spec.trim();
  if (!text) throw new Error('empty spec string');
  if (text.startsWith('TZ=') || text.startsWith('CRON_TZ=')) throw new Error('cannot use TZ or CRON_TZ in schedule, use timeZone field instead');
  const expanded = text.startsWith('@') ? DESCRIPTORS[text.toLowerCase()] : text;
  if (!expanded) throw new Error(`unrecognized descriptor: ${text}`);
  const fields = expanded.split(/\s+/);
  if (fields.length !== 5) throw new Error(`expected exactly 5 fields, found ${fields.length}: ${text}`);
  const parsed = fields.map((f, i) => parseField(f, i));
  return {
    minutes: parsed[0].values,
    hours: parsed[1].values,
    days: parsed[2].values,
    months: parsed[3].values,
    weekdays: parsed[4].values,
    daysStar: parsed[2].star,
    weekdaysStar: parsed[4].star,
  };
}

export function isValidTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

const formatters = new Map<string, Intl.DateTimeFormat>();

interface Wall {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  weekday: number;
}

const WEEKDAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];

/** The wall clock at an instant in a zone. */
export function wallClock(ms: number, tz: string): Wall {
  let f = formatters.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: tz,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      weekday: 'short',
    });
    formatters.set(tz, f);
  }
  const parts: Record<string, string> = {};
  for (const p of f.formatToParts(new Date(ms))) parts[p.type] = p.value;
  return {
    year: Number(parts.year),
    month: Number(parts.month),
    day: Number(parts.day),
    hour: Number(parts.hour) % 24,
    minute: Number(parts.minute),
    weekday: WEEKDAYS.indexOf(parts.weekday),
  };
}

function dayMatches(s: Schedule, w: Wall): boolean {
  const dom = s.days.has(w.day);
  const dow = s.weekdays.has(w.weekday);
  // robfig/cron: if either field is "*", both must match (the star always does); else either
  if (s.daysStar || s.weekdaysStar) return dom && dow;
  return dom || dow;
}

const MINUTE = 60_000;

/** The first activation strictly after `after` (ms), within five years, or undefined. */
export function nextActivation(s: Schedule, after: number, tz = 'UTC'): number | undefined {
  let t = Math.floor(after / MINUTE) * MINUTE + MINUTE;
  const limit = after + 5 * 366 * 24 * 60 * MINUTE;
  while (t <= limit) {
    const w = wallClock(t, tz);
    if (!s.months.has(w.month)) {
      t += (1440 - (w.hour * 60 + w.minute)) * MINUTE; // next day; months pass day by day
      continue;
    }
    if (!dayMatches(s, w)) {
      t += (1440 - (w.hour * 60 + w.minute)) * MINUTE;
      continue;
    }
    if (!s.hours.has(w.hour)) {
      t += (60 - w.minute) * MINUTE;
      continue;
    }
    if (!s.minutes.has(w.minute)) {
      t += MINUTE;
      continue;
    }
    return t;
  }
  return undefined;
}
