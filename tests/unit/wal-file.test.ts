/**
 * The WAL reader (src/storage/wal-file.ts) against logs SQLite itself writes (better-sqlite3,
 * `wal_autocheckpoint=0`, copied while the connection is open: what a crash leaves), against
 * logs this test encodes the same way (to cover big-endian checksums, which SQLite only writes on
 * big-endian machines), and property-based fuzzing (fixed seeds, bounded runs): random and
 * mutated bytes only ever give a classified result, cutting a log short is never "damage", and a
 * byte changed in the middle of committed frames always is.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import fc from 'fast-check';
import {
  bufferSource,
  type Checksum,
  checkWalAgainstIndex,
  inspectWal,
  inspectWalIndex,
  WAL_FORMAT_VERSION,
  type WalInspection,
  walChecksum,
} from '../../src/storage/wal-file.js';

const PAGE = 512;
const FRAME = 24 + PAGE;

interface Written {
  wal: Buffer;
  shm: Buffer;
}

/** Runs `work` on a fresh WAL database (512-byte pages) and returns its -wal and -shm as they are with the connection still open. */
function sqliteWal(dir: string, name: string, work: (db: Database.Database) => void): Written {
  const file = path.join(dir, `${name}.db`);
  const db = new Database(file);
  try {
    db.pragma(`page_size = ${PAGE}`);
    db.pragma('journal_mode = WAL');
    db.pragma('wal_autocheckpoint = 0');
    work(db);
    return { wal: readFileSync(`${file}-wal`), shm: readFileSync(`${file}-shm`) };
  } finally {
    db.close();
  }
}

function transactions(db: Database.Database, count: number, size = 100): void {
  db.exec('CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, body TEXT)');
  const insert = db.prepare('INSERT INTO t (body) VALUES (?)');
  for (let i = 0; i < count; i++) insert.run(`${i}:`.padEnd(size, 'x'));
}

function ok(inspection: WalInspection): Extract<WalInspection, { kind: 'ok' }> {
  assert.equal(inspection.kind, 'ok', JSON.stringify(inspection));
  return inspection as Extract<WalInspection, { kind: 'ok' }>;
}

/** The frames of an undamaged log: page number, commit size, page bytes. */
function framesOf(wal: Buffer): Array<{ page: number; commitPages: number; data: Buffer }> {
  const pageSize = wal.readUInt32BE(8);
  const frames = [];
  for (let offset = 32; offset + 24 + pageSize <= wal.length; offset += 24 + pageSize) {
    frames.push({
      page: wal.readUInt32BE(offset),
      commitPages: wal.readUInt32BE(offset + 4),
      data: wal.subarray(offset + 24, offset + 24 + pageSize),
    });
  }
  return frames;
}

/** Encodes a log as SQLite does (wal.c walWriteOneFrame): for checksums in either byte order. */
function encodeWal(options: {
  pageSize: number;
  bigEndian: boolean;
  salts: Buffer;
  checkpointSequence?: number;
  frames: Array<{ page: number; commitPages: number; data: Buffer }>;
}): Buffer {
  const header = Buffer.alloc(32);
  header.writeUInt32BE(options.bigEndian ? 0x377f0683 : 0x377f0682, 0);
  header.writeUInt32BE(WAL_FORMAT_VERSION, 4);
  header.writeUInt32BE(options.pageSize, 8);
  header.writeUInt32BE(options.checkpointSequence ?? 0, 12);
  options.salts.copy(header, 16);
  let chain: Checksum = walChecksum(header.subarray(0, 24), options.bigEndian);
  header.writeUInt32BE(chain[0], 24);
  header.writeUInt32BE(chain[1], 28);
  const parts: Buffer[] = [header];
  for (const frame of options.frames) {
    const head = Buffer.alloc(24);
    head.writeUInt32BE(frame.page, 0);
    head.writeUInt32BE(frame.commitPages, 4);
    options.salts.copy(head, 8);
    chain = walChecksum(frame.data, options.bigEndian, walChecksum(head.subarray(0, 8), options.bigEndian, chain));
    head.writeUInt32BE(chain[0], 16);
    head.writeUInt32BE(chain[1], 20);
    parts.push(head, frame.data);
  }
  return Buffer.concat(parts);
}

describe('WAL reader', () => {
  let dir: string;
  /** 12 committed transactions, nothing else. */
  let plain: Written;

  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'chilly-wal-'));
    plain = sqliteWal(dir, 'plain', (db) => transactions(db, 12));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('reads a log SQLite wrote: every frame valid, the last one a commit, the index agreeing', () => {
    const wal = ok(inspectWal(bufferSource(plain.wal)));
    assert.equal(wal.header.pageSize, PAGE);
    assert.equal(wal.frames, (plain.wal.length - 32) / FRAME);
    assert.equal(wal.committedFrames, wal.frames);
    assert.equal(wal.tail, undefined);
    assert.equal(wal.lastCommit?.frame, wal.frames);
    const index = inspectWalIndex(bufferSource(plain.shm));
    assert.equal(index.kind, 'ok');
    assert.equal(index.kind === 'ok' && index.maxFrame, wal.committedFrames);
    assert.equal(index.kind === 'ok' && index.pageSize, PAGE);
    const remembered = inspectWal(bufferSource(plain.wal), { remember: wal.committedFrames });
    assert.equal(checkWalAgainstIndex(remembered, index), undefined);
  });

  it('encodes exactly what SQLite wrote, so big-endian checksums are checked the same way', () => {
    const frames = framesOf(plain.wal);
    const salts = plain.wal.subarray(16, 24);
    const checkpointSequence = plain.wal.readUInt32BE(12);
    const again = encodeWal({ pageSize: PAGE, bigEndian: false, salts, checkpointSequence, frames });
    assert.ok(again.equals(plain.wal), 'byte for byte');
    const bigEndian = encodeWal({ pageSize: PAGE, bigEndian: true, salts, checkpointSequence, frames });
    const read = ok(inspectWal(bufferSource(bigEndian)));
    assert.equal(read.header.bigEndian, true);
    assert.equal(read.committedFrames, frames.length);
    const broken = Buffer.from(bigEndian);
    broken[32 + 3 * FRAME + 100] = (broken[32 + 3 * FRAME + 100] ?? 0) ^ 1;
    assert.equal(inspectWal(bufferSource(broken)).kind, 'damaged');
  });

  it('takes frames of an earlier generation after a checkpoint restart for the leftovers they are', () => {
    const restarted = sqliteWal(dir, 'restarted', (db) => {
      transactions(db, 20);
      db.pragma('wal_checkpoint(RESTART)');
      transactions(db, 2);
    });
    const wal = ok(inspectWal(bufferSource(restarted.wal)));
    assert.ok(wal.committedFrames > 0 && wal.committedFrames < wal.frames, JSON.stringify(wal));
    assert.equal(wal.tail, 'old-frames');
    const index = inspectWalIndex(bufferSource(restarted.shm));
    const remember = index.kind === 'ok' ? index.maxFrame : 0;
    assert.equal(checkWalAgainstIndex(inspectWal(bufferSource(restarted.wal), { remember }), index), undefined);
  });

  it('takes the frames of a rolled-back transaction (spilled to the log) for leftovers, not damage', () => {
    const rolledBack = sqliteWal(dir, 'rolled-back', (db) => {
      transactions(db, 5);
      db.pragma('cache_size = 2');
      try {
        db.transaction(() => {
          transactions(db, 200, 300);
          throw new Error('roll back');
        })();
      } catch {
        // Rolled back, as meant.
      }
      transactions(db, 1);
    });
    const wal = ok(inspectWal(bufferSource(rolledBack.wal)));
    assert.ok(wal.frames > wal.committedFrames + 10, `the spill left frames behind: ${JSON.stringify(wal)}`);
    assert.equal(wal.tail, 'torn');
    const index = inspectWalIndex(bufferSource(rolledBack.shm));
    const remember = index.kind === 'ok' ? index.maxFrame : 0;
    assert.equal(checkWalAgainstIndex(inspectWal(bufferSource(rolledBack.wal), { remember }), index), undefined);
  });

  it('takes a last frame cut short by a crash for a crash, and the index tells when committed frames are gone', () => {
    const torn = Buffer.from(plain.wal);
    torn[torn.length - 10] = (torn[torn.length - 10] ?? 0) ^ 0xff;
    const wal = ok(inspectWal(bufferSource(torn)));
    assert.equal(wal.tail, 'torn');
    assert.ok(wal.committedFrames < wal.frames);
    const partial = ok(inspectWal(bufferSource(plain.wal.subarray(0, plain.wal.length - 100))));
    assert.equal(partial.tail, 'partial-frame');
    // The crashed process's index knew of the last commit: neither log reaches it now.
    const index = inspectWalIndex(bufferSource(plain.shm));
    for (const cut of [torn, plain.wal.subarray(0, plain.wal.length - 100), plain.wal.subarray(0, 32 + 3 * FRAME)]) {
      const remember = index.kind === 'ok' ? index.maxFrame : 0;
      assert.match(checkWalAgainstIndex(inspectWal(bufferSource(cut), { remember }), index) ?? '', /cut short/);
    }
    assert.match(checkWalAgainstIndex(undefined, index) ?? '', /missing/);
    assert.match(checkWalAgainstIndex({ kind: 'empty' }, index) ?? '', /empty/);
  });

  it("says another database's log is not the one the index was built from", () => {
    const other = sqliteWal(dir, 'other', (db) => transactions(db, 12));
    const index = inspectWalIndex(bufferSource(plain.shm));
    const remember = index.kind === 'ok' ? index.maxFrame : 0;
    assert.match(
      checkWalAgainstIndex(inspectWal(bufferSource(other.wal), { remember }), index) ?? '',
      /another database/,
    );
  });

  it('finds damage in the header', () => {
    const cases: Array<[string, (wal: Buffer) => Buffer]> = [
      ['shorter than its 32-byte header', (wal) => wal.subarray(0, 20)],
      ['magic', (wal) => Buffer.concat([Buffer.from([0, 0, 0, 0]), wal.subarray(4)])],
      ['version', (wal) => flip(wal, 6)],
      ['page size', (wal) => flip(wal, 10)],
      ['checksum', (wal) => flip(wal, 13)],
      ['checksum', (wal) => flip(wal, 26)],
    ];
    for (const [problem, damage] of cases) {
      const result = inspectWal(bufferSource(damage(plain.wal)));
      assert.equal(result.kind, 'damaged', problem);
      assert.match(result.kind === 'damaged' ? result.problem : '', new RegExp(problem));
    }
    assert.deepEqual(inspectWal(bufferSource(Buffer.alloc(0))), { kind: 'empty' });
  });

  it('finds damage in the middle of committed frames, wherever in the frame it is', () => {
    const frames = (plain.wal.length - 32) / FRAME;
    for (const offsetInFrame of [0, 4, 8, 12, 16, 20, 24, 300, FRAME - 1]) {
      const damaged = flip(plain.wal, 32 + Math.floor(frames / 2) * FRAME + offsetInFrame);
      const result = inspectWal(bufferSource(damaged));
      assert.equal(result.kind, 'damaged', `byte ${offsetInFrame} of a frame: ${JSON.stringify(result)}`);
    }
  });

  it('reads the index header only when both copies agree and the checksum matches', () => {
    assert.equal(inspectWalIndex(bufferSource(plain.shm)).kind, 'ok');
    assert.equal(inspectWalIndex(bufferSource(flip(plain.shm, 16))).kind, 'unusable', 'copies differ');
    const both = flip(flip(plain.shm, 16), 64);
    assert.equal(inspectWalIndex(bufferSource(both)).kind, 'unusable', 'checksum');
    assert.equal(inspectWalIndex(bufferSource(plain.shm.subarray(0, 100))).kind, 'unusable', 'too short');
  });

  describe('fuzz (fast-check, fixed seeds)', () => {
    const kinds = new Set(['empty', 'damaged', 'ok']);
    const classify = (bytes: Uint8Array, remember?: number): WalInspection => {
      const result = inspectWal(bufferSource(bytes), remember === undefined ? {} : { remember });
      assert.ok(kinds.has(result.kind), JSON.stringify(result));
      return result;
    };

    it('random bytes, with or without a valid header, give a classified result and never throw', () => {
      const header = plain.wal.subarray(0, 32);
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 3 * FRAME + 40 }), fc.boolean(), (bytes, withHeader) => {
          classify(withHeader ? Buffer.concat([header, bytes]) : bytes);
          const index = inspectWalIndex(bufferSource(bytes));
          assert.ok(index.kind === 'ok' || index.kind === 'unusable');
        }),
        { seed: 1201, numRuns: 2_000 },
      );
    });

    it("SQLite's log with random bytes changed, cut or appended gives a classified result and never throws", () => {
      const index = inspectWalIndex(bufferSource(plain.shm));
      fc.assert(
        fc.property(
          fc.array(fc.record({ at: fc.nat({ max: plain.wal.length - 1 }), xor: fc.integer({ min: 1, max: 255 }) }), {
            maxLength: 8,
          }),
          fc.option(fc.nat({ max: plain.wal.length })),
          fc.uint8Array({ maxLength: 2 * FRAME }),
          (flips, cut, tail) => {
            const bytes = Buffer.concat([Buffer.from(plain.wal), tail]);
            for (const { at, xor } of flips) bytes[at] = (bytes[at] ?? 0) ^ xor;
            const mutated = cut === null ? bytes : bytes.subarray(0, cut);
            const result = classify(mutated, index.kind === 'ok' ? index.maxFrame : undefined);
            const verdict = checkWalAgainstIndex(result, index);
            assert.ok(verdict === undefined || typeof verdict === 'string');
          },
        ),
        { seed: 1202, numRuns: 2_000 },
      );
    });

    it('cutting a log short anywhere (what a crash can do) is never damage once the header is whole', () => {
      const full = ok(inspectWal(bufferSource(plain.wal)));
      fc.assert(
        fc.property(fc.nat({ max: plain.wal.length }), (length) => {
          const result = classify(plain.wal.subarray(0, length));
          if (length === 0) assert.equal(result.kind, 'empty');
          else if (length < 32) assert.equal(result.kind, 'damaged');
          else assert.ok(ok(result).committedFrames <= full.committedFrames);
        }),
        { seed: 1203, numRuns: 500 },
      );
    });

    it('one byte changed in a frame that two commits follow is always damage', () => {
      const frames = framesOf(plain.wal);
      const commits = frames.flatMap((frame, i) => (frame.commitPages !== 0 ? [i + 1] : []));
      const lastDetectable = commits[commits.length - 2] ?? 0;
      fc.assert(
        fc.property(
          fc.integer({ min: 1, max: lastDetectable - 1 }),
          fc.nat({ max: FRAME - 1 }),
          fc.integer({ min: 1, max: 255 }),
          (frame, offset, xor) => {
            const bytes = Buffer.from(plain.wal);
            const at = 32 + (frame - 1) * FRAME + offset;
            bytes[at] = (bytes[at] ?? 0) ^ xor;
            assert.equal(classify(bytes).kind, 'damaged', `frame ${frame}, byte ${offset}`);
          },
        ),
        { seed: 1204, numRuns: 500 },
      );
    });
  });
});

function flip(bytes: Buffer, at: number): Buffer {
  const copy = Buffer.from(bytes);
  copy[at] = (copy[at] ?? 0) ^ 0xff;
  return copy;
}
