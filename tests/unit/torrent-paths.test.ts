import assert from 'node:assert/strict';
import { test } from 'node:test';
import { assertSafeTorrentPaths, unsafeComponentReason } from '../../src/downloaders/torrent-paths.js';

const enc = (s: string) => new TextEncoder().encode(s);

test('ordinary names are safe', () => {
  for (const name of ['Movie (2020).mkv', 'Subs', '.hidden', 'a..b', 'Ünïcødé 映画.mkv', 'M:I-2 (2000).mkv']) {
    assert.equal(unsafeComponentReason(name), undefined, name);
  }
});

test('traversal, absolute, drive, UNC, separators and NUL are unsafe', () => {
  for (const name of ['..', '.', '', '/etc', 'C:', 'c:\\x', '\\\\srv\\share', 'a/b', 'a\\b', 'a\0b']) {
    assert.notEqual(unsafeComponentReason(name), undefined, JSON.stringify(name));
  }
});

test('assertSafeTorrentPaths checks the name and every file path, preferring path.utf-8', () => {
  assert.doesNotThrow(() =>
    assertSafeTorrentPaths({ name: enc('Movie'), files: [{ path: [enc('a'), enc('b.mkv')] }] }),
  );
  assert.throws(() => assertSafeTorrentPaths({ name: enc('..'), length: 1 }), { code: 'unsafe_path' });
  assert.throws(
    () =>
      assertSafeTorrentPaths({
        name: enc('Movie'),
        files: [{ path: [enc('ok')], 'path.utf-8': [enc('..'), enc('x')] }],
      }),
    { code: 'unsafe_path' },
  );
  assert.throws(() => assertSafeTorrentPaths({ files: [] }), { code: 'invalid_torrent' });
});
