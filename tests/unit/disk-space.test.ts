import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { bytesStillNeeded, type TorrentLayout } from '../../src/downloaders/disk-space.js';

const KiB = 1024;

/** 4 files over 10 pieces of 100 KiB (the last one 50 KiB): 950 KiB in all. */
const layout: TorrentLayout = {
  length: 950 * KiB,
  pieceLength: 100 * KiB,
  files: [
    { offset: 0, length: 250 * KiB }, // pieces 0–2
    { offset: 250 * KiB, length: 0 }, // empty
    { offset: 250 * KiB, length: 100 * KiB }, // pieces 2–3 (shares piece 2 with file 0)
    { offset: 350 * KiB, length: 600 * KiB }, // pieces 3–9
  ],
};

/** A BitTorrent bitfield (most significant bit first) with `pieces` set. */
function bitfield(pieces: number[]): Uint8Array {
  const bits = new Uint8Array(2);
  for (const piece of pieces) bits[piece >> 3] = (bits[piece >> 3] ?? 0) | (0x80 >> (piece & 7));
  return bits;
}

describe('bytesStillNeeded', () => {
  test('the whole torrent when nothing is on disk and every file is wanted', () => {
    assert.equal(bytesStillNeeded(layout), 950 * KiB);
    assert.equal(bytesStillNeeded(layout, bitfield([])), 950 * KiB);
  });

  test('less the verified pieces, the short last piece counted at its length', () => {
    assert.equal(bytesStillNeeded(layout, bitfield([0, 1])), 750 * KiB);
    assert.equal(bytesStillNeeded(layout, bitfield([9])), 900 * KiB);
    assert.equal(bytesStillNeeded(layout, bitfield([0, 1, 2, 3, 4, 5, 6, 7, 8, 9])), 0);
  });

  test('with a choice of files: only the pieces that hold part of a chosen file, shared pieces whole', () => {
    // File 2 (100 KiB) spans pieces 2 and 3: both are downloaded and written whole.
    assert.equal(bytesStillNeeded(layout, undefined, new Set([2])), 200 * KiB);
    assert.equal(bytesStillNeeded(layout, undefined, new Set([0])), 300 * KiB);
    assert.equal(bytesStillNeeded(layout, undefined, new Set([0, 2])), 400 * KiB);
    assert.equal(bytesStillNeeded(layout, undefined, new Set([3])), 650 * KiB);
    assert.equal(bytesStillNeeded(layout, bitfield([3, 4]), new Set([3])), 450 * KiB);
  });

  test('an empty file or an empty choice needs nothing', () => {
    assert.equal(bytesStillNeeded(layout, undefined, new Set([1])), 0);
    assert.equal(bytesStillNeeded(layout, undefined, new Set()), 0);
    assert.equal(bytesStillNeeded({ length: 0, pieceLength: 16 * KiB, files: [] }), 0);
  });
});
