/**
 * Restart time of a half-finished download: from process start to "downloading again" for a job
 * with >= 1 GiB of partial data, with the stored bitfield vs a full re-check (issue 3).
 *
 * Preparation (once): a loopback swarm seeds a single-file torrent (deterministic content); the
 * real DownloadService + WebTorrentDownloader download it until 80 % is verified on disk, then
 * close cleanly, as the app does on quit (resume data saved, files synced). The seeder and the
 * tracker are then shut down, so nothing can change the data while it is measured.
 *
 * Each round spawns a fresh `node --import tsx bench/fixtures/resume-process.ts` per variant, on
 * its own copy of that database, and reads back the time from process start until the service
 * reports the job `downloading` again (see the fixture):
 *   - with stored bitfield: the database as the clean close left it;
 *   - full re-check: the same copy with the job's `job_resume` row deleted, so WebTorrent hashes
 *     every piece on disk before it is ready.
 * Variants alternate order each round.
 *
 * Before every run the page cache is dropped (`--cache all`, needs root: the "first start after a
 * reboot" case), or only the job's data is evicted from it (`--cache data`: a restart with the code
 * warm but not the data), or nothing is (`--cache none`). `auto` (default): `all` when possible,
 * else `data`. `--runtime compiled` (default) runs the fixture as JavaScript compiled by tsc, as
 * `npm start` runs the app; `--runtime tsx` runs it through tsx, which adds its own start-up cost.
 *
 *   npx tsx bench/resume-startup.ts [--size-mib 1280] [--rounds 3] [--cache auto|all|data|none]
 *                                   [--runtime compiled|tsx] [--piece-kib N] [--partial-pct 80] [--keep]
 *
 * Needs about 2.2 x size of free temp space at the peak; everything is removed at the end.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { accessSync, constants, rmSync, statfsSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { copyFile, mkdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { WebTorrentDownloader } from '../src/downloaders/webtorrent/webtorrent-downloader.js';
import { DownloadService } from '../src/service/download-service.js';
import { openDatabase } from '../src/storage/database.js';
import { JobsRepository } from '../src/storage/jobs-repository.js';
import { ResumeRepository } from '../src/storage/resume-repository.js';
import { createLoopbackSwarm } from '../tests/helpers/loopback-swarm.js';
import { tempDir, waitUntil } from '../tests/helpers/wait.js';

const { values } = parseArgs({
  options: {
    'size-mib': { type: 'string', default: '1280' },
    rounds: { type: 'string', default: '3' },
    cache: { type: 'string', default: 'auto' },
    'piece-kib': { type: 'string' },
    'partial-pct': { type: 'string', default: '80' },
    runtime: { type: 'string', default: 'compiled' },
    keep: { type: 'boolean', default: false },
  },
});
const sizeMiB = Number(values['size-mib']);
const rounds = Number(values.rounds);
const partialPct = Number(values['partial-pct']);
const pieceKiB = values['piece-kib'] === undefined ? undefined : Number(values['piece-kib']);
const cacheOption = values.cache;
if (
  !(Number.isInteger(sizeMiB) && sizeMiB >= 16 && sizeMiB <= 8192) ||
  !(Number.isInteger(rounds) && rounds >= 1 && rounds <= 20) ||
  !(partialPct >= 10 && partialPct <= 95) ||
  (pieceKiB !== undefined && !(Number.isInteger(pieceKiB) && pieceKiB >= 16 && pieceKiB <= 16384)) ||
  !['auto', 'all', 'data', 'none'].includes(cacheOption) ||
  !['tsx', 'compiled'].includes(values.runtime)
) {
  console.error(
    '--size-mib must be 16..8192, --rounds 1..20, --partial-pct 10..95, --piece-kib 16..16384, --cache auto|all|data|none, --runtime tsx|compiled',
  );
  process.exit(2);
}

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
const size = sizeMiB * MiB;
const JOB = 'film';
const FILE = 'film.mkv';
const PREP_TIMEOUT_MS = 15 * 60_000;
const CHILD_TIMEOUT_MS = 5 * 60_000;
const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const fixture = path.join(repoRoot, 'bench', 'fixtures', 'resume-process.ts');
const runtime = values.runtime as 'tsx' | 'compiled';
const log = (message: string): void => console.error(`[resume-startup] ${message}`);

// ---- cache control ------------------------------------------------------------------------

function canDropAllCaches(): boolean {
  try {
    accessSync('/proc/sys/vm/drop_caches', constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

const cacheMode =
  cacheOption === 'auto' ? (canDropAllCaches() ? 'all' : 'data') : (cacheOption as 'all' | 'data' | 'none');

/** Makes the next run read the job's data (and with `all`, everything else) from the disk. */
function coldCache(dataFile: string): void {
  if (cacheMode === 'none') return;
  execFileSync('sync');
  if (cacheMode === 'all') {
    writeFileSync('/proc/sys/vm/drop_caches', '3\n');
  } else {
    // POSIX_FADV_DONTNEED on the whole (clean, just synced) file.
    execFileSync('dd', [`if=${dataFile}`, 'iflag=nocache', 'count=0', 'status=none']);
  }
}

// ---- helpers ------------------------------------------------------------------------------

function countBits(bytes: Uint8Array): number {
  let count = 0;
  for (const byte of bytes) for (let b = byte; b !== 0; b >>= 1) count += b & 1;
  return count;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] ?? 0) : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2;
};

interface ChildReport {
  ok: boolean;
  error?: string;
  marks: Record<string, number>;
  piecesVerified: number;
  bytesDone: number;
  statusAfterOpen: string;
  warnings: string[];
}

let currentChild: ChildProcess | undefined;

/**
 * Compiles the fixture and what it imports from src/ with tsc into `dir`, and returns the entry
 * point. Type errors (e.g. from files others are editing) are printed but do not stop the emit.
 */
function compileFixture(dir: string): string {
  const tsconfig = path.join(dir, 'tsconfig.json');
  const outDir = path.join(dir, 'out');
  writeFileSync(
    tsconfig,
    JSON.stringify({
      extends: path.join(repoRoot, 'tsconfig.json'),
      compilerOptions: {
        outDir,
        rootDir: repoRoot,
        declaration: false,
        sourceMap: false,
        noEmitOnError: false,
        typeRoots: [path.join(repoRoot, 'node_modules', '@types')],
      },
      files: [fixture, path.join(repoRoot, 'types', 'webtorrent.d.ts')],
      include: [],
    }),
  );
  try {
    execFileSync(process.execPath, [path.join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', tsconfig], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  } catch (error) {
    log(`tsc reported errors (emitted anyway):\n${String((error as { stdout?: unknown }).stdout ?? error)}`);
  }
  // Bare imports from the compiled files resolve through this link to the repository's packages.
  symlinkSync(path.join(repoRoot, 'node_modules'), path.join(outDir, 'node_modules'), 'dir');
  const entry = path.join(outDir, 'bench', 'fixtures', 'resume-process.js');
  statSync(entry);
  return entry;
}

let compiledFixture: string | undefined;

/** Runs one fresh app process; resolves with its report and the parent-side spawn-to-report time. */
function runChild(dbFile: string, mediaRoot: string): Promise<{ report: ChildReport; parentMs: number }> {
  return new Promise((resolve, reject) => {
    const spawned = performance.now();
    const child = spawn(
      process.execPath,
      [
        ...(compiledFixture === undefined ? ['--import', 'tsx', fixture] : [compiledFixture]),
        '--db',
        dbFile,
        '--media',
        mediaRoot,
        '--job',
        JOB,
        '--timeout-ms',
        String(CHILD_TIMEOUT_MS),
      ],
      { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    currentChild = child;
    let stdout = '';
    let stderr = '';
    let report: ChildReport | undefined;
    let parentMs = 0;
    const killer = setTimeout(() => child.kill('SIGKILL'), CHILD_TIMEOUT_MS + 30_000);
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      const line = stdout
        .split('\n')
        .slice(0, -1) // complete lines only
        .find((l) => l.startsWith('{'));
      if (report === undefined && line !== undefined) {
        parentMs = performance.now() - spawned;
        report = JSON.parse(line) as ChildReport;
      }
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    child.on('error', (error) => {
      clearTimeout(killer);
      reject(error);
    });
    child.on('exit', (code, signal) => {
      clearTimeout(killer);
      currentChild = undefined;
      if (report?.ok === true && code === 0) resolve({ report, parentMs });
      else {
        const why = report?.error ?? `exit code ${code ?? signal}`;
        reject(new Error(`resume process failed (${why})\n${stderr.trim()}`));
      }
    });
  });
}

// ---- preparation ----------------------------------------------------------------------------

const free = (() => {
  const stats = statfsSync(tmpdir());
  return stats.bavail * stats.bsize;
})();
if (free < 2.3 * size) {
  console.error(
    `Not enough space in ${tmpdir()}: ${(free / GiB).toFixed(1)} GiB free, ~${((2.3 * size) / GiB).toFixed(1)} needed.`,
  );
  process.exit(1);
}

const work = await tempDir('chilly-bench-resume-');
const onSignal = (): void => {
  currentChild?.kill('SIGKILL');
  rmSync(work.dir, { recursive: true, force: true });
  process.exit(130);
};
process.once('SIGINT', onSignal);
process.once('SIGTERM', onSignal);

const appDir = path.join(work.dir, 'app');
const baseDb = path.join(appDir, 'chilly.db');
const mediaRoot = path.join(appDir, 'media');
const dataFile = path.join(mediaRoot, JOB, FILE);

try {
  log(`cache mode: ${cacheMode}; generating ${sizeMiB} MiB of content and its torrent...`);
  const swarm = await createLoopbackSwarm({
    name: FILE,
    files: [{ path: FILE, size }],
    workDir: path.join(work.dir, 'swarm'),
    // At most a fifth of the torrent per second: the service sees progress every 250 ms, and must
    // close before the download completes (unthrottled, small torrents finish within one tick).
    uploadLimit: Math.round(size / 5),
    ...(pieceKiB === undefined ? {} : { pieceLength: pieceKiB * 1024 }),
  });
  let pieceLength = 0;
  let verifiedPieces = 0;
  let totalPieces = 0;
  try {
    log(`downloading ${partialPct} % of it over loopback with DownloadService + WebTorrentDownloader...`);
    const prepStarted = performance.now();
    const service = await DownloadService.open({
      database: openDatabase(baseDb),
      downloader: new WebTorrentDownloader({ mediaRoot, network: 'loopback' }),
      seeding: { ratio: 0, minutes: 0 },
    });
    try {
      await service.add({ id: JOB, sourceType: 'torrent', sourceUrn: swarm.magnetURI });
      await waitUntil(
        () => {
          const job = service.get(JOB);
          if (job.status === 'error' || job.status === 'completed') throw new Error(`job is ${job.status}`);
          return job.progress.bytesDone >= (size * partialPct) / 100;
        },
        { timeoutMs: PREP_TIMEOUT_MS, intervalMs: 20, what: `${partialPct} % of the download` },
      );
    } finally {
      // What the app does on quit: resume data saved with the files synced.
      await service.close();
    }
    log(`partial download took ${((performance.now() - prepStarted) / 1000).toFixed(1)} s`);
  } finally {
    await swarm.close();
    await rm(path.join(work.dir, 'swarm'), { recursive: true, force: true });
  }

  {
    const db = openDatabase(baseDb);
    try {
      const stored = new JobsRepository(db).require(JOB);
      const resume = new ResumeRepository(db).get(JOB);
      if (resume === undefined) throw new Error('closing the service saved no resume data');
      if (!resume.synced) throw new Error('resume data was saved without a sync');
      if (stored.job.status !== 'downloading') throw new Error(`job is ${stored.job.status} after the clean close`);
      const { default: parseTorrent } = await import('parse-torrent');
      const parsed = await parseTorrent(resume.torrentFile);
      pieceLength = parsed.pieceLength ?? 0;
      totalPieces = Math.ceil(size / pieceLength);
      verifiedPieces = countBits(resume.bitfield);
      // Fold the WAL into the database file, so one file copy is the whole state.
      db.pragma('wal_checkpoint(TRUNCATE)');
    } finally {
      db.close();
    }
  }
  const partialBytes = verifiedPieces * pieceLength;
  const dataStat = statSync(dataFile);
  log(
    `job state: ${verifiedPieces}/${totalPieces} pieces of ${pieceLength / 1024} KiB verified ` +
      `(${(partialBytes / GiB).toFixed(2)} GiB), file ${(dataStat.size / GiB).toFixed(2)} GiB on disk`,
  );
  if (partialBytes < GiB) log('warning: less than 1 GiB of partial data; the issue asks for >= 1 GiB');

  // ---- measurement --------------------------------------------------------------------------

  if (runtime === 'compiled') {
    log('compiling the fixture and src/ with tsc...');
    const buildDir = path.join(work.dir, 'build');
    await mkdir(buildDir, { recursive: true });
    compiledFixture = compileFixture(buildDir);
  }

  const variants = {
    bitfield: { label: 'with stored bitfield', dropResume: false },
    full: { label: 'full re-check', dropResume: true },
  } as const;
  type Variant = keyof typeof variants;
  const results = new Map<Variant, { seconds: number[]; reports: ChildReport[]; parentMs: number[] }>([
    ['bitfield', { seconds: [], reports: [], parentMs: [] }],
    ['full', { seconds: [], reports: [], parentMs: [] }],
  ]);

  for (let round = 1; round <= rounds; round++) {
    const order: Variant[] = round % 2 === 1 ? ['bitfield', 'full'] : ['full', 'bitfield'];
    for (const variant of order) {
      const runDir = path.join(work.dir, `run-${round}-${variant}`);
      const dbFile = path.join(runDir, 'chilly.db');
      await rm(runDir, { recursive: true, force: true });
      await mkdir(runDir, { recursive: true });
      await copyFile(baseDb, dbFile);
      if (variants[variant].dropResume) {
        const db = openDatabase(dbFile);
        try {
          new ResumeRepository(db).delete(JOB);
        } finally {
          db.close();
        }
      }
      coldCache(dataFile);
      const { report, parentMs } = await runChild(dbFile, mediaRoot);
      const seconds = (report.marks.downloading ?? Number.NaN) / 1000;
      const fullCheckWarned = report.warnings.some((w) => w.includes('full re-check'));
      if (variant === 'bitfield' && fullCheckWarned) {
        throw new Error(`the stored bitfield was not used: ${report.warnings.join('; ')}`);
      }
      if (report.bytesDone < partialBytes) {
        throw new Error(`${variant}: continued from ${report.bytesDone} bytes, expected ${partialBytes}`);
      }
      const result = results.get(variant);
      result?.seconds.push(seconds);
      result?.reports.push(report);
      result?.parentMs.push(parentMs);
      log(
        `round ${round}: ${variants[variant].label}: ${seconds.toFixed(3)} s ` +
          `(engine ready ${((report.marks.engineReady ?? 0) / 1000).toFixed(3)} s, ${report.piecesVerified} pieces hashed)`,
      );
      await rm(runDir, { recursive: true, force: true });
      const now = statSync(dataFile);
      if (now.size !== dataStat.size || now.mtimeMs !== dataStat.mtimeMs) {
        log(`warning: the data file changed during ${variant} round ${round}; later rounds may differ`);
      }
    }
  }

  // ---- report -------------------------------------------------------------------------------

  const cacheNote = {
    all: 'page cache dropped before every run (sync; echo 3 > /proc/sys/vm/drop_caches)',
    data: "the job's data evicted from the page cache before every run (POSIX_FADV_DONTNEED); code and database warm",
    none: 'page cache left alone (warm)',
  }[cacheMode];
  console.log(
    `\nRestart of a half-finished download: ${sizeMiB} MiB single-file torrent, ${totalPieces} pieces of ` +
      `${pieceLength / 1024} KiB, ${(partialBytes / GiB).toFixed(2)} GiB verified on disk ` +
      `(${verifiedPieces} pieces). Node ${process.versions.node} ${runtime === 'tsx' ? '+ tsx' : '(tsc-compiled JS)'}, ${rounds} interleaved rounds; ${cacheNote}.\n` +
      'Time from process start until the service reports the job `downloading` again.\n',
  );
  console.log('| variant | median s | min–max s | rounds |');
  console.log('|---|---|---|---|');
  for (const [variant, { seconds }] of results) {
    console.log(
      `| ${variants[variant].label} | ${median(seconds).toFixed(3)} | ` +
        `${Math.min(...seconds).toFixed(3)}–${Math.max(...seconds).toFixed(3)} | ${seconds.length} |`,
    );
  }
  const withBitfield = median(results.get('bitfield')?.seconds ?? []);
  console.log(
    `\nGoal: ≤ 1 s with the bitfield — ${withBitfield <= 1 ? 'met' : 'NOT met'} (median ${withBitfield.toFixed(3)} s).`,
  );

  const engineReady = median((results.get('bitfield')?.reports ?? []).map((r) => r.marks.engineReady ?? Number.NaN));
  console.log(
    `WebTorrent itself is ready (data checked) at ${(engineReady / 1000).toFixed(3)} s with the bitfield; the driver ` +
      "reports it to the service at once (a progress event on WebTorrent's 'ready').",
  );

  const steps: Array<[string, string]> = [
    ['fixtureStart', `node${runtime === 'tsx' ? ' + tsx' : ''} booted, fixture runs`],
    ['importedWebTorrent', 'webtorrent imported'],
    ['importedService', 'service, storage, driver imported'],
    ['databaseOpen', 'database open (migrations checked)'],
    ['engineAdd', 'torrent handed to WebTorrent'],
    ['driverStarted', "driver 'started'"],
    ['serviceOpen', 'DownloadService.open resolved'],
    ['engineMetadata', "WebTorrent 'metadata' (check begins)"],
    ['engineReady', "WebTorrent 'ready' (check done)"],
    ['downloading', 'service reports `downloading`'],
  ];
  console.log('\nWhere the time goes: median ms since process start at each step\n');
  console.log('| step | with stored bitfield | full re-check |');
  console.log('|---|---|---|');
  const at = (variant: Variant, key: string): string => {
    const xs = (results.get(variant)?.reports ?? []).map((r) => r.marks[key]).filter((x) => x !== undefined);
    return xs.length === 0 ? '–' : median(xs).toFixed(0);
  };
  for (const [key, label] of steps) console.log(`| ${label} | ${at('bitfield', key)} | ${at('full', key)} |`);
  const piecesHashed = (variant: Variant): string =>
    median((results.get(variant)?.reports ?? []).map((r) => r.piecesVerified)).toFixed(0);
  const parentClock = (variant: Variant): string => median(results.get(variant)?.parentMs ?? []).toFixed(0);
  console.log(`| pieces hashed and found good | ${piecesHashed('bitfield')} | ${piecesHashed('full')} |`);
  console.log(`| (parent clock) spawn → report received | ${parentClock('bitfield')} | ${parentClock('full')} |`);
} finally {
  currentChild?.kill('SIGKILL');
  if (values.keep) log(`kept ${work.dir} (database: ${baseDb}, media: ${mediaRoot})`);
  else await work.cleanup();
}
