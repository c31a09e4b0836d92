import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseDiffHeader, readDiffHeader, DiffFormatError, DIFF_V1, type DiffHeader } from '../../src/rbd/diff-format.js';

// --- hand-built "rbd diff v1" pieces -------------------------------------------------------------

const magic = (): Buffer => Buffer.from(DIFF_V1, 'latin1');
const tag = (t: string): Buffer => Buffer.from(t, 'latin1');
const u32 = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n);
  return b;
};
const u64 = (n: number | bigint): Buffer => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt(n));
  return b;
};
/** 'f' or 't' record: tag, u32le length, name bytes. */
const nameRec = (t: 'f' | 't', name: string): Buffer => {
  const n = Buffer.from(name, 'utf8');
  return Buffer.concat([tag(t), u32(n.length), n]);
};
const from = (name: string): Buffer => nameRec('f', name);
const to = (name: string): Buffer => nameRec('t', name);
const size = (n: number | bigint): Buffer => Buffer.concat([tag('s'), u64(n)]);
const write = (offset: number, data: Buffer): Buffer => Buffer.concat([tag('w'), u64(offset), u64(data.length), data]);
const zero = (offset: number, length: number): Buffer => Buffer.concat([tag('z'), u64(offset), u64(length)]);
const end = (): Buffer => tag('e');
const diff = (...parts: Buffer[]): Buffer => Buffer.concat([magic(), ...parts]);

const S1 = 'rbdbackup-20261101T010000Z';
const S2 = 'rbdbackup-20261102T010000Z';
const GiB = 1024 ** 3;

const tmp = mkdtempSync(join(tmpdir(), 'rbd-backup-diff-format-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
let n = 0;
const tmpFile = (content: Buffer): string => {
  const f = join(tmp, `case-${++n}.diff`);
  writeFileSync(f, content);
  return f;
};

function assertFormatError(fn: () => unknown, re: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof DiffFormatError, `expected DiffFormatError, got ${String(e)}`);
    assert.ok(e instanceof Error);
    assert.equal(e.name, 'DiffFormatError');
    assert.match(e.message, re);
    return true;
  });
}

// --- parseDiffHeader: good headers ---------------------------------------------------------------

describe('parseDiffHeader: valid headers', () => {
  const cases: { name: string; buf: Buffer; want: DiffHeader }[] = [
    {
      name: 'from + to + size, then a write',
      buf: diff(from(S1), to(S2), size(GiB), write(0, Buffer.from('hello')), end()),
      want: { fromSnapshot: S1, toSnapshot: S2, size: GiB },
    },
    {
      name: 'from + to + size, then a zero record',
      buf: diff(from(S1), to(S2), size(GiB), zero(4096, 4096), end()),
      want: { fromSnapshot: S1, toSnapshot: S2, size: GiB },
    },
    {
      name: 'from + to + size, then end (no changes)',
      buf: diff(from(S1), to(S2), size(GiB), end()),
      want: { fromSnapshot: S1, toSnapshot: S2, size: GiB },
    },
    {
      name: 'to-only (a full diff without from) + size',
      buf: diff(to(S2), size(64 * 1024 * 1024), write(0, Buffer.alloc(16, 1)), end()),
      want: { fromSnapshot: null, toSnapshot: S2, size: 64 * 1024 * 1024 },
    },
    {
      name: 'to-only without size',
      buf: diff(to(S2), end()),
      want: { fromSnapshot: null, toSnapshot: S2, size: null },
    },
    {
      name: 'size only',
      buf: diff(size(123), end()),
      want: { fromSnapshot: null, toSnapshot: null, size: 123 },
    },
    {
      name: 'no records, then e',
      buf: diff(end()),
      want: { fromSnapshot: null, toSnapshot: null, size: null },
    },
    {
      name: 'no records, then w',
      buf: diff(write(0, Buffer.from('x'))),
      want: { fromSnapshot: null, toSnapshot: null, size: null },
    },
    {
      name: 'records in another order (size, to, from)',
      buf: diff(size(GiB), to(S2), from(S1), end()),
      want: { fromSnapshot: S1, toSnapshot: S2, size: GiB },
    },
    {
      name: 'size 0',
      buf: diff(from(S1), to(S2), size(0), end()),
      want: { fromSnapshot: S1, toSnapshot: S2, size: 0 },
    },
    {
      name: 'a size above 2^32 is read as 64 bits',
      buf: diff(to(S2), size(5n * 2n ** 40n + 7n), end()),
      want: { fromSnapshot: null, toSnapshot: S2, size: 5 * 2 ** 40 + 7 },
    },
    {
      name: 'an empty name',
      buf: diff(from(''), to(S2), end()),
      want: { fromSnapshot: '', toSnapshot: S2, size: null },
    },
    {
      name: 'a UTF-8 name',
      buf: diff(from('snäp-1'), to('snap-✓'), size(1), end()),
      want: { fromSnapshot: 'snäp-1', toSnapshot: 'snap-✓', size: 1 },
    },
    {
      name: 'a 255-byte name (the longest the tool allows)',
      buf: diff(from('a'.repeat(255)), to('b'.repeat(255)), size(GiB), end()),
      want: { fromSnapshot: 'a'.repeat(255), toSnapshot: 'b'.repeat(255), size: GiB },
    },
    {
      name: 'a name containing bytes that look like tags',
      buf: diff(from('e-w-z'), to('s\nt'), size(9), end()),
      want: { fromSnapshot: 'e-w-z', toSnapshot: 's\nt', size: 9 },
    },
    {
      name: 'a later record of the same kind wins',
      buf: diff(to(S1), to(S2), size(1), size(2), end()),
      want: { fromSnapshot: null, toSnapshot: S2, size: 2 },
    },
    {
      name: 'garbage after the first data record is not read',
      buf: Buffer.concat([diff(from(S1), to(S2), size(GiB), end()), Buffer.from('\xff\xfe not a record', 'latin1')]),
      want: { fromSnapshot: S1, toSnapshot: S2, size: GiB },
    },
  ];
  for (const c of cases) {
    test(c.name, () => assert.deepEqual(parseDiffHeader(c.buf), c.want));
  }
});

// --- parseDiffHeader: bad input ------------------------------------------------------------------

describe('parseDiffHeader: bad input throws DiffFormatError', () => {
  const header = diff(from(S1), to(S2), size(GiB));
  const cases: { name: string; buf: Buffer; re: RegExp }[] = [
    // wrong magic
    { name: 'v2 magic', buf: Buffer.concat([Buffer.from('rbd diff v2\n'), from(S1), to(S2), size(GiB), end()]), re: /not an "rbd diff v1" file/ },
    { name: 'garbage', buf: Buffer.from('this is not a diff at all, really'), re: /not an "rbd diff v1" file/ },
    { name: 'random binary', buf: Buffer.from([0x00, 0xff, 0x10, 0x7f, 0x80, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09]), re: /not an "rbd diff v1"/ },
    { name: 'empty buffer', buf: Buffer.alloc(0), re: /not an "rbd diff v1"/ },
    { name: 'magic cut short', buf: Buffer.from('rbd diff'), re: /not an "rbd diff v1"/ },
    { name: 'magic without the newline', buf: Buffer.concat([Buffer.from('rbd diff v1'), end()]), re: /not an "rbd diff v1"/ },
    { name: 'magic with CRLF', buf: Buffer.concat([Buffer.from('rbd diff v1\r\n'), end()]), re: /not an "rbd diff v1"/ },
    { name: 'magic in upper case', buf: Buffer.concat([Buffer.from('RBD DIFF V1\n'), end()]), re: /not an "rbd diff v1"/ },
    { name: 'magic after a leading byte', buf: Buffer.concat([Buffer.from(' rbd diff v1\n'), end()]), re: /not an "rbd diff v1"/ },
    { name: 'an "rbd export" image header (v2 export format)', buf: Buffer.concat([Buffer.from('rbd image v2\n'), end()]), re: /not an "rbd diff v1"/ },
    // truncation
    { name: 'magic only, no records', buf: diff(), re: /header truncated at byte 12/ },
    { name: 'header without a terminating record', buf: header, re: /header truncated at byte 83/ },
    { name: 'f tag with no length', buf: diff(tag('f')), re: /header truncated at byte 12/ },
    { name: 'f tag with a 2-byte length', buf: diff(tag('f'), Buffer.from([5, 0])), re: /header truncated at byte 12/ },
    { name: 't tag with a 3-byte length', buf: diff(from(S1), tag('t'), Buffer.from([5, 0, 0])), re: /header truncated at byte 43/ },
    { name: 'f name shorter than its length', buf: diff(tag('f'), u32(20), Buffer.from('short')), re: /header truncated at byte 12/ },
    { name: 't name shorter than its length', buf: diff(from(S1), tag('t'), u32(S2.length + 1), Buffer.from(S2)), re: /header truncated at byte 43/ },
    { name: 'a huge name length', buf: diff(tag('t'), u32(0xffffffff), Buffer.from(S2), end()), re: /header truncated/ },
    { name: 'name ends exactly at the end of the buffer', buf: diff(from(S1)), re: /header truncated at byte 43/ },
    { name: 's tag with a 4-byte size', buf: diff(to(S2), tag('s'), u32(7)), re: /header truncated at byte 43/ },
    { name: 's tag with no size', buf: diff(tag('s')), re: /header truncated at byte 12/ },
    // unknown tags
    { name: "unknown tag 'x'", buf: diff(from(S1), tag('x'), end()), re: /unknown record 'x' at byte 43/ },
    { name: "unknown tag 'x' first", buf: diff(tag('x')), re: /unknown record 'x' at byte 12/ },
    { name: "upper-case 'F'", buf: diff(nameRec('f', S1).fill(0x46, 0, 1), end()), re: /unknown record 'F' at byte 12/ },
    { name: "upper-case 'E'", buf: diff(to(S2), tag('E')), re: /unknown record 'E' at byte 43/ },
    { name: 'a NUL byte', buf: diff(Buffer.from([0]), end()), re: /unknown record '\0' at byte 12/ },
    { name: "v2-only tag 'm'", buf: diff(to(S2), size(1), tag('m'), u64(0), end()), re: /unknown record 'm' at byte 52/ },
    { name: 'a name length too short, so the name spills into a bogus tag', buf: diff(tag('f'), u32(3), Buffer.from('abcqq'), end()), re: /unknown record 'q' at byte 20/ },
  ];
  for (const c of cases) {
    test(c.name, () => assertFormatError(() => parseDiffHeader(c.buf), c.re));
  }

  test('names the file in the message (default "diff")', () => {
    assertFormatError(() => parseDiffHeader(Buffer.from('nope')), /^diff: not an "rbd diff v1" file$/);
    assertFormatError(() => parseDiffHeader(Buffer.from('nope'), '/b/x.diff'), /^\/b\/x\.diff: not an "rbd diff v1" file$/);
    assertFormatError(() => parseDiffHeader(diff(tag('q')), 'c/y.diff'), /^c\/y\.diff: unknown record 'q' at byte 12$/);
    assertFormatError(() => parseDiffHeader(diff(tag('s')), 'c/z.diff'), /^c\/z\.diff: header truncated at byte 12$/);
  });

  test('every proper prefix of a valid header is rejected, none crashes with another error', () => {
    const full = diff(from(S1), to(S2), size(GiB), end());
    for (let len = 0; len < full.length; len++) {
      assert.throws(() => parseDiffHeader(full.subarray(0, len)), DiffFormatError, `prefix of ${len} bytes`);
    }
    assert.deepEqual(parseDiffHeader(full), { fromSnapshot: S1, toSnapshot: S2, size: GiB });
  });
});

// --- readDiffHeader ------------------------------------------------------------------------------

describe('readDiffHeader', () => {
  test('reads the header of a diff file', async () => {
    const f = tmpFile(diff(from(S1), to(S2), size(GiB), write(0, Buffer.from('data')), zero(4096, 8192), end()));
    assert.deepEqual(await readDiffHeader(f), { fromSnapshot: S1, toSnapshot: S2, size: GiB });
  });

  test('reads a to-only header', async () => {
    const f = tmpFile(diff(to(S2), size(4096), end()));
    assert.deepEqual(await readDiffHeader(f), { fromSnapshot: null, toSnapshot: S2, size: 4096 });
  });

  test('reads the header of a file much larger than its header', async () => {
    const data = Buffer.alloc(1024 * 1024, 0xab);
    const f = tmpFile(diff(from(S1), to(S2), size(GiB), write(0, data), write(2 * 1024 * 1024, data), end()));
    assert.deepEqual(await readDiffHeader(f), { fromSnapshot: S1, toSnapshot: S2, size: GiB });
  });

  test('reads a header with the longest names the tool allows', async () => {
    const a = 'a'.repeat(255);
    const b = 'b'.repeat(255);
    const f = tmpFile(diff(from(a), to(b), size(1), write(0, Buffer.alloc(8192)), end()));
    assert.deepEqual(await readDiffHeader(f), { fromSnapshot: a, toSnapshot: b, size: 1 });
  });

  const bad: { name: string; content: Buffer; re: RegExp }[] = [
    { name: 'an empty file', content: Buffer.alloc(0), re: /not an "rbd diff v1" file/ },
    { name: 'a v2 diff', content: Buffer.concat([Buffer.from('rbd diff v2\n'), to(S2), end()]), re: /not an "rbd diff v1" file/ },
    { name: 'a raw full export (zeros)', content: Buffer.alloc(8192), re: /not an "rbd diff v1" file/ },
    { name: 'a header cut short', content: diff(from(S1), tag('t'), u32(S2.length), Buffer.from(S2.slice(0, 4))), re: /header truncated at byte 43/ },
    { name: 'an unknown record', content: diff(from(S1), tag('?')), re: /unknown record '\?' at byte 43/ },
  ];
  for (const c of bad) {
    test(`rejects ${c.name} with DiffFormatError naming the file`, async () => {
      const f = tmpFile(c.content);
      await assert.rejects(readDiffHeader(f), (e: unknown) => {
        assert.ok(e instanceof DiffFormatError, `expected DiffFormatError, got ${String(e)}`);
        assert.ok(e.message.startsWith(`${f}: `), e.message);
        assert.match(e.message, c.re);
        return true;
      });
    });
  }

  test('a missing file rejects with ENOENT, not DiffFormatError', async () => {
    await assert.rejects(readDiffHeader(join(tmp, 'does-not-exist.diff')), (e: unknown) => {
      assert.ok(!(e instanceof DiffFormatError));
      assert.equal((e as NodeJS.ErrnoException).code, 'ENOENT');
      return true;
    });
  });
});
