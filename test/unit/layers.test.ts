/**
 * The floors of the house, checked on the sources: the domain (src/) never reaches up into the
 * CLI, the worker wiring, the workflows or the activities; workflows see activities only as types
 * (the workflow sandbox must not load Node code); activities never start workflows; the worker
 * never needs the CLI. A new import that breaks a rule fails here, naming file and line.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(join(repo, dir))) {
    const p = join(dir, e);
    if (statSync(join(repo, p)).isDirectory()) out.push(...sources(p));
    else if (e.endsWith('.ts') && !e.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

interface Import {
  file: string;
  line: number;
  typeOnly: boolean;
  /** The top-level folder the import lands in, e.g. `src`, `workflows`. */
  floor: string;
}

function importsOf(file: string): Import[] {
  const out: Import[] = [];
  readFileSync(join(repo, file), 'utf8')
    .split('\n')
    .forEach((text, i) => {
      const m = /^\s*(?:import|export)\s+(type\s+)?(?:[^'"]*?\s+from\s+)?'(\.[^']+)'/.exec(text);
      if (!m) return;
      const target = relative(repo, resolve(repo, dirname(file), m[2]!));
      out.push({ file, line: i + 1, typeOnly: !!m[1], floor: target.split('/')[0]! });
    });
  return out;
}

const rules: { floor: string; mayNotImport: string[]; typesOnly?: string[] }[] = [
  { floor: 'src', mayNotImport: ['cli', 'worker', 'workflows', 'activities'] },
  { floor: 'activities', mayNotImport: ['cli', 'worker', 'workflows'] },
  { floor: 'workflows', mayNotImport: ['cli', 'worker'], typesOnly: ['activities'] },
  { floor: 'worker', mayNotImport: ['cli'] },
];

for (const r of rules) {
  test(`${r.floor}/ imports nothing from ${r.mayNotImport.join(', ')}${r.typesOnly ? `, and only types from ${r.typesOnly.join(', ')}` : ''}`, () => {
    const files = sources(r.floor);
    assert.ok(files.length > 0, `no sources under ${r.floor}/`);
    const broken = files
      .flatMap(importsOf)
      .filter((i) => r.mayNotImport.includes(i.floor) || (r.typesOnly?.includes(i.floor) && !i.typeOnly))
      .map((i) => `${i.file}:${i.line} imports from ${i.floor}/`);
    assert.deepEqual(broken, []);
  });
}

test('the import scanner sees imports (it would otherwise pass vacuously)', () => {
  const seen = sources('workflows').flatMap(importsOf);
  assert.ok(seen.some((i) => i.floor === 'activities' && i.typeOnly), 'workflows import activity types');
  assert.ok(seen.some((i) => i.floor === 'src'), 'workflows import src/');
});
