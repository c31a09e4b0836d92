import { stat } from 'node:fs/promises';

/** Whether anything is at `p` (following links: callers check links separately where it matters). */
export async function pathExists(p: string): Promise<boolean> {
  try {
    await stat(p);
    return true;
  } catch {
    return false;
  }
}
