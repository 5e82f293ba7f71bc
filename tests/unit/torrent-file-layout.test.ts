import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import {
  MAX_COMPONENT_BYTES,
  MAX_PATH_BYTES,
  planFileLayout,
  sanitizeComponent,
} from '../../src/torrent/file-layout.js';

const bytes = (value: string): Buffer => Buffer.from(value, 'utf8');

/** A multi-file info dictionary (sizes are irrelevant to the layout). */
function pack(name: string | Buffer, paths: Array<Array<string | Buffer>>): Record<string, unknown> {
  return {
    name: typeof name === 'string' ? bytes(name) : name,
    files: paths.map((parts) => ({ length: 1, path: parts.map((p) => (typeof p === 'string' ? bytes(p) : p)) })),
  };
}

const diskPaths = (info: Record<string, unknown>): string[] => planFileLayout(info).map((file) => file.diskPath);

describe('file names are made safe for every file system', () => {
  test('reserved Windows device names get a leading underscore', () => {
    assert.deepEqual(
      ['CON', 'nul.txt', 'Com1.srt', 'lpt9', 'aux .nfo', 'console.txt', 'nullable'].map((n) => sanitizeComponent(n)),
      ['_CON', '_nul.txt', '_Com1.srt', '_lpt9', '_aux .nfo', 'console.txt', 'nullable'],
    );
  });

  test('trailing dots and spaces go; forbidden characters and controls become _', () => {
    assert.equal(sanitizeComponent('Film (1968). . '), 'Film (1968)');
    assert.equal(sanitizeComponent('a<b>c:d"e|f?g*h'), 'a_b_c_d_e_f_g_h');
    assert.equal(sanitizeComponent('bell\u0007\u001b[2Jname\r\n'), 'bell__[2Jname__');
    assert.equal(sanitizeComponent('film\u202Evkm.exe'), 'film_vkm.exe');
    assert.equal(sanitizeComponent('...'), '_');
    assert.equal(sanitizeComponent(''), '_');
  });

  test('invalid UTF-8 becomes U+FFFD; text is NFC', () => {
    assert.equal(sanitizeComponent(Buffer.from([0x66, 0xff, 0xfe, 0x2e, 0x6d, 0x6b, 0x76])), 'f\ufffd\ufffd.mkv');
    assert.equal(sanitizeComponent(bytes('Cafe\u0301.mkv')), 'Caf\u00e9.mkv');
  });

  test('a 300-byte name is shortened to 255 bytes on a character boundary, keeping the extension', () => {
    const long = `${'é'.repeat(150)}.mkv`;
    const safe = sanitizeComponent(long);
    assert.ok(Buffer.byteLength(safe) <= MAX_COMPONENT_BYTES);
    assert.ok(safe.endsWith('é.mkv'));
    assert.ok(!safe.includes('\ufffd'));
  });
});

describe('layouts never put two files in one place', () => {
  test('two files with the same path are told apart', () => {
    assert.deepEqual(diskPaths(pack('Pack', [['a.mkv'], ['a.mkv'], ['a (2).mkv']])), [
      'Pack/a.mkv',
      'Pack/a (2).mkv',
      'Pack/a (2) (2).mkv',
    ]);
  });

  test('names that only meet after sanitising, or ignoring case, are told apart', () => {
    assert.deepEqual(diskPaths(pack('P', [['a?.srt'], ['a*.srt'], ['A_.SRT']])), [
      'P/a_.srt',
      'P/a_ (2).srt',
      'P/A_ (3).SRT',
    ]);
  });

  test('a file and a folder of the same name (x and x/y) both fit', () => {
    assert.deepEqual(diskPaths(pack('P', [['x'], ['x', 'y'], ['x', 'z']])), ['P/x', 'P/x (2)/y', 'P/x (2)/z']);
    assert.deepEqual(diskPaths(pack('P', [['x', 'y'], ['x']])), ['P/x/y', 'P/x (2)']);
  });

  test('a single-file torrent lives at its name; torrent paths are kept for display', () => {
    const [file] = planFileLayout({ name: bytes('Night: 1968?.mkv'), length: 5 });
    assert.deepEqual(file, { torrentPath: 'Night: 1968?.mkv', diskPath: 'Night_ 1968_.mkv', length: 5, offset: 0 });
  });

  test('path.utf-8 is preferred over path', () => {
    const info = { name: bytes('P'), files: [{ length: 1, path: [bytes('x')], 'path.utf-8': [bytes('ü.mkv')] }] };
    assert.deepEqual(diskPaths(info), ['P/ü.mkv']);
  });

  test('a path too deep for macOS is flattened into the top folder', () => {
    const deep = Array.from({ length: 40 }, (_, i) => `folder-${i}-${'d'.repeat(30)}`);
    const [file] = planFileLayout(pack('Top', [[...deep, 'film.mkv']]));
    assert.ok(file !== undefined);
    assert.ok(Buffer.byteLength(file.diskPath) <= MAX_PATH_BYTES);
    assert.ok(file.diskPath.startsWith('Top/folder-0-'));
    assert.ok(file.diskPath.endsWith('.mkv'));
    assert.equal(file.diskPath.split('/').length, 2);
  });
});

/** Path components a hostile torrent may carry (traversal is refused elsewhere, before this). */
const component = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.constantFrom('CON', 'nul.txt', 'a.', 'a ', 'x', 'X', 'x.mkv', 'X.MKV', 'é', 'e\u0301', ''),
  fc.uint8Array({ maxLength: 40 }).map((b) => Buffer.from(b)),
  fc.string({ minLength: 200, maxLength: 400 }),
);

describe('fuzz: every layout is safe, collision-free and deterministic', () => {
  test('random packs', () => {
    fc.assert(
      fc.property(
        fc.array(fc.array(component, { minLength: 1, maxLength: 6 }), { minLength: 1, maxLength: 12 }),
        (paths) => {
          const info = pack('Pack', paths);
          const layout = planFileLayout(info);
          assert.deepEqual(planFileLayout(info), layout, 'deterministic');
          const files = new Set<string>();
          const folders = new Set<string>();
          for (const { diskPath } of layout) {
            assert.ok(Buffer.byteLength(diskPath) <= MAX_PATH_BYTES, diskPath);
            const parts = diskPath.split('/');
            for (const part of parts) {
              assert.ok(part !== '' && part !== '.' && part !== '..', diskPath);
              assert.ok(Buffer.byteLength(part) <= MAX_COMPONENT_BYTES);
              // biome-ignore lint/suspicious/noControlCharactersInRegex: no control character may be left.
              assert.doesNotMatch(part, /[\u0000-\u001f\u007f-\u009f<>:"\\|?*]|[. ]$/u);
              assert.doesNotMatch(part, /^(con|prn|aux|nul|com[0-9]|lpt[0-9])(\s*\.|\s*$)/iu);
            }
            const key = diskPath.toLowerCase();
            assert.ok(!files.has(key) && !folders.has(key), `two files at ${diskPath}`);
            files.add(key);
            for (let i = 1; i < parts.length; i++) folders.add(parts.slice(0, i).join('/').toLowerCase());
          }
          for (const folder of folders) assert.ok(!files.has(folder), `${folder} is both a file and a folder`);
        },
      ),
      { seed: 1207, numRuns: 1_000 },
    );
  });
});
