/**
 * What `run` shows while it waits, through the CLI on the real cluster and dev server: off a
 * terminal one plain line per image phase change and then the report; on a terminal (a
 * pseudo-terminal from util-linux `script`) cli-progress's bars, with the right exit code; and
 * `--json` one JSON document even on a terminal.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { execa } from 'execa';
import { cli, cliPath, createImage, rbd, startWorker, writeConfig, type RunningWorker, type TestConfig } from '../harness/env.js';
import { removeImage } from '../harness/invariants.js';
import type { BackupReport } from '../../src/contract/backup.js';

// Run names derive from --as-of and the suite shares one server: 2036 is this file's year.
const PLAIN = '2036-03-03T01:00:00.000Z';
const TTY = '2036-03-04T01:00:00.000Z';
const JSON_RUN = '2036-03-05T01:00:00.000Z';
const A = 'rbd/display-a';
const B = 'rbd/display-b';
const MISSING = 'rbd/display-missing';
/** Bytes per second librbd lets each export read: a 4 MiB export lasts several seconds, long enough to be seen. */
const QOS = 512 * 1024;
/** The order an image goes through; a line may be missed between two looks, never reordered. */
const PHASES = ['snapshot', 'queued for export', 'exporting', 'deleting snapshots', 'pruning', 'done'];
const ESC = '\x1b';

let cfg: TestConfig;
let worker: RunningWorker | undefined;

/** The CLI under a pseudo-terminal: stdout (and stderr, merged by the terminal) is a TTY. */
async function cliOnTty(...args: string[]): Promise<{ code: number; output: string }> {
  const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  const command = [process.execPath, cliPath, ...args].map(quote).join(' ');
  // -e: script exits with the command's code; -f: flush as it goes; -q: no banner.
  const r = await execa('script', ['-qfec', command, '/dev/null'], { reject: false, stdin: 'ignore', timeout: 300_000 });
  return { code: r.exitCode ?? 1, output: String(r.stdout).replace(/\r\n/g, '\n') };
}

before(async () => {
  cfg = writeConfig('display', { full_weekdays: [1, 2, 3, 4, 5, 6, 7], incremental_weekdays: [] });
  await Promise.all([createImage('rbd', 'display-a', 4, 4), createImage('rbd', 'display-b', 4, 4)]);
  // Throttled by librbd itself, so each export is long enough to be seen on any machine.
  for (const spec of [A, B]) await rbd('config', 'image', 'set', spec, 'rbd_qos_read_bps_limit', String(QOS));
  worker = await startWorker(cfg.file);
});

after(async () => {
  await worker?.stop();
  for (const spec of [A, B]) await removeImage(spec).catch(() => undefined);
});

test('off a terminal: one plain line per image phase change, in order, then the report', { timeout: 300_000 }, async () => {
  const r = await cli('run', A, B, '--as-of', PLAIN, '--config', cfg.file);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(!r.stdout.includes(ESC), `no escape codes off a terminal: ${JSON.stringify(r.stdout)}`);
  const lines = r.stdout.trimEnd().split('\n');
  const reportAt = lines.findIndex((l) => /^backup \S+ of cluster ceph as of \S+: ok$/.test(l));
  assert.ok(reportAt > 0, `the report follows the phase lines:\n${r.stdout}`);
  const phaseLines = lines.slice(0, reportAt);
  for (const spec of [A, B]) {
    const mine = phaseLines.filter((l) => l.startsWith(`${spec}: `)).map((l) => l.slice(spec.length + 2));
    const phases = mine.map((l) => PHASES.find((p) => l === p || l.startsWith(`${p} `)));
    assert.ok(phases.every((p) => p !== undefined), `only known phases: ${JSON.stringify(mine)}`);
    const order = phases.map((p) => PHASES.indexOf(p!));
    assert.deepEqual(order, [...order].sort((x, y) => x - y), `${spec}: phases in order, each once: ${JSON.stringify(mine)}`);
    assert.equal(new Set(order).size, order.length, `${spec}: each phase once: ${JSON.stringify(mine)}`);
    // The export lasts seconds and the display looks every second: it is seen, with its size.
    assert.ok(mine.includes('exporting full 4.0 MiB'), `${spec}: ${JSON.stringify(mine)}`);
    assert.match(mine.at(-1)!, /^done 4\.0 MiB in (\d+s|\d+m\d\ds)$/, `${spec} ends done: ${JSON.stringify(mine)}`);
  }
  assert.equal(phaseLines.length, phaseLines.filter((l) => l.startsWith(`${A}: `) || l.startsWith(`${B}: `)).length, `nothing else before the report:\n${r.stdout}`);
  assert.match(lines.slice(reportAt).join('\n'), new RegExp(`^  ${A}: ok full \\S+ 4\\.0 MiB sha256=[0-9a-f]{64}$`, 'm'));
  assert.match(lines.slice(reportAt).join('\n'), new RegExp(`^  ${B}: ok full \\S+ 4\\.0 MiB sha256=[0-9a-f]{64}$`, 'm'));
});

test('on a terminal: bars per image and a totals bar reaching 100%, the phase lines above them, and the exit code of the run', { timeout: 300_000 }, async () => {
  // The missing image makes the run partial: exit 1, said on the line after the report.
  const r = await cliOnTty('run', A, B, MISSING, '--as-of', TTY, '--config', cfg.file);
  assert.equal(r.code, 1, r.output);
  assert.ok(r.output.includes(ESC), 'the display redraws in place');
  // Frames of cli-progress: an image's bar while it exports, and the totals bar at its end.
  assert.match(r.output, new RegExp(`${A} +exporting +\\[[=-]{24}\\] +\\d+%`), r.output);
  assert.match(r.output, new RegExp(`${B} +exporting +\\[[=-]{24}\\] +\\d+%`), r.output);
  assert.match(r.output, /total +completed +\[={24}\] 100%/, r.output);
  // The phase lines are logged above the bars, the report and the summary follow the last frame.
  assert.match(r.output, new RegExp(`${MISSING}: skipped: `));
  assert.match(r.output, new RegExp(`${A}: done 4\\.0 MiB in `));
  const last = r.output.lastIndexOf('100%');
  const report = r.output.search(/backup \S+ of cluster ceph as of \S+: partial\n/);
  assert.ok(report > last, `the report comes after the last frame:\n${r.output}`);
  assert.match(r.output.slice(report), /^rbd-backup: backup \S+ partial: 1 image\(s\) not backed up/m);
});

test('--json on a terminal is one JSON document, no display', { timeout: 300_000 }, async () => {
  const r = await cliOnTty('run', A, B, '--as-of', JSON_RUN, '--config', cfg.file, '--json');
  assert.equal(r.code, 0, r.output);
  assert.ok(!r.output.includes(ESC), `no escape codes: ${JSON.stringify(r.output.slice(0, 300))}`);
  const report = JSON.parse(r.output) as BackupReport;
  assert.equal(report.status, 'ok');
  assert.deepEqual(report.images.map((i) => [`${i.pool}/${i.image}`, i.status, i.type]), [
    [A, 'ok', 'full'],
    [B, 'ok', 'full'],
  ]);
});
