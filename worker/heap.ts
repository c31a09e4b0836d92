/**
 * V8 heap settings of the worker process. Set at run time, they apply to what this heap does next
 * and fully to isolates made later (the SDK's workflow thread), so this module must be evaluated
 * before the worker's modules are even loaded: its importers load those with a dynamic import
 * (a static one may run CommonJS dependencies first). Left alone, the young generation grows to
 * 32 MiB per isolate (two 16 MiB semi-spaces) while modules load and protobufs are decoded, and
 * stays that large: measured, the workflow thread's alone 30 MiB of the worker's resident peak.
 * Workflow activations and activity bookkeeping are small and short-lived; 1 MiB semi-spaces cost
 * nothing measurable there.
 */
import { setFlagsFromString } from 'node:v8';

export const WORKER_V8_FLAGS = [
  // Isolates made from now on: 1 MiB semi-spaces.
  '--max-semi-space-size=1',
  // This process's own heap, whose maximum was fixed at start: grow the young generation slowly.
  '--semi-space-growth-factor=1',
];

for (const f of WORKER_V8_FLAGS) setFlagsFromString(f);
