/**
 * The INI dialect of the original tool's config.ini, as Python 2's ConfigParser read it, so a
 * file that worked there means the same here:
 * - `[section]` starts a section (names are case-sensitive; text after the `]` is ignored);
 *   `[DEFAULT]` holds defaults for every section;
 * - `key = value` or `key: value`; keys are lower-cased, both sides trimmed; `""` is empty;
 * - lines starting with `#` or `;` (or the word `rem`) are comments; a `;` preceded by
 *   whitespace starts a comment after a value; `#` after a value is part of the value;
 * - a line starting with whitespace continues the previous value (joined with a newline), even
 *   after blank or comment lines, and is taken whole (an indented `# x` is value, not comment);
 * - `%(key)s` is replaced by another key of the section (or of [DEFAULT]); once a value holds
 *   one, `%%` stands for `%`; a value without `%(` is taken as written.
 * Where ConfigParser was silently lenient this refuses, naming the line: a repeated key or section
 * (Python kept the last one), a line that is neither, an option before any section.
 * Pure: text in, sections out, no file system.
 */

export class IniError extends Error {
  override name = 'IniError';
  constructor(
    readonly line: number,
    message: string,
  ) {
    super(message);
  }
}

export interface IniOption {
  /** Lower-cased, as ConfigParser's optionxform does. */
  key: string;
  /** As written (continuations joined with '\n'), before interpolation. */
  raw: string;
  /** 1-based line of the key. */
  line: number;
}

export interface IniSection {
  name: string;
  line: number;
  options: IniOption[];
}

export interface IniFile {
  /** In file order, without [DEFAULT]. */
  sections: IniSection[];
  defaults?: IniSection;
}

const SECTION = /^\[([^\]]+)\]/;
const OPTION = /^([^:=\s][^:=]*?)\s*([:=])\s*(.*)$/;
const DEFAULT_SECTION = 'DEFAULT';

export function parseIni(text: string): IniFile {
  const file: IniFile = { sections: [] };
  let current: IniSection | undefined;
  let last: IniOption | undefined;
  const lines = text.replace(/^\uFEFF/, '').split(/\r\n|\n|\r/);
  lines.forEach((line, i) => {
    const n = i + 1;
    if (line.trim() === '' || line[0] === '#' || line[0] === ';') return;
    if (/^rem(\s|$)/i.test(line) && (line[0] === 'r' || line[0] === 'R')) return;
    if (/^\s/.test(line)) {
      if (!current || !last) throw new IniError(n, 'an indented line continues a value, but no key comes before it');
      // As ConfigParser: a continuation keeps a `;` (only the key's own line loses its comment).
      last.raw += `\n${line.trim()}`;
      return;
    }
    const sec = SECTION.exec(line);
    if (sec) {
      const name = sec[1]!;
      const seen = name === DEFAULT_SECTION ? file.defaults : file.sections.find((s) => s.name === name);
      if (seen) throw new IniError(n, `section [${name}] repeats the one at line ${seen.line}`);
      current = { name, line: n, options: [] };
      if (name === DEFAULT_SECTION) file.defaults = current;
      else file.sections.push(current);
      last = undefined;
      return;
    }
    const opt = OPTION.exec(line);
    if (!opt) throw new IniError(n, `${JSON.stringify(line.trim())} is neither "[section]" nor "key = value"`);
    if (!current) throw new IniError(n, `key ${JSON.stringify(opt[1]!.trim())} comes before any [section]`);
    const key = opt[1]!.trim().toLowerCase();
    const dup = current.options.find((o) => o.key === key);
    if (dup) throw new IniError(n, `${key}: repeats the key at line ${dup.line}`);
    let raw = stripComment(opt[3]!).trim();
    if (raw === '""') raw = '';
    last = { key, raw, line: n };
    current.options.push(last);
  });
  return file;
}

/** ConfigParser's inline comment: the first `;` that follows whitespace, and the rest of the line. */
function stripComment(value: string): string {
  const at = value.indexOf(';');
  if (at > 0 && /\s/.test(value[at - 1]!)) return value.slice(0, at).trimEnd();
  return value;
}

const MAX_DEPTH = 10;

/**
 * The section's options with [DEFAULT]'s merged in (the section's own win), each value
 * interpolated. Unknown references, `%` not followed by `(` or `%`, and loops are errors naming
 * the line.
 */
export function sectionValues(file: IniFile, name: string): Map<string, IniOption & { value: string }> {
  const section = file.sections.find((s) => s.name === name);
  const merged = new Map<string, IniOption>();
  for (const o of file.defaults?.options ?? []) merged.set(o.key, o);
  for (const o of section?.options ?? []) merged.set(o.key, o);
  const out = new Map<string, IniOption & { value: string }>();
  for (const [key, o] of merged) out.set(key, { ...o, value: interpolate(o, merged, name, 0) });
  return out;
}

function interpolate(o: IniOption, all: Map<string, IniOption>, section: string, depth: number): string {
  if (!o.raw.includes('%(')) return o.raw;
  if (depth >= MAX_DEPTH) throw new IniError(o.line, `${o.key}: %(…)s references nest more than ${MAX_DEPTH} deep (a loop?)`);
  return o.raw.replace(/%(?:\(([^)]*)\)s|%|(.?))/g, (whole, ref: string | undefined, bad: string | undefined) => {
    if (whole === '%%') return '%';
    if (ref === undefined) throw new IniError(o.line, `${o.key}: "%${bad ?? ''}" must be "%%" or "%(key)s" in a value that uses %(…)s`);
    const name = ref.toLowerCase();
    if (name === '__name__') return section;
    const target = all.get(name);
    if (!target) throw new IniError(o.line, `${o.key}: %(${ref})s names no key of [${section}] or [DEFAULT]`);
    return interpolate(target, all, section, depth + 1);
  });
}
