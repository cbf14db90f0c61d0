/**
 * spec.schedule as users write it (CronJob's 5-field cron, the "@hourly"-style macros, "@every <duration>") and
 * the Temporal ScheduleSpec it becomes. Pure: the schedule activities and the zod schema share it; the CRD's CEL
 * rule checks the same shapes.
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

/** What Temporal's ScheduleSpec takes: cron expressions (UTC) or fixed intervals. */
export interface TemporalScheduleSpec {
  cronExpressions?: string[];
  /** Interval lengths in ms. */
  intervals?: { every: number }[];
}

/** Field ranges of a 5-field cron: minute, hour, day of month, month, day of week (0 or 7 is Sunday). */
const CRON_FIELDS: ReadonlyArray<{ name: string; min: number; max: number }> = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day of month', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12 },
  { name: 'day of week', min: 0, max: 7 },
];

/** Why `text` is not a schedule, or undefined when it is one. */
export function scheduleProblem(text: string): string | undefined {
  const trimmed = text.trim();
  if (trimmed.startsWith('@every')) {
    const duration = trimmed.slice('@every'.length).trim();
    if (!DURATION_PATTERN.test(duration)) return `"@every" needs a duration such as "20s" or "1h30m"`;
    if (parseDurationMs(duration) < MIN_EVERY_MS) return '"@every" must be at least 1s';
    return undefined;
  }
  if (trimmed.startsWith('@')) {
    return SCHEDULE_MACROS[trimmed] === undefined ? `unknown macro "${trimmed}"` : undefined;
  }
  const fields = trimmed.split(/\s+/);
  if (fields.length !== 5) return `a cron expression has 5 fields, "${trimmed}" has ${fields.length}`;
  for (const [index, field] of fields.entries()) {
    const { name, min, max } = CRON_FIELDS[index]!;
    for (const part of field.split(',')) {
      const match = /^(\*|(\d+)(?:-(\d+))?)(?:\/(\d+))?$/.exec(part);
      if (match === null) return `the ${name} field "${field}" is not a cron field`;
      const numbers = [match[2], match[3]].filter((n): n is string => n !== undefined).map(Number);
      if (numbers.some((n) => n < min || n > max)) return `the ${name} field "${field}" is out of ${min}-${max}`;
      if (match[4] !== undefined && Number(match[4]) === 0) return `the ${name} field "${field}" steps by 0`;
    }
  }
  return undefined;
}

/** The Temporal ScheduleSpec for a valid schedule; throws naming the problem for an invalid one. */
export function temporalScheduleSpec(text: string): TemporalScheduleSpec {
  const problem = scheduleProblem(text);
  if (problem !== undefined) throw new Error(`invalid schedule "${text}": ${problem}`);
  const trimmed = text.trim();
  if (trimmed.startsWith('@every')) return { intervals: [{ every: parseDurationMs(trimmed.slice(6).trim()) }] };
  return { cronExpressions: [SCHEDULE_MACROS[trimmed] ?? trimmed.split(/\s+/).join(' ')] };
}
