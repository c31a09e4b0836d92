/** Which activity errors Temporal retries: states that retrying cannot change are failed at once. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ApplicationFailure } from '@temporalio/common';
import { toFailure } from '../../activities/errors.js';
import { RbdError } from '../../src/rbd/rbd.js';
import { InputError } from '../../src/config/config.js';
import { NameError } from '../../src/names/names.js';

const errno = (code: string, message = `${code}: boom, open '/backup/x'`) => Object.assign(new Error(message), { code });
class CatalogUnreadableError extends Error {
  override name = 'CatalogUnreadableError';
}

describe('toFailure', () => {
  const cases: { name: string; error: unknown; type: string | undefined; nonRetryable: boolean; message?: RegExp }[] = [
    { name: 'rbd export into a full disk', error: new RbdError('rbd export rbd/a@s f', 28, 'rbd: export error: (28) No space left on device'), type: 'ENOSPC', nonRetryable: true, message: /destination is full/ },
    { name: 'rbd export into a read-only mount', error: new RbdError('rbd export rbd/a@s f', 30, 'rbd: error opening f: (30) Read-only file system'), type: 'EROFS', nonRetryable: true, message: /read-only/ },
    { name: 'rbd: permission denied', error: new RbdError('rbd export rbd/a@s f', 13, 'rbd: (13) Permission denied'), type: 'EACCES', nonRetryable: true },
    { name: 'rbd: image not found', error: new RbdError('rbd info rbd/x', 2, 'rbd: error opening image x: (2) No such file or directory'), type: 'NotFound', nonRetryable: true },
    { name: 'rbd snap rollback: EROFS is a held exclusive lock, retried', error: new RbdError('rbd snap rollback rbd/a@s', 30, 'rbd: rollback failed: (30) Read-only file system'), type: 'RbdError', nonRetryable: false },
    { name: 'rbd import-diff: EROFS is a held exclusive lock, retried', error: new RbdError('rbd import-diff f rbd/a', 30, 'rbd: import-diff failed: (30) Read-only file system'), type: 'RbdError', nonRetryable: false },
    { name: 'rbd: timed out (cluster not answering) is retried', error: new RbdError('rbd snap create', 110, 'rbd: (110) Connection timed out'), type: 'RbdError', nonRetryable: false },
    { name: 'rbd killed by a signal is retried', error: new RbdError('rbd export', undefined, 'killed by SIGKILL'), type: 'RbdError', nonRetryable: false },
    { name: 'fs: ENOSPC while writing the catalog', error: errno('ENOSPC'), type: 'ENOSPC', nonRetryable: true, message: /\/backup\/x.*destination is full/ },
    { name: 'fs: EROFS', error: errno('EROFS'), type: 'EROFS', nonRetryable: true },
    { name: 'fs: EACCES', error: errno('EACCES'), type: 'EACCES', nonRetryable: true },
    { name: 'bad input', error: new InputError('x: bad'), type: 'InputError', nonRetryable: true },
    { name: 'bad name', error: new NameError('image name "a b"'), type: 'InputError', nonRetryable: true },
    { name: 'unreadable catalog', error: new CatalogUnreadableError('catalog.json: corrupt'), type: 'CatalogUnreadableError', nonRetryable: true },
    { name: 'fs: EIO may heal (retried)', error: errno('EIO'), type: undefined, nonRetryable: false },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const f = toFailure(c.error);
      if (c.type === undefined) {
        assert.equal(f, c.error, 'left to the retry policy');
        return;
      }
      assert.ok(f instanceof ApplicationFailure);
      assert.equal(f.type, c.type);
      assert.equal(f.nonRetryable, c.nonRetryable);
      if (c.message) assert.match(f.message, c.message);
    });
  }
  test('rbd stderr travels in the details', () => {
    const f = toFailure(new RbdError('rbd export rbd/a@s f', 28, 'line 1\nrbd: (28) No space left on device')) as ApplicationFailure;
    assert.match(String((f.details?.[0] as { stderr: string }).stderr), /No space left/);
  });
});
