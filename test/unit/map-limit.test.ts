import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setImmediate as tick } from 'node:timers/promises';
import { mapLimit, oneAtATime } from '../../src/plan/map-limit.js';

/** A task that records when it starts and ends, and finishes (or fails) when told to. */
function probe(log: string[], name: string) {
  let finish!: (fail: boolean) => void;
  const task = () =>
    new Promise<string>((res, rej) => {
      log.push(`start ${name}`);
      finish = (fail) => {
        log.push(`end ${name}`);
        if (fail) rej(new Error(name));
        else res(name);
      };
    });
  return { task, finish: (fail = false) => finish(fail) };
}

test('oneAtATime starts a task only after the one before has settled, in order, past failures', async () => {
  const log: string[] = [];
  const run = oneAtATime();
  const [a, b, c] = ['a', 'b', 'c'].map((n) => probe(log, n)) as [ReturnType<typeof probe>, ReturnType<typeof probe>, ReturnType<typeof probe>];
  const pa = run(a.task);
  const pb = run(b.task);
  const pc = run(c.task);
  await tick();
  assert.deepEqual(log, ['start a'], 'b and c wait while a runs');
  a.finish(true);
  await assert.rejects(pa, /a/);
  await tick();
  assert.deepEqual(log, ['start a', 'end a', 'start b'], "a's failure does not stop b");
  b.finish();
  assert.equal(await pb, 'b');
  await tick();
  c.finish();
  assert.equal(await pc, 'c');
  assert.deepEqual(log, ['start a', 'end a', 'start b', 'end b', 'start c', 'end c']);
});

test('mapLimit keeps the input order with at most `limit` in flight', async () => {
  let inFlight = 0;
  let most = 0;
  const out = await mapLimit([5, 1, 4, 2, 3], 2, async (n) => {
    most = Math.max(most, ++inFlight);
    for (let i = 0; i < n; i++) await tick();
    inFlight--;
    return n * 10;
  });
  assert.deepEqual(out, [50, 10, 40, 20, 30]);
  assert.equal(most, 2);
});
