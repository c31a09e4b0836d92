/**
 * V8 heap settings of the worker process. Set at run time, they apply to what this heap does next
 * and fully to isolates made later (the SDK's workflow thread), so this module must be evaluated
 * before the worker's modules are even loaded: its importers load those with a dynamic import
 * (a static one may run CommonJS dependencies first). Left alone, the young generation grows to
 * 32 MiB per isolate (two 16 MiB semi-spaces) while modules load and protobufs are decoded, and
 * stays that large (measured: 30 MiB of the worker's resident peak in the workflow thread alone),
 * and old space is collected only once it has grown far past what is live (evicted workflows'
 * sandboxes pile up). Workflow activations and activity bookkeeping are small and short-lived
 * and the data path's hashing is native: no slowdown showed in the bench.
 */
import { setFlagsFromString } from 'node:v8';

const WORKER_V8_FLAGS = [
  // Smaller heap growing steps and a young generation that shrinks back when idle: applies to
  // this process's heap too (measured: its young generation stays at 1–16 MiB instead of 32).
  '--optimize-for-size',
  // Isolates made from now on (the workflow thread): 1 MiB semi-spaces.
  '--max-semi-space-size=1',
];

for (const f of WORKER_V8_FLAGS) setFlagsFromString(f);
