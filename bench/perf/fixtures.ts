/**
 * Benchmark content: deterministic bytes (AES-CTR keystream, as in tests/helpers/loopback-swarm)
 * and their torrent. The info dictionary is kept, so a later run with another tracker port
 * rewrites only the announce URL: same info hash, no re-hashing.
 *
 * Layout under <dir>: `perf/<torrent paths>` (what a seeder serves; `perf` is also the job id
 * our seeder uses) and `manifest.json`.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import createTorrent from 'create-torrent';
import parseTorrent from 'parse-torrent';
import { writeDeterministicFile } from '../../tests/helpers/loopback-swarm.js';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

export interface CaseSpec {
  id: string;
  label: string;
  /** Torrent name (single-file torrents: the file's name). */
  name: string;
  /** Paths inside the torrent's folder; a single entry equal to `name` makes a single-file torrent. */
  files: { path: string; size: number }[];
}

export const CASES: Record<string, CaseSpec> = {
  '1g': { id: '1g', label: '1 GiB, single file', name: 'perf-1g.mkv', files: [{ path: 'perf-1g.mkv', size: GiB }] },
  '4x256m': {
    id: '4x256m',
    label: '4 × 256 MiB, multi-file',
    name: 'perf-4x256m',
    files: [1, 2, 3, 4].map((n) => ({ path: `part-${n}.mkv`, size: 256 * MiB })),
  },
  /** A quick check of the harness itself (--size smoke). */
  '64m': {
    id: '64m',
    label: '64 MiB, single file',
    name: 'perf-64m.mkv',
    files: [{ path: 'perf-64m.mkv', size: 64 * MiB }],
  },
  '4g': { id: '4g', label: '4 GiB, single file', name: 'perf-4g.mkv', files: [{ path: 'perf-4g.mkv', size: 4 * GiB }] },
};

export interface FixtureFile {
  /** Path relative to a client's save folder ('/'-separated). */
  path: string;
  length: number;
  sha256: string;
}

export interface Fixture {
  spec: CaseSpec;
  dir: string;
  /** Folder a seeder serves from: files are at `<seedDir>/<file.path>`. */
  seedDir: string;
  files: FixtureFile[];
  totalBytes: number;
  pieceLength: number;
  infoHash: string;
  info: Buffer;
}

interface Manifest {
  version: 1;
  spec: CaseSpec;
  pieceLength: number;
  infoHash: string;
  files: FixtureFile[];
  info: string;
}

function isSingle(spec: CaseSpec): boolean {
  return spec.files.length === 1 && spec.files[0]?.path === spec.name;
}

/** Creates the content and its info dictionary, or reuses them when the manifest matches. */
export async function prepareFixture(
  spec: CaseSpec,
  dir: string,
  pieceLength: number | undefined,
  log: (line: string) => void,
): Promise<Fixture> {
  const seedDir = path.join(dir, 'perf');
  const manifestPath = path.join(dir, 'manifest.json');
  const reused = await readManifest(manifestPath);
  if (
    reused !== undefined &&
    JSON.stringify(reused.spec) === JSON.stringify(spec) &&
    (pieceLength === undefined || reused.pieceLength === pieceLength) &&
    (await filesHaveSizes(seedDir, reused.files))
  ) {
    log(`fixture ${spec.id}: reusing ${dir}`);
    return fixtureOf(spec, dir, reused);
  }
  await rm(dir, { recursive: true, force: true });
  await mkdir(seedDir, { recursive: true });
  const started = performance.now();
  const files: FixtureFile[] = [];
  for (const file of spec.files) {
    const relative = isSingle(spec) ? file.path : `${spec.name}/${file.path}`;
    const sha256 = await writeDeterministicFile(
      path.join(seedDir, relative),
      file.size,
      `perf/${spec.id}/${file.path}`,
    );
    files.push({ path: relative, length: file.size, sha256 });
  }
  log(`fixture ${spec.id}: wrote ${files.length} file(s) in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  const torrent = await new Promise<Uint8Array>((resolve, reject) => {
    createTorrent(
      path.join(seedDir, spec.name),
      {
        name: spec.name,
        announceList: [['http://127.0.0.1:9/announce']],
        creationDate: 1_700_000_000,
        createdBy: 'chilly bench/perf',
        ...(pieceLength === undefined ? {} : { pieceLength }),
      },
      (error, bytes) => (error ? reject(error) : resolve(bytes)),
    );
  });
  const parsed = await parseTorrent(torrent);
  if (parsed.infoBuffer === undefined || parsed.pieceLength === undefined) throw new Error('torrent without info');
  const manifest: Manifest = {
    version: 1,
    spec,
    pieceLength: parsed.pieceLength,
    infoHash: parsed.infoHash,
    files,
    info: Buffer.from(parsed.infoBuffer).toString('base64'),
  };
  await writeFile(manifestPath, `${JSON.stringify(manifest, null, 2)}\n`);
  log(`fixture ${spec.id}: torrent ${parsed.infoHash}, ${parsed.pieceLength / 1024} KiB pieces`);
  return fixtureOf(spec, dir, manifest);
}

function fixtureOf(spec: CaseSpec, dir: string, manifest: Manifest): Fixture {
  return {
    spec,
    dir,
    seedDir: path.join(dir, 'perf'),
    files: manifest.files,
    totalBytes: manifest.files.reduce((sum, file) => sum + file.length, 0),
    pieceLength: manifest.pieceLength,
    infoHash: manifest.infoHash,
    info: Buffer.from(manifest.info, 'base64'),
  };
}

async function readManifest(file: string): Promise<Manifest | undefined> {
  try {
    const manifest = JSON.parse(await readFile(file, 'utf8')) as Manifest;
    return manifest.version === 1 ? manifest : undefined;
  } catch {
    return undefined;
  }
}

async function filesHaveSizes(root: string, files: FixtureFile[]): Promise<boolean> {
  for (const file of files) {
    const size = await stat(path.join(root, file.path)).then(
      (s) => s.size,
      () => -1,
    );
    if (size !== file.length) return false;
  }
  return true;
}

/** A .torrent announcing to `announceUrl` (a 127.0.0.1 URL) around the fixture's info dictionary. */
export function torrentFileFor(fixture: Fixture, announceUrl: string): Buffer {
  if (!/^http:\/\/127\.0\.0\.1:\d+\/announce$/.test(announceUrl)) {
    throw new Error(`refusing a non-loopback tracker ${announceUrl}`);
  }
  const url = Buffer.from(announceUrl, 'latin1');
  return Buffer.concat([
    Buffer.from(`d8:announce${url.length}:`, 'latin1'),
    url,
    Buffer.from('4:info', 'latin1'),
    fixture.info,
    Buffer.from('e', 'latin1'),
  ]);
}

/** Checks a client's download byte for byte; returns a reason, or undefined when all match. */
export async function verifyDownload(root: string, files: FixtureFile[]): Promise<string | undefined> {
  for (const file of files) {
    const target = path.join(root, file.path);
    const hash = createHash('sha256');
    let length = 0;
    try {
      for await (const chunk of createReadStream(target, { highWaterMark: 4 * MiB })) {
        hash.update(chunk as Buffer);
        length += (chunk as Buffer).length;
      }
    } catch (error) {
      return `${file.path}: ${(error as Error).message}`;
    }
    if (length !== file.length) return `${file.path}: ${length} bytes, expected ${file.length}`;
    if (hash.digest('hex') !== file.sha256) return `${file.path}: content differs`;
  }
  return undefined;
}
