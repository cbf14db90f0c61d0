/**
 * spec.schedule: which strings are schedules, why the others are not, and the Temporal ScheduleSpec each becomes;
 * and that the CRD's CEL rule is the one built from the same expressions (test/crds/spec-cases.ts runs schedules
 * through the API server and zod alike).
 */
import { strict as assert } from 'node:assert';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { SCHEDULE_CEL_RULE, scheduleProblem, temporalScheduleSpec } from '../../src/loadtest/schedule.js';

const CRD_FILE = fileURLToPath(new URL('../../../crds/loadtest.yaml', import.meta.url));

const VALID: Array<[string, ReturnType<typeof temporalScheduleSpec>]> = [
  ['*/5 * * * *', { cronExpressions: ['*/5 * * * *'] }],
  ['0 3 * * MON-FRI', { cronExpressions: ['0 3 * * MON-FRI'] }],
  ['0 3 * * mon-fri', { cronExpressions: ['0 3 * * mon-fri'] }],
  ['30 2 1 jan,Jul *', { cronExpressions: ['30 2 1 jan,Jul *'] }],
  ['0,15,30,45 0-23/2 1-31 1-12 0-7', { cronExpressions: ['0,15,30,45 0-23/2 1-31 1-12 0-7'] }],
  ['59 23 31 12 7', { cronExpressions: ['59 23 31 12 7'] }],
  ['05 09 * * *', { cronExpressions: ['05 09 * * *'] }],
  ['5/10 * * * SUN', { cronExpressions: ['5/10 * * * SUN'] }],
  ['0  3   * * *', { cronExpressions: ['0 3 * * *'] }],
  ['3-3 * * * *', { cronExpressions: ['3-3 * * * *'] }],
  ['@hourly', { cronExpressions: ['0 * * * *'] }],
  ['@daily', { cronExpressions: ['0 0 * * *'] }],
  ['@midnight', { cronExpressions: ['0 0 * * *'] }],
  ['@weekly', { cronExpressions: ['0 0 * * 0'] }],
  ['@monthly', { cronExpressions: ['0 0 1 * *'] }],
  ['@yearly', { cronExpressions: ['0 0 1 1 *'] }],
  ['@annually', { cronExpressions: ['0 0 1 1 *'] }],
  ['@every 20s', { intervals: [{ every: 20_000 }] }],
  ['@every 1h30m', { intervals: [{ every: 5_400_000 }] }],
  ['@every 1s', { intervals: [{ every: 1000 }] }],
  ['@every 500ms500ms', { intervals: [{ every: 1000 }] }],
  ['@every 0.5m', { intervals: [{ every: 30_000 }] }],
  ['@every 86400s', { intervals: [{ every: 86_400_000 }] }],
];

/** Not schedules, each with words of its reason. */
const INVALID: Array<[string, string]> = [
  ['* * * *', 'has 5 fields (minute hour day-of-month month day-of-week), not 4'],
  ['* * * * * *', 'not 6'],
  ['', 'the schedule is empty'],
  ['61 * * * *', 'minute field "61" is out of 0-59'],
  ['* 24 * * *', 'hour field "24" is out of 0-23'],
  ['* * 0 * *', 'day of month field "0" is out of 1-31'],
  ['* * 32 * *', 'day of month field "32"'],
  ['* * * 13 *', 'month field "13" is out of 1-12'],
  ['* * * * 8', 'day of week field "8" is out of 0-7'],
  ['*/0 * * * *', 'minute field "*/0" steps by 0'],
  ['*/60 * * * *', 'steps by more than 59'],
  ['10-5 * * * *', 'the range "10-5" ends before it starts'],
  ['0 3 * * FRI-MON', 'the range "fri-mon" ends before it starts'],
  ['0 3 * DEC-JAN *', 'the range "dec-jan" ends before it starts'],
  ['0 3 * * MON-SUN', 'the range "mon-sun" ends before it starts'],
  ['0 3 * * MONDAY', 'unknown name "monday"'],
  ['0 3 * * JAN', 'unknown name "jan"'],
  ['0 3 * MON * ', 'no spaces before or after'],
  ['0 3 MON * *', 'day of month field "MON"'],
  ['0 3 * 1-MAR *', 'month field "1-MAR"'],
  ['007 * * * *', 'minute field "007"'],
  ['? * * * *', 'minute field "?"'],
  ['L * * * *', 'minute field "L"'],
  ['0 3 * *\t*', 'separate the cron fields with spaces'],
  [' @hourly', 'no spaces before or after'],
  ['@sometimes', 'unknown macro "@sometimes"'],
  ['@HOURLY', 'unknown macro'],
  ['@every 0s', 'at least 1s'],
  ['@every 999ms', 'at least 1s'],
  ['@every soon', '"@every" needs a space and a duration'],
  ['@every20s', '"@every" needs a space and a duration'],
  ['@every 20', '"@every" needs a space and a duration'],
  ['@every 1d', '"@every" needs a space and a duration'],
  ['@every 604800s', 'at most 5 digits'],
  ['@every 9999999999h', 'at most 5 digits'],
  [`@every ${'1h'.repeat(50)}`, 'at most 100 characters'],
];

describe('spec.schedule', () => {
  describe('accepts CronJob’s forms and gives Temporal the same schedule in UTC', () => {
    for (const [text, spec] of VALID) {
      it(`"${text}"`, () => {
        assert.equal(scheduleProblem(text), undefined);
        assert.deepEqual(temporalScheduleSpec(text), spec);
      });
    }
  });

  describe('rejects what is not a schedule, saying why', () => {
    for (const [text, reason] of INVALID) {
      it(`${JSON.stringify(text)}: ${reason}`, () => {
        const problem = scheduleProblem(text);
        assert.ok(problem?.includes(reason), `${JSON.stringify(text)}: ${problem}`);
        assert.throws(() => temporalScheduleSpec(text), {
          message: `invalid schedule "${text}": ${problem}`,
        });
      });
    }
  });

  it('is checked in the CRD by the CEL rule built from the expressions scheduleProblem decides by', async () => {
    const crd = parse(await readFile(CRD_FILE, 'utf8')) as {
      spec: { versions: Array<{ schema: { openAPIV3Schema: { properties: { spec: { properties: Spec } } } } }> };
    };
    const schedule = crd.spec.versions[0]!.schema.openAPIV3Schema.properties.spec.properties.schedule!;
    const rules = schedule['x-kubernetes-validations'].map(({ rule }) => rule.replace(/\s+/g, ' '));

    assert.deepEqual(rules, [SCHEDULE_CEL_RULE.replace(/\s+/g, ' ')]);
  });
});

type Spec = Record<string, { 'x-kubernetes-validations': Array<{ rule: string }> }>;
