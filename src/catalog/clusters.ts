/**
 * The cluster directories of a destination (`<destination>/<cluster>/`), for the messages that
 * name the ones there when the one asked for is not: read by the CLI (`list`) and the worker
 * (restore), so both say the same.
 */
import { readdir } from 'node:fs/promises';

/** Directories only (a planted link is no cluster), dot entries aside; empty when unreadable. */
export async function clustersIn(destination: string): Promise<string[]> {
  // Only for a message: an unreadable destination is said by the check that follows, not here.
  const entries = await readdir(destination, { withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isDirectory() && !e.name.startsWith('.')).map((e) => e.name).sort();
}
