import { lstatSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';

/**
 * Every entry under `root` with its size and mtime, in a stable order: two listings taken around
 * a command differ exactly when it wrote, removed or created something there.
 */
export function listing(root: string, skip: (rel: string) => boolean = () => false): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const e of readdirSync(dir).sort()) {
      const p = join(dir, e);
      const rel = relative(root, p);
      if (skip(rel)) continue;
      const st = lstatSync(p);
      out.push(`${rel} ${st.isDirectory() ? 'dir' : st.size} ${st.mtimeMs}`);
      if (st.isDirectory()) walk(p);
    }
  };
  walk(root);
  return out;
}
