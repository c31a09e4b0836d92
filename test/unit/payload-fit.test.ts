import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fitResults } from '../../src/plan/payload-fit.js';
import type { ImageResult } from '../../src/contract/backup.js';

const failing = (i: number, stderrLen: number): ImageResult => ({
  pool: 'rbd',
  image: `img-${i}`,
  status: 'failed',
  error: { message: 'export failed', command: 'rbd export-diff …', exitCode: 1, stderr: 'x'.repeat(stderrLen - 6) + 'WHY-IT' },
});

test('small results pass through unchanged', () => {
  const r = [failing(1, 4096), failing(2, 100)];
  assert.deepEqual(fitResults(r), r);
});

test('2,000 failing images with 4 KiB of stderr each fit the budget, keeping the end of stderr', () => {
  const r = Array.from({ length: 2000 }, (_, i) => failing(i, 4096));
  assert.ok(JSON.stringify(r).length > 2 * 1024 * 1024, 'the untrimmed results would exceed a payload');
  const fitted = fitResults(r);
  assert.ok(JSON.stringify(fitted).length <= 1_500_000);
  assert.equal(fitted.length, 2000);
  for (const f of fitted) assert.match(f.error!.stderr!, /WHY-IT$/, 'the last line of stderr survives');
  assert.equal(r[0]!.error!.stderr!.length, 4096, 'input not mutated');
});

test('trims only as far as needed', () => {
  const r = Array.from({ length: 1000 }, (_, i) => failing(i, 2000));
  const fitted = fitResults(r, 1_400_000);
  assert.equal(fitted[0]!.error!.stderr!.length, 1025, 'cut to 1 KiB (plus the ellipsis), not further');
});
