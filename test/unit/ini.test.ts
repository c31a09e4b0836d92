/** The config.ini dialect: what Python 2's ConfigParser made of each line, and where we refuse. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { IniError, parseIni, sectionValues } from '../../src/config/ini.js';

/** The [default] section's interpolated values. */
function values(text: string, section = 'default'): Record<string, string> {
  return Object.fromEntries([...sectionValues(parseIni(text), section)].map(([k, o]) => [k, o.value]));
}

const cases: { name: string; text: string; want: Record<string, string> }[] = [
  { name: '= and : both separate key and value, both sides trimmed', text: '[default]\na = 1\nb: 2\n  \nc=3\n', want: { a: '1', b: '2', c: '3' } },
  { name: 'keys are lower-cased, values keep their case', text: '[default]\nBackup_Destination_Path = /Mnt/Disk\n', want: { backup_destination_path: '/Mnt/Disk' } },
  { name: '# and ; start comment lines; so does rem', text: '[default]\n# a = 1\n; b = 2\nrem c = 3\nREM d = 4\nd = 5\n', want: { d: '5' } },
  { name: 'a ; after whitespace ends the value', text: '[default]\na = 7 ; Sunday\nb = x;y\n', want: { a: '7', b: 'x;y' } },
  { name: 'a # after a value is part of it', text: '[default]\na = 7 # Sunday\n', want: { a: '7 # Sunday' } },
  { name: '"" is the empty value', text: '[default]\na = ""\nb =\n', want: { a: '', b: '' } },
  { name: 'indented lines continue the value, across blank and comment lines', text: '[default]\na = 1, 2,\n  3, 4\n\n# x\n  5 ; kept\n', want: { a: '1, 2,\n3, 4\n5 ; kept' } },
  { name: 'the value is everything after the first separator', text: '[default]\nurl = http://k:5000/v3\na = b = c\n', want: { url: 'http://k:5000/v3', a: 'b = c' } },
  { name: 'text after a section header is ignored', text: '[default] ; the one\na = 1\n', want: { a: '1' } },
  { name: 'CRLF line ends and a byte-order mark', text: '\uFEFF[default]\r\na = 1\r\n', want: { a: '1' } },
  { name: '[DEFAULT] supplies keys the section lacks', text: '[DEFAULT]\na = 1\nb = 2\n[default]\nb = 3\n', want: { a: '1', b: '3' } },
  { name: 'other sections are not merged in', text: '[default]\na = 1\n[other]\nb = 2\n', want: { a: '1' } },
  { name: '%(key)s takes another key, references case-insensitive', text: '[default]\nroot = /mnt\nd = %(ROOT)s/disk\n', want: { root: '/mnt', d: '/mnt/disk' } },
  { name: 'references chain and reach [DEFAULT]', text: '[DEFAULT]\nbase = /srv\n[default]\nroot = %(base)s/b\nd = %(root)s/disk\n', want: { base: '/srv', root: '/srv/b', d: '/srv/b/disk' } },
  { name: '%(__name__)s is the section name', text: '[default]\nd = /mnt/%(__name__)s\n', want: { d: '/mnt/default' } },
  { name: '%% is % in a value that interpolates', text: '[default]\nroot = /m\nd = %(root)s/100%%\n', want: { root: '/m', d: '/m/100%' } },
  { name: 'a value without %( is taken as written', text: '[default]\na = 100%\nb = 50%%\n', want: { a: '100%', b: '50%%' } },
];

const errors: { name: string; text: string; line: number; says: RegExp }[] = [
  { name: 'a key before any section', text: 'a = 1\n[default]\n', line: 1, says: /key "a" comes before any \[section\]/ },
  { name: 'a line that is neither', text: '[default]\na = 1\njust words\n', line: 3, says: /"just words" is neither/ },
  { name: 'a repeated key (Python kept the last)', text: '[default]\na = 1\nA = 2\n', line: 3, says: /a: repeats the key at line 2/ },
  { name: 'a repeated section (Python merged them)', text: '[default]\na = 1\n[default]\nb = 2\n', line: 3, says: /section \[default\] repeats the one at line 1/ },
  { name: 'an indented line right after a header', text: '[default]\n  a = 1\n', line: 2, says: /indented line continues a value/ },
  { name: 'a reference to no key', text: '[default]\n\nd = %(nope)s/x\n', line: 3, says: /d: %\(nope\)s names no key of \[default\]/ },
  { name: 'a lone % where %( is used', text: '[default]\nr = x\nd = %(r)s 5%\n', line: 3, says: /d: "%" must be "%%" or "%\(key\)s"/ },
  { name: 'a reference loop', text: '[default]\na = %(b)s\nb = %(a)s\n', line: 2, says: /nest more than 10 deep/ },
];

describe('config.ini parsing, as ConfigParser read it', () => {
  for (const c of cases) {
    test(c.name, () => {
      assert.deepEqual(values(c.text), c.want);
    });
  }
  for (const c of errors) {
    test(`refused: ${c.name}`, () => {
      assert.throws(
        () => values(c.text),
        (e: unknown) => {
          assert.ok(e instanceof IniError, String(e));
          assert.equal(e.line, c.line);
          assert.match(e.message, c.says);
          return true;
        },
      );
    });
  }
  test('lines are numbered from 1 and sections keep their order', () => {
    const f = parseIni('# top\n[default]\na = 1\n\n[b]\nx = 2\n');
    assert.deepEqual(f.sections.map((s) => [s.name, s.line]), [['default', 2], ['b', 5]]);
    assert.deepEqual(f.sections[0]!.options.map((o) => [o.key, o.line]), [['a', 3]]);
  });
});
