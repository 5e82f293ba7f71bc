/**
 * Reads SQLite's write-ahead log (`<db>-wal`) and its index (`<db>-shm`) the way SQLite's own
 * recovery does (https://www.sqlite.org/fileformat2.html#walformat; wal.c: walIndexRecover,
 * walDecodeFrame, walIndexTryHdr), without SQLite, so the files can be judged before SQLite opens
 * them: SQLite silently ignores a WAL with a bad header and stops at the first bad frame, which
 * turns a damaged log into a database with its latest changes missing. Pure: never throws on bad
 * bytes, only classifies them.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { endianness } from 'node:os';

export const WAL_HEADER_BYTES = 32;
export const WAL_FRAME_HEADER_BYTES = 24;
const WAL_MAGIC = 0x377f0682;
/** The only WAL format version there is (WAL_MAX_VERSION in wal.c). */
export const WAL_FORMAT_VERSION = 3_007_000;
/** Two copies of the 48-byte index header, then the 40-byte checkpoint info. */
const SHM_HEADER_BYTES = 136;
const SHM_INDEX_HEADER_BYTES = 48;

/** Random access to the bytes of a file (or of a buffer, in tests). */
export interface ByteSource {
  readonly size: number;
  /** Fills `target` from `position`; returns how many bytes were read. */
  read(target: Buffer, position: number): number;
}

export function bufferSource(bytes: Uint8Array): ByteSource {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return {
    size: buffer.length,
    read: (target, position) => buffer.copy(target, 0, position, Math.min(buffer.length, position + target.length)),
  };
}

/** Runs `use` on the file, or returns undefined when it does not exist. */
export function withFileSource<T>(file: string, use: (source: ByteSource) => T): T | undefined {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  try {
    const size = fstatSync(fd).size;
    return use({ size, read: (target, position) => readSync(fd, target, 0, target.length, position) });
  } finally {
    closeSync(fd);
  }
}

export type Checksum = readonly [number, number];

/**
 * SQLite's WAL checksum (walChecksumBytes): two running 32-bit sums over 32-bit words, big- or
 * little-endian words as the WAL header's magic says. `bytes.length` must be a multiple of 8.
 */
export function walChecksum(bytes: Uint8Array, bigEndian: boolean, start: Checksum = [0, 0]): [number, number] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let s1 = start[0];
  let s2 = start[1];
  const littleEndian = !bigEndian;
  for (let i = 0; i + 8 <= bytes.length; i += 8) {
    s1 = (s1 + view.getUint32(i, littleEndian) + s2) >>> 0;
    s2 = (s2 + view.getUint32(i + 4, littleEndian) + s1) >>> 0;
  }
  return [s1, s2];
}

export interface WalHeader {
  pageSize: number;
  /** Checksums use big-endian words (magic 0x377f0683). */
  bigEndian: boolean;
  checkpointSequence: number;
  /** The two salts, as the 8 raw bytes every frame of this generation repeats. */
  salts: Buffer;
  checksum: Checksum;
}

/** What a commit frame says, remembered for comparison with the index. */
export interface WalCommit {
  frame: number;
  /** The database size in pages after this commit. */
  databasePages: number;
  checksum: Checksum;
}

export type WalInspection =
  | { kind: 'empty' }
  | { kind: 'damaged'; problem: string }
  | {
      kind: 'ok';
      header: WalHeader;
      /** Whole frames in the file (valid or not). */
      frames: number;
      /** Frames SQLite will use: up to and including the last valid commit frame. */
      committedFrames: number;
      lastCommit: WalCommit | undefined;
      /** The commit at `remember`, when it is one SQLite will use. */
      remembered: WalCommit | undefined;
      /**
       * Why the valid frames end before the file does: `old-frames` (salts of an earlier
       * generation: normal leftovers), `torn` (current salts, bad checksum: a write the crash cut
       * short, or frames of a rolled-back transaction), `partial-frame` (the file ends mid-frame),
       * or undefined when every frame is valid.
       */
      tail: 'old-frames' | 'torn' | 'partial-frame' | undefined;
    };

function isPageSize(size: number): boolean {
  return size >= 512 && size <= 65_536 && (size & (size - 1)) === 0;
}

/**
 * Reads the WAL header and every frame, as SQLite's recovery would, and says whether the log is
 * damaged rather than merely cut short by a crash:
 * - a non-empty file too short for its header, a wrong magic, version or page size, or a header
 *   checksum that does not match (SQLite would ignore the whole log);
 * - a commit frame with the current salts that chains onto the frame before it, after a frame
 *   that is not valid: committed transactions follow the break, so the break is damage in the
 *   middle of the log (a crash only ever cuts its end), and SQLite would drop them all.
 * Frames with older salts after the last valid one are leftovers of an earlier generation; a
 * last frame with the current salts and a bad checksum is a write the crash interrupted; neither
 * is damage. `remember` asks for the checksum after that frame (see `checkWalAgainstIndex`).
 */
export function inspectWal(source: ByteSource, options: { remember?: number } = {}): WalInspection {
  if (source.size === 0) return { kind: 'empty' };
  if (source.size < WAL_HEADER_BYTES) {
    return { kind: 'damaged', problem: `it is ${source.size} bytes long, shorter than its 32-byte header` };
  }
  const head = Buffer.alloc(WAL_HEADER_BYTES);
  if (source.read(head, 0) < WAL_HEADER_BYTES) return { kind: 'damaged', problem: 'its header could not be read' };
  const magic = head.readUInt32BE(0);
  if ((magic & 0xfffffffe) >>> 0 !== WAL_MAGIC) {
    return { kind: 'damaged', problem: `its header does not start with the WAL magic number (0x${hex(magic)})` };
  }
  const bigEndian = (magic & 1) === 1;
  const version = head.readUInt32BE(4);
  if (version !== WAL_FORMAT_VERSION) {
    return { kind: 'damaged', problem: `its header has an unknown format version (${version})` };
  }
  const pageSize = head.readUInt32BE(8);
  if (!isPageSize(pageSize))
    return { kind: 'damaged', problem: `its header has an impossible page size (${pageSize})` };
  const headerChecksum = walChecksum(head.subarray(0, 24), bigEndian);
  if (headerChecksum[0] !== head.readUInt32BE(24) || headerChecksum[1] !== head.readUInt32BE(28)) {
    return { kind: 'damaged', problem: 'its header checksum does not match (SQLite would ignore the whole log)' };
  }
  const header: WalHeader = {
    pageSize,
    bigEndian,
    checkpointSequence: head.readUInt32BE(12),
    salts: Buffer.from(head.subarray(16, 24)),
    checksum: headerChecksum,
  };

  const frameBytes = WAL_FRAME_HEADER_BYTES + pageSize;
  const frames = Math.floor((source.size - WAL_HEADER_BYTES) / frameBytes);
  const partial = (source.size - WAL_HEADER_BYTES) % frameBytes !== 0;
  const frame = Buffer.alloc(frameBytes);
  let chain: Checksum = headerChecksum;
  let committedFrames = 0;
  let lastCommit: WalCommit | undefined;
  let remembered: WalCommit | undefined;
  /** The first frame that is not valid, and why. */
  let firstInvalid: { frame: number; reason: 'old-frames' | 'torn' } | undefined;
  /** The checksum the previous frame's header holds (past the break, the chain is taken from there). */
  let previousStored: Checksum = headerChecksum;

  for (let n = 1; n <= frames; n++) {
    const offset = WAL_HEADER_BYTES + (n - 1) * frameBytes;
    if (source.read(frame, offset) < frameBytes) {
      return { kind: 'damaged', problem: `frame ${n} could not be read` };
    }
    const page = frame.readUInt32BE(0);
    const databasePages = frame.readUInt32BE(4);
    const stored: Checksum = [frame.readUInt32BE(16), frame.readUInt32BE(20)];
    const currentSalts = frame.compare(header.salts, 0, 8, 8, 16) === 0;
    const chainsFrom = (start: Checksum): Checksum | undefined => {
      const after = walChecksum(
        frame.subarray(WAL_FRAME_HEADER_BYTES),
        bigEndian,
        walChecksum(frame.subarray(0, 8), bigEndian, start),
      );
      return after[0] === stored[0] && after[1] === stored[1] ? after : undefined;
    };
    if (firstInvalid === undefined) {
      const after = currentSalts && page !== 0 ? chainsFrom(chain) : undefined;
      if (after !== undefined) {
        chain = after;
        if (databasePages !== 0) {
          committedFrames = n;
          lastCommit = { frame: n, databasePages, checksum: after };
          if (n === options.remember) remembered = lastCommit;
        }
      } else {
        firstInvalid = { frame: n, reason: currentSalts ? 'torn' : 'old-frames' };
      }
    } else if (currentSalts && page !== 0 && databasePages !== 0 && chainsFrom(previousStored) !== undefined) {
      return {
        kind: 'damaged',
        problem:
          `frame ${firstInvalid.frame} is broken but committed frames follow it (frame ${n} commits a transaction): ` +
          `the log was damaged in the middle, and SQLite would drop every transaction after frame ${committedFrames}`,
      };
    }
    previousStored = stored;
  }
  const tail = firstInvalid?.reason ?? (partial ? 'partial-frame' : undefined);
  return { kind: 'ok', header, frames, committedFrames, lastCommit, remembered, tail };
}

export function inspectWalFile(file: string, options: { remember?: number } = {}): WalInspection | undefined {
  return withFileSource(file, (source) => inspectWal(source, options));
}

/** The wal-index header in `<db>-shm`, as the last process that had the database open left it. */
export type WalIndexInspection =
  | { kind: 'unusable'; reason: string }
  | {
      kind: 'ok';
      /** The last committed frame the index knew of (0: the log is logically empty). */
      maxFrame: number;
      databasePages: number;
      frameChecksum: Checksum;
      /** The WAL header's salts when the index was written (raw bytes, as in the WAL). */
      salts: Buffer;
      pageSize: number;
    };

/**
 * Reads the wal-index header the way walIndexTryHdr does: two identical copies, initialised, with
 * a matching checksum. The index is in the machine's byte order. Anything else is `unusable`
 * (SQLite rebuilds it from the WAL; so do we, by not relying on it).
 */
export function inspectWalIndex(source: ByteSource): WalIndexInspection {
  if (source.size < SHM_HEADER_BYTES) return { kind: 'unusable', reason: `only ${source.size} bytes` };
  const head = Buffer.alloc(SHM_HEADER_BYTES);
  if (source.read(head, 0) < SHM_HEADER_BYTES) return { kind: 'unusable', reason: 'unreadable' };
  const first = head.subarray(0, SHM_INDEX_HEADER_BYTES);
  if (!first.equals(head.subarray(SHM_INDEX_HEADER_BYTES, 2 * SHM_INDEX_HEADER_BYTES))) {
    return { kind: 'unusable', reason: 'its two header copies differ' };
  }
  const le = endianness() === 'LE';
  const u32 = (offset: number) => (le ? first.readUInt32LE(offset) : first.readUInt32BE(offset));
  if (u32(0) !== WAL_FORMAT_VERSION) return { kind: 'unusable', reason: 'unknown version' };
  if (first[12] !== 1) return { kind: 'unusable', reason: 'not initialised' };
  const checksum = walChecksum(first.subarray(0, 40), !le);
  if (checksum[0] !== u32(40) || checksum[1] !== u32(44)) return { kind: 'unusable', reason: 'checksum mismatch' };
  const rawPageSize = le ? first.readUInt16LE(14) : first.readUInt16BE(14);
  return {
    kind: 'ok',
    maxFrame: u32(16),
    databasePages: u32(20),
    frameChecksum: [u32(24), u32(28)],
    salts: Buffer.from(first.subarray(32, 40)),
    pageSize: (rawPageSize & 0xfe00) + ((rawPageSize & 1) << 16),
  };
}

export function inspectWalIndexFile(file: string): WalIndexInspection | undefined {
  return withFileSource(file, inspectWalIndex);
}

/**
 * Compares the log with the index the crashed process left beside it: the index records the last
 * commit it saw (frame number, checksum, salts). A log that no longer reaches that commit was cut
 * short or damaged; one with other salts or another checksum there is not the log the index was
 * built from (another database's, or an older copy). Returns the problem, or undefined.
 * A log one commit ahead of its index is normal: the crash came between the two writes.
 */
export function checkWalAgainstIndex(
  wal: WalInspection | undefined,
  index: WalIndexInspection | undefined,
): string | undefined {
  if (index?.kind !== 'ok' || index.maxFrame === 0) return undefined;
  const expected = `its index (-shm) says the last run committed ${index.maxFrame} frames`;
  if (wal === undefined) return `it is missing, but ${expected}`;
  if (wal.kind === 'empty') return `it is empty, but ${expected}`;
  if (wal.kind === 'damaged') return undefined; // Reported as such.
  if (!wal.header.salts.equals(index.salts)) {
    return `it is not the log its index (-shm) was built from (other salts): it belongs to another database or another run`;
  }
  if (wal.header.pageSize !== index.pageSize) return `its page size is not the one its index (-shm) records`;
  if (wal.committedFrames < index.maxFrame) {
    return `it holds ${wal.committedFrames} committed frames, but ${expected}: it was cut short or damaged`;
  }
  const at = wal.remembered;
  if (at === undefined || at.checksum[0] !== index.frameChecksum[0] || at.checksum[1] !== index.frameChecksum[1]) {
    return `frame ${index.maxFrame} is not the commit its index (-shm) records: the log was changed after the crash`;
  }
  return undefined;
}

function hex(value: number): string {
  return value.toString(16).padStart(8, '0');
}
