/**
 * A config file in either format: the YAML config, or the original tool's config.ini (by its
 * extension, or by a first line `[section]`, which no valid YAML config starts with). Both end
 * in the same validated Config; this module also says where each key's value came from.
 */
import { readFileSync } from 'node:fs';
import { LineCounter, isMap, isScalar, parseDocument, type Node } from 'yaml';
import { InputError, loadConfig, type Config } from './config.js';
import { INI_SECTION, iniToConfig } from './ini-keys.js';

export interface ConfigFile {
  config: Config;
  format: 'yaml' | 'ini';
  /** Keys of config.ini that no longer apply (`FILE:LINE: key … ignored`), and what its Cinder mode's
   * conversion decided (a rewritten URL, a default), one line each. */
  warnings: string[];
  /** YAML key path (`backup.concurrency`) → `FILE:LINE` it was set at; absent keys are defaults. */
  sources: Map<string, string>;
}

export function readConfigText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    throw new InputError(`${file}: cannot read: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
}

export function isIni(file: string, text: string): boolean {
  if (/\.ini$/i.test(file)) return true;
  const first = text
    .replace(/^\uFEFF/, '')
    .split(/\r?\n/)
    .find((l) => l.trim() !== '' && !/^\s*[#;]/.test(l));
  return first !== undefined && /^\[[^\]]+\]/.test(first);
}

export function readConfigFile(file: string): ConfigFile {
  const text = readConfigText(file);
  if (isIni(file, text)) {
    const ic = iniToConfig(text, file, INI_SECTION);
    const config = loadConfig(file, ic.raw);
    const sources = new Map([...ic.sources].map(([path, s]) => [path, `${s.file ?? file}:${s.line}`]));
    const warnings = [
      ...ic.warnings.map((w) => `${file}:${w.line}: ${w.key} no longer applies: ${w.why}; ignored`),
      ...ic.notes.map((n) => `${file}:${n.line}: ${n.text}`),
    ];
    return { config, format: 'ini', warnings, sources };
  }
  const config = loadConfig(file);
  return { config, format: 'yaml', warnings: [], sources: yamlSources(file, text) };
}

/** Where each leaf key of a (valid) YAML config is written: path → `FILE:LINE`. */
function yamlSources(file: string, text: string): Map<string, string> {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc });
  const out = new Map<string, string>();
  const walk = (node: unknown, path: string[]) => {
    if (!isMap(node)) return;
    for (const pair of node.items) {
      const key = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
      const here = [...path, key];
      const start = (pair.key as Node | null)?.range?.[0];
      if (start !== undefined) out.set(here.join('.'), `${file}:${lc.linePos(start).line}`);
      walk(pair.value, here);
    }
  };
  walk(doc.contents, []);
  return out;
}
