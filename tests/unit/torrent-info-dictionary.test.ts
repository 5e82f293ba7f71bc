import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import bencode from 'bencode';
import fc from 'fast-check';
import { ChillyError, isChillyError } from '../../src/domain/errors.js';
import { resolveTorrentSource } from '../../src/downloaders/torrent-source.js';
import { checkInfoDictionary, checkTorrentFile, TORRENT_LIMITS } from '../../src/torrent/info-dictionary.js';
import { singleFileInfo, torrentBytes } from '../helpers/torrent-bytes.js';

const DATA = Buffer.alloc(40_000, 7);

/** The crafted dictionaries of issue 12, finding 1, with the field each error must name. */
const CRAFTED: Array<[label: string, info: Record<string, unknown>, field: RegExp]> = [
  ['too few piece hashes for its length', singleFileInfo(DATA, { pieces: Buffer.alloc(20) }), /"pieces" has 1 hashes/],
  ['pieces of 25 bytes', singleFileInfo(DATA, { pieces: Buffer.alloc(25) }), /"pieces" is 25 bytes/],
  ['a negative length', singleFileInfo(DATA, { length: -5 }), /"length" must be from 0/],
  ['a negative piece length', singleFileInfo(DATA, { 'piece length': -16384 }), /"piece length" must be from 1/],
  [
    'a negative file length',
    {
      name: Buffer.from('pack'),
      'piece length': 16384,
      pieces: Buffer.alloc(60),
      files: [
        { length: 40_000, path: [Buffer.from('a.mkv')] },
        { length: -1, path: [Buffer.from('b.srt')] },
      ],
    },
    /"files\[1\]\.length" must be from 0/,
  ],
  [
    'piece length as a string',
    singleFileInfo(DATA, { 'piece length': Buffer.from('16384') }),
    /"piece length" must be an integer \(got a 5-byte string\)/,
  ],
  ['length 2^63', singleFileInfo(DATA, { length: 2 ** 63 }), /"length" must be an integer/],
  [
    'a 1-byte torrent with 500,000 piece hashes',
    singleFileInfo(Buffer.alloc(1), { pieces: Buffer.alloc(20 * 500_000) }),
    /"pieces" has 500000 hashes, but 1 bytes in pieces of 16384 need 1/,
  ],
  ['no data at all', singleFileInfo(Buffer.alloc(0), { pieces: Buffer.alloc(20) }), /holds no data/],
  ['both length and files', singleFileInfo(DATA, { files: [] }), /"length" and "files" are both given/],
  ['a piece length of 1 GiB', singleFileInfo(DATA, { 'piece length': 2 ** 30 }), /"piece length" must be from 1 to/],
  [
    'a file whose path is not a list',
    { ...singleFileInfo(DATA), length: undefined, files: [{ length: 1, path: 5 }] },
    /must be a non-empty list/,
  ],
];

describe('info dictionaries of crafted torrents are refused with invalid_torrent naming the field', () => {
  for (const [label, info, field] of CRAFTED) {
    test(label, async () => {
      const clean = Object.fromEntries(Object.entries(info).filter(([, value]) => value !== undefined));
      assert.throws(
        () => checkInfoDictionary(clean),
        (error: ChillyError) => error.code === 'invalid_torrent' && field.test(error.message),
      );
      // The same through the one entry point every source goes through (upload, disk, database).
      await assert.rejects(
        resolveTorrentSource({ sourceType: 'torrent', torrentFile: torrentBytes(clean) }),
        (error: ChillyError) => error.code === 'invalid_torrent' && field.test(error.message),
      );
    });
  }

  test('a v2-only torrent is unsupported_torrent_version, a hybrid is checked as v1', () => {
    assert.throws(
      () =>
        checkInfoDictionary({
          name: Buffer.from('x'),
          'piece length': 16384,
          'meta version': 2,
          'file tree': {},
        }),
      { code: 'unsupported_torrent_version' },
    );
    const hybrid = singleFileInfo(DATA, { 'meta version': 2, 'file tree': {} });
    assert.equal(checkInfoDictionary(hybrid).pieceCount, 3);
  });

  test('a valid dictionary passes and says what it holds', () => {
    assert.deepEqual(checkInfoDictionary(singleFileInfo(DATA)), {
      length: 40_000,
      pieceLength: 16384,
      pieceCount: 3,
      fileCount: 1,
    });
  });

  test('bytes that are not bencode, or bencode that is not a dictionary, are invalid_torrent', () => {
    for (const bytes of [Buffer.from('not bencode'), Buffer.from('i5e'), Buffer.from('l'.repeat(100_000))]) {
      assert.throws(() => checkTorrentFile(bytes), { code: 'invalid_torrent' });
    }
    assert.throws(() => checkTorrentFile(Buffer.alloc(TORRENT_LIMITS.maxTorrentBytes + 1)), /at most/);
  });
});

/** Any bencode value: what a peer or a file can put in any field. */
const bencodeValue = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.integer({ min: -(2 ** 40), max: 2 ** 40 }),
    fc.constantFrom(0, 1, -1, 16384, 2 ** 53, 2 ** 63, Number.MAX_SAFE_INTEGER),
    fc.uint8Array({ maxLength: 64 }).map((bytes) => Buffer.from(bytes)),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(fc.constantFrom('name', 'length', 'path', 'files', 'pieces', 'piece length', 'x'), tie('value'), {
      maxKeys: 4,
    }),
  ),
})).value;

const FIELDS = ['name', 'name.utf-8', 'piece length', 'pieces', 'length', 'files', 'meta version', 'file tree'];

describe('fuzz: no info dictionary makes the check throw anything but a typed error', () => {
  const acceptable = (error: unknown): boolean =>
    error instanceof ChillyError && (error.code === 'invalid_torrent' || error.code === 'unsupported_torrent_version');

  test('random dictionaries', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.constantFrom(...FIELDS), bencodeValue, { maxKeys: 6 }), (info) => {
        try {
          const checked = checkInfoDictionary(info);
          assert.ok(checked.length >= 1 && checked.pieceCount <= TORRENT_LIMITS.maxPieces);
        } catch (error) {
          assert.ok(acceptable(error), String(error));
        }
      }),
      { seed: 1204, numRuns: 2_000 },
    );
  });

  test('a valid dictionary with one field replaced', () => {
    const valid = singleFileInfo(DATA);
    fc.assert(
      fc.property(fc.constantFrom(...FIELDS), bencodeValue, (field, value) => {
        try {
          checkInfoDictionary({ ...valid, [field]: value });
        } catch (error) {
          assert.ok(acceptable(error), String(error));
        }
      }),
      { seed: 1205, numRuns: 2_000 },
    );
  });

  test('raw bytes and damaged .torrent files (a negative string length used to hang bencode)', {
    timeout: 30_000,
  }, () => {
    assert.throws(() => checkTorrentFile(Buffer.from('d4:infod1:a-3:xxee')), { code: 'invalid_torrent' });
    const valid = torrentBytes(singleFileInfo(DATA));
    const damaged = fc
      .tuple(
        fc.array(fc.tuple(fc.nat({ max: valid.length - 1 }), fc.constantFrom(...Buffer.from('-0123456789:ilde'))), {
          minLength: 1,
          maxLength: 4,
        }),
        fc.nat({ max: valid.length }),
      )
      .map(([edits, cut]) => {
        const bytes = Buffer.from(valid.subarray(0, Math.max(1, cut)));
        for (const [at, byte] of edits) if (at < bytes.length) bytes[at] = byte;
        return bytes;
      });
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b)),
          damaged,
        ),
        (bytes) => {
          try {
            checkTorrentFile(bytes);
          } catch (error) {
            assert.ok(acceptable(error), String(error));
          }
        },
      ),
      { seed: 1209, numRuns: 3_000 },
    );
  });

  test('.torrent bytes that passed the check also parse (or are refused for an unsafe file path only)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...FIELDS), bencodeValue, async (field, value) => {
        const bytes = Buffer.from(bencode.encode({ info: { ...singleFileInfo(DATA), [field]: value } }));
        let passed = true;
        try {
          checkTorrentFile(bytes);
        } catch {
          passed = false;
        }
        if (passed) {
          // Reading a source also checks its file paths (torrent-paths.ts): a name with a NUL byte
          // is a well-formed dictionary, and refused there, with its own code.
          const source = await resolveTorrentSource({ sourceType: 'torrent', torrentFile: bytes }).catch(
            (error: unknown) => {
              if (isChillyError(error, 'unsafe_path')) return undefined;
              throw error;
            },
          );
          if (source !== undefined) assert.equal(source.kind, 'torrent');
        }
      }),
      { seed: 1206, numRuns: 500 },
    );
  });
});
