/**
 * spec.schedule as users write it (CronJob's 5-field cron, the "@hourly"-style macros, "@every <duration>") and
 * the Temporal ScheduleSpec it becomes. Pure: the schedule activities and the zod schema share it.
 *
 * The CRD checks the same shapes in CEL, and the two must answer alike on every string. So the regular expressions
 * that decide are built here once, in the subset JavaScript and RE2 (the API server's CEL) read the same way, and
 * SCHEDULE_CEL_RULE is made of them; test/loadtest/schedule.test.ts keeps crds/loadtest.yaml's rule equal to it.
 * scheduleProblem's finer reasons only choose the words of an answer the shared expressions already gave.
 */
import { DURATION_PATTERN, parseDurationMs } from './duration.js';

/** Macros and the cron expression each stands for (CronJob's set). */
export const SCHEDULE_MACROS: Readonly<Record<string, string>> = {
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
  '@monthly': '0 0 1 * *',
  '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@hourly': '0 * * * *',
};

/** The shortest `@every` interval: a run every second is a flood, not a schedule. */
export const MIN_EVERY_MS = 1000;

/** The longest schedule string (the CRD's maxLength): keeps the CEL rule's cost bounded. */
export const MAX_SCHEDULE_LENGTH = 100;

/**
 * The most digits a number of an `@every` duration may have: then no string of MAX_SCHEDULE_LENGTH holds more than
 * Go durations (about 2.5 million hours), and the CEL rule's `duration()` always has an answer. "168h" says a week.
 */
export const MAX_EVERY_DIGITS = 5;

/** What Temporal's ScheduleSpec takes: cron expressions (UTC) or fixed intervals. */
export interface TemporalScheduleSpec {
  cronExpressions?: string[];
  /** Interval lengths in ms. */
  intervals?: { every: number }[];
}

/** Month and day names as CronJob takes them (any case), in the order of their numbers (JAN = 1, SUN = 0). */
const MONTH_NAMES = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'] as const;
const DAY_NAMES = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;

interface CronField {
  name: string;
  min: number;
  max: number;
  /** Regular expressions (JavaScript and RE2 alike) of one value of the field and of a step: exactly min..max, 1..max. */
  value: string;
  step: string;
  names: readonly string[];
}

/** The 5 fields: minute, hour, day of month, month, day of week (0 or 7 is Sunday). */
const CRON_FIELDS: readonly CronField[] = [
  { name: 'minute', min: 0, max: 59, value: '[0-5]?[0-9]', step: '0?[1-9]|[1-5][0-9]', names: [] },
  { name: 'hour', min: 0, max: 23, value: '[01]?[0-9]|2[0-3]', step: '0?[1-9]|1[0-9]|2[0-3]', names: [] },
  {
    name: 'day of month',
    min: 1,
    max: 31,
    value: '0?[1-9]|[12][0-9]|3[01]',
    step: '0?[1-9]|[12][0-9]|3[01]',
    names: [],
  },
  { name: 'month', min: 1, max: 12, value: '0?[1-9]|1[0-2]', step: '0?[1-9]|1[0-2]', names: MONTH_NAMES },
  { name: 'day of week', min: 0, max: 7, value: '0?[0-7]', step: '0?[1-7]', names: DAY_NAMES },
];

/** One comma-separated part: `*`, a value or a range of values of one kind (numbers or names), then a step. */
function itemPattern({ value, step, names }: CronField): string {
  const kinds = [value, ...(names.length > 0 ? [names.join('|')] : [])].map((kind) => `(?:${kind})(?:-(?:${kind}))?`);
  return `(?:[*]|${kinds.join('|')})(?:/(?:${step}))?`;
}

/** A whole cron expression in lower case: the 5 fields, separated by spaces. */
export const CRON_PATTERN = `^${CRON_FIELDS.map((field) => `${itemPattern(field)}(?:,${itemPattern(field)})*`).join(' +')}$`;
/** The ranges of a lower-case cron expression, each checked for ending no earlier than it starts. */
export const CRON_RANGE_PATTERN = '[0-9a-z]+-[0-9a-z]+';
/** Names in the order of their numbers: within a valid range both ends are months, or both days. */
const NAME_ORDER = [...MONTH_NAMES, ...DAY_NAMES].join(' ');
export const MACRO_PATTERN = `^@(?:${Object.keys(SCHEDULE_MACROS)
  .map((macro) => macro.slice(1))
  .join('|')})$`;
export const EVERY_PATTERN = `^@every +${DURATION_PATTERN.source.slice(1, -1)}$`;
const EVERY_TOO_MANY_DIGITS = `[0-9]{${MAX_EVERY_DIGITS + 1}}`;

const cronRegExp = new RegExp(CRON_PATTERN);
const macroRegExp = new RegExp(MACRO_PATTERN);
const everyRegExp = new RegExp(EVERY_PATTERN);
const everyTooManyDigits = new RegExp(EVERY_TOO_MANY_DIGITS);

/** A CEL string literal of `text`. */
function celString(text: string): string {
  return `'${text.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/** The order of one end of a range in CEL: its number, or its place among the names. */
function celRank(end: string): string {
  return `(${end}.matches('^[0-9]+$') ? int(${end}) : ${celString(NAME_ORDER)}.indexOf(${end}))`;
}

/**
 * The CRD's CEL rule on spec.schedule (crds/loadtest.yaml), made of the expressions scheduleProblem decides by.
 * `lowerAscii()` lets names be written in any case, as CronJob reads them.
 */
export const SCHEDULE_CEL_RULE = [
  `self.matches(${celString(MACRO_PATTERN)})`,
  `(self.matches(${celString(EVERY_PATTERN)}) && !self.matches(${celString(EVERY_TOO_MANY_DIGITS)})` +
    ` && duration(self.substring(self.lastIndexOf(' ') + 1)) >= duration('${MIN_EVERY_MS / 1000}s'))`,
  `(self.lowerAscii().matches(${celString(CRON_PATTERN)})` +
    ` && self.lowerAscii().findAll(${celString(CRON_RANGE_PATTERN)})` +
    `.all(r, ${celRank("r.split('-')[0]")} <= ${celRank("r.split('-')[1]")}))`,
].join(' || ');

/** ASCII letters in lower case, and nothing else changed: what CEL's lowerAscii() does. */
function lowerAscii(text: string): string {
  return text.replace(/[A-Z]+/g, (letters) => letters.toLowerCase());
}

/** The order of one end of a range: its number, or its place among the names. */
function rank(end: string): number {
  return /^[0-9]+$/.test(end) ? Number(end) : NAME_ORDER.indexOf(end);
}

/** Why `text` is not a schedule, or undefined when it is one. */
export function scheduleProblem(text: string): string | undefined {
  if (text.length > MAX_SCHEDULE_LENGTH) return `a schedule has at most ${MAX_SCHEDULE_LENGTH} characters`;
  if (text !== text.trim()) return 'no spaces before or after the schedule';
  if (text.startsWith('@every')) return everyProblem(text);
  if (text.startsWith('@')) {
    if (macroRegExp.test(text)) return undefined;
    return `unknown macro "${text}" (${Object.keys(SCHEDULE_MACROS).join(', ')} or @every <duration>)`;
  }
  return cronProblem(text);
}

function everyProblem(text: string): string | undefined {
  if (!everyRegExp.test(text)) return '"@every" needs a space and a duration such as "20s" or "1h30m"';
  if (everyTooManyDigits.test(text)) {
    return `the numbers of "@every" have at most ${MAX_EVERY_DIGITS} digits (write "168h", not "604800s")`;
  }
  if (parseDurationMs(text.slice(text.lastIndexOf(' ') + 1)) < MIN_EVERY_MS) return '"@every" must be at least 1s';
  return undefined;
}

function cronProblem(text: string): string | undefined {
  const lower = lowerAscii(text);
  if (!cronRegExp.test(lower)) return cronShapeProblem(text);
  for (const [range] of lower.matchAll(new RegExp(CRON_RANGE_PATTERN, 'g'))) {
    const [start = '', end = ''] = range.split('-');
    if (rank(start) > rank(end)) return `the range "${range}" ends before it starts`;
  }
  return undefined;
}

/** Why `text` does not match CRON_PATTERN, as precisely as can be said. */
function cronShapeProblem(text: string): string {
  if (/[^ \S]/.test(text)) return 'separate the cron fields with spaces';
  if (text === '') return 'the schedule is empty';
  const fields = text.split(/ +/);
  if (fields.length !== 5) {
    return `a cron expression has 5 fields (minute hour day-of-month month day-of-week), not ${fields.length}: "${text}"`;
  }
  for (const [index, field] of fields.entries()) {
    const spec = CRON_FIELDS[index]!;
    if (new RegExp(`^${itemPattern(spec)}(?:,${itemPattern(spec)})*$`).test(lowerAscii(field))) continue;
    return `the ${spec.name} field "${field}" ${fieldProblem(spec, lowerAscii(field))}`;
  }
  return 'is not a cron expression';
}

function fieldProblem({ min, max, names }: CronField, field: string): string {
  const allowed =
    `takes *, numbers ${min}-${max}${names.length > 0 ? `, names ${names[0]!.toUpperCase()}-${names.at(-1)!.toUpperCase()}` : ''}` +
    `, ranges (a-b${names.length > 0 ? ', of numbers or of names' : ''}), lists (a,b) and steps (*/n)`;
  for (const part of field.split(',')) {
    const match = /^(?:\*|([0-9a-z]+)(?:-([0-9a-z]+))?)(?:\/([0-9]+))?$/.exec(part);
    if (match === null) return allowed;
    const [, start, end, step] = match;
    for (const value of [start, end]) {
      if (value === undefined) continue;
      if (/^[0-9]+$/.test(value)) {
        if (Number(value) < min || Number(value) > max) return `is out of ${min}-${max}`;
      } else if (!names.includes(value)) {
        return names.length > 0 ? `has an unknown name "${value}"; ${allowed}` : allowed;
      }
    }
    if (step !== undefined && Number(step) === 0) return 'steps by 0';
    if (step !== undefined && Number(step) > max) return `steps by more than ${max}`;
  }
  return allowed;
}

/** The Temporal ScheduleSpec for a valid schedule; throws naming the problem for an invalid one. */
export function temporalScheduleSpec(text: string): TemporalScheduleSpec {
  const problem = scheduleProblem(text);
  if (problem !== undefined) throw new Error(`invalid schedule "${text}": ${problem}`);
  if (text.startsWith('@every'))
    return { intervals: [{ every: parseDurationMs(text.slice(text.lastIndexOf(' ') + 1)) }] };
  return { cronExpressions: [SCHEDULE_MACROS[text] ?? text.split(/ +/).join(' ')] };
}
