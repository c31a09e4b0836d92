/** Checks of option values shared by several commands: the option is named in every message. */
import { InputError } from '../src/config/config.js';
import { NameError, parseImageSpec, type ImageRef } from '../src/names/names.js';
import { instantProblem } from '../src/contract/schema.js';

/**
 * `--at` with a ':' can only be an instant (names cannot hold one), and then it must be a real
 * one: Date.parse would roll 2026-02-30 over to March and read a zone-less time in the worker's
 * zone, restoring a point nobody asked for.
 */
export function checkAt(at: string): void {
  if (!at.includes(':')) return;
  const problem = instantProblem(at);
  if (problem) throw new InputError(`--at ${problem}`);
}

/** Which option a bad image name came from, so the culprit is the first thing read. */
export function imageOption(option: string, spec: string): ImageRef {
  try {
    return parseImageSpec(spec);
  } catch (e) {
    if (e instanceof NameError) throw new InputError(`${option} ${e.message}`);
    throw e;
  }
}

