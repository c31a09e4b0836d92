import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  backfillRange,
  buildScheduleSpec,
  calendarText,
  checkCron,
  overlapPolicy,
  overlapWord,
  parseScheduleDuration,
  scheduleId,
  scheduleOptions,
  scheduledWorkflowId,
} from '../../src/client/schedule.js';
import { historyQuery, parseLimit, quoteQueryValue, sinceInstant } from '../../src/client/history.js';

const inputError = (msg: RegExp) => (e: unknown) => (e as Error).name === 'InputError' && msg.test((e as Error).message);

describe('parseScheduleDuration', () => {
  test('units', () => {
    assert.equal(parseScheduleDuration('--every', '90s'), 90_000);
    assert.equal(parseScheduleDuration('--every', '10m'), 600_000);
    assert.equal(parseScheduleDuration('--every', '2h'), 7_200_000);
    assert.equal(parseScheduleDuration('--every', '1d'), 86_400_000);
    assert.equal(parseScheduleDuration('--jitter', '0s', true), 0);
  });
  for (const bad of ['', '0s', '1w', '1.5h', '-1h', 'h', '10 m', '1h30m', '9999999999s']) {
    test(`refuses ${JSON.stringify(bad)} naming the option`, () => {
      assert.throws(() => parseScheduleDuration('--every', bad), inputError(/^--every /));
    });
  }
});

describe('checkCron', () => {
  for (const ok of ['0 1 * * *', '*/15 * * * *', '0 1 * * 1-5', '30 2 1,15 * sun', '0 0 1 jan-jun/2 *', '@daily', '0 1 * * 7']) {
    test(`accepts ${ok}`, () => assert.equal(checkCron(ok), ok));
  }
  const bad: [string, RegExp][] = [
    ['61 * * * *', /minute "61"/],
    ['0 24 * * *', /hour "24"/],
    ['0 1 32 * *', /day of month "32"/],
    ['0 1 * 13 *', /month "13"/],
    ['0 1 * * 8', /day of week "8"/],
    ['0 1 * *', /4 field/],
    ['0 1 * * * *', /6 field/],
    ['x 1 * * *', /minute "x"/],
    ['0 5-1 * * *', /backwards/],
    ['*/0 * * * *', /step "0"/],
    ['1,,2 * * * *', /minute ""/],
    ['@sometimes', /1 field/],
  ];
  for (const [expr, why] of bad) {
    test(`refuses ${JSON.stringify(expr)}`, () => assert.throws(() => checkCron(expr), inputError(why)));
  }
});

describe('schedule specs and options', () => {
  test('cron in the default zone, or in --timezone', () => {
    assert.deepEqual(buildScheduleSpec({ cron: '0 1 * * *' }, 'Europe/Berlin'), { timezone: 'Europe/Berlin', cronExpressions: ['0 1 * * *'] });
    assert.deepEqual(buildScheduleSpec({ every: '1d', timezone: 'UTC', jitter: '5m' }, 'Europe/Berlin'), { timezone: 'UTC', intervals: [{ every: 86_400_000 }], jitter: 300_000 });
  });
  test('exactly one of --cron and --every', () => {
    assert.throws(() => buildScheduleSpec({}, 'UTC'), inputError(/exactly one/));
    assert.throws(() => buildScheduleSpec({ cron: '0 1 * * *', every: '1d' }, 'UTC'), inputError(/exactly one/));
  });
  test('an unknown zone names --timezone', () => {
    assert.throws(() => buildScheduleSpec({ every: '1d', timezone: 'Mars/Olympus' }, 'UTC'), inputError(/^--timezone "Mars\/Olympus"/));
  });
  test('overlap words', () => {
    assert.equal(overlapPolicy(undefined), 'SKIP');
    assert.equal(overlapPolicy('buffer-all'), 'BUFFER_ALL');
    assert.equal(overlapPolicy('cancel-other'), 'CANCEL_OTHER');
    assert.throws(() => overlapPolicy('SKIP'), inputError(/^--overlap "SKIP"/));
    assert.equal(overlapWord('BUFFER_ONE'), 'buffer-one');
    assert.equal(overlapWord('TERMINATE_OTHER'), 'terminate-other');
  });
  test('IDs, and a name that could climb or start an option is refused', () => {
    assert.equal(scheduleId('ceph', 'nightly'), 'rbd-backup/ceph/nightly');
    assert.equal(scheduledWorkflowId('ceph', 'nightly'), 'rbd-backup-run/ceph/scheduled-nightly');
    for (const bad of ['../x', '-x', 'a/b', '']) assert.throws(() => scheduleId('ceph', bad), (e: unknown) => (e as Error).name === 'NameError');
  });
  test('the action starts backupRun with only the cluster (and what was asked), defaults Skip and 6h', () => {
    const o = scheduleOptions({ name: 'nightly', cluster: 'ceph', taskQueue: 'q', defaultTimezone: 'UTC', cron: '0 1 * * *' });
    assert.equal(o.scheduleId, 'rbd-backup/ceph/nightly');
    assert.deepEqual(o.policies, { overlap: 'SKIP', catchupWindow: 6 * 3600_000 });
    assert.deepEqual(o.state, { paused: false });
    assert.equal(o.action.type, 'startWorkflow');
    const a = o.action as { workflowType: string; taskQueue: string; workflowId: string; args: unknown[]; typedSearchAttributes: { key: { name: string }; value: unknown }[] };
    assert.equal(a.workflowType, 'backupRun');
    assert.equal(a.taskQueue, 'q');
    assert.equal(a.workflowId, 'rbd-backup-run/ceph/scheduled-nightly');
    assert.deepEqual(a.args, [{ cluster: 'ceph' }]);
    assert.deepEqual(a.typedSearchAttributes.map((s) => [s.key.name, s.value]), [['RbdBackupKind', 'backup-run']]);
    const withImages = scheduleOptions({ name: 'n', cluster: 'ceph', taskQueue: 'q', defaultTimezone: 'UTC', every: '1d', images: [{ pool: 'rbd', image: 'a' }], destination: 'offsite', paused: true, note: 'why' });
    assert.deepEqual((withImages.action as { args: unknown[] }).args, [{ cluster: 'ceph', images: [{ pool: 'rbd', image: 'a' }], destination: 'offsite' }]);
    assert.deepEqual(withImages.state, { paused: true, note: 'why' });
  });
  test('backfill range: real instants in order', () => {
    assert.deepEqual(backfillRange('2026-11-01T00:00:00Z', '2026-11-03T12:00:00Z'), { start: new Date('2026-11-01T00:00:00Z'), end: new Date('2026-11-03T12:00:00Z') });
    assert.throws(() => backfillRange('2026-02-30T00:00:00Z', '2026-03-03T00:00:00Z'), inputError(/^--from 2026-02-30T00:00:00Z is not a calendar date/));
    assert.throws(() => backfillRange('2026-11-01T00:00:00Z', 'tomorrow'), inputError(/^--to /));
    assert.throws(() => backfillRange('2026-11-03T00:00:00Z', '2026-11-01T00:00:00Z'), inputError(/not before/));
  });
  test('a structured calendar reads back as cron', () => {
    const all = (a: unknown, b: unknown) => [{ start: a, end: b, step: 1 }];
    assert.equal(
      calendarText({ minute: [{ start: 0, end: 0, step: 1 }], hour: [{ start: 1, end: 1, step: 1 }], dayOfMonth: all(1, 31), month: all('JANUARY', 'DECEMBER'), dayOfWeek: [{ start: 'MONDAY', end: 'FRIDAY', step: 1 }] }),
      '0 1 * * mon-fri',
    );
    assert.equal(calendarText({ comment: '0 1 * * *', minute: [], hour: [], dayOfMonth: [], month: [], dayOfWeek: [] }), '0 1 * * *');
  });
});

describe('history queries', () => {
  test('quoting escapes quotes and backslashes and refuses control characters', () => {
    assert.equal(quoteQueryValue('rbd/a'), "'rbd/a'");
    assert.equal(quoteQueryValue("x' OR RbdBackupKind != 'y"), "'x\\' OR RbdBackupKind != \\'y'");
    assert.equal(quoteQueryValue('a\\'), "'a\\\\'");
    assert.throws(() => quoteQueryValue('a\nb'), inputError(/control character/));
  });
  test('runs, or one image; since and status', () => {
    assert.equal(historyQuery({}), "RbdBackupKind = 'backup-run'");
    assert.equal(
      historyQuery({ image: { pool: 'rbd', image: 'vm-1' }, since: new Date('2026-11-01T00:00:00Z'), status: 'timed-out' }),
      "RbdBackupImages = 'rbd/vm-1' AND StartTime >= '2026-11-01T00:00:00.000Z' AND ExecutionStatus = 'TimedOut'",
    );
    assert.equal(historyQuery({ status: 'cancelled' }), "RbdBackupKind = 'backup-run' AND ExecutionStatus = 'Canceled'");
    assert.throws(() => historyQuery({ status: 'ok' }), inputError(/^--status "ok"/));
  });
  test('--since takes an instant or a duration back from now', () => {
    const now = new Date('2026-11-27T00:00:00Z');
    assert.equal(sinceInstant('2h', now).toISOString(), '2026-11-26T22:00:00.000Z');
    assert.equal(sinceInstant('2026-11-01T00:00:00Z', now).toISOString(), '2026-11-01T00:00:00.000Z');
    assert.throws(() => sinceInstant('2026-02-30T00:00:00Z', now), inputError(/^--since .*calendar date/));
    assert.throws(() => sinceInstant('yesterday', now), inputError(/^--since /));
  });
  test('--limit', () => {
    assert.equal(parseLimit(undefined), 20);
    assert.equal(parseLimit('5'), 5);
    for (const bad of ['0', '-1', 'x', '1.5']) assert.throws(() => parseLimit(bad), inputError(/^--limit /));
  });
});
