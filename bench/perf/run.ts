/**
 * Side-by-side BitTorrent benchmark over loopback: our downloader next to native clients, each
 * in its own process, interleaved rounds, medians. See bench/perf/README.md.
 *
 *   npm run bench:perf -- [--size 1g|4g|both] [--shape single|multi|both] [--rounds 3]
 *                         [--leechers ours,chilly,wt,lib,qbt,aria2,tr] [--direction download|upload|both]
 *
 * Network safety: as root, the whole run happens in a fresh network namespace holding only `lo`
 * (unshare -n); every client binds 127.0.0.1, TCP only, DHT/LSD/UPnP/NAT-PMP (and PEX) off; the
 * tracker hands out 127.0.0.1 peers only. Every wait is bounded; every child is killed at the end,
 * on failure and on Ctrl-C.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statfsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import {
  CHILLY_MAIN,
  DEFAULT_BUNDLE_DIR,
  LEECHERS,
  type LeecherSpec,
  type OurVariant,
  ourLeecher,
  REPO_ROOT,
  type SeederHandle,
  startLibtorrentSeeder,
  startOurSeeder,
  withTimeout,
} from './clients.js';
import { summariseProfile } from './cpuprofile-summary.js';
import { CASES, type CaseSpec, type Fixture, prepareFixture, torrentFileFor, verifyDownload } from './fixtures.js';
import { enterNamespace } from './netns.js';
import { readPerfSamples, summarisePerf } from './perf-summary.js';
import { TreeSampler } from './proc.js';
import { killAllNow, Managed, stopAll } from './spawn.js';
import { startBenchTracker } from './tracker.js';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
const NATIVE = ['lib', 'qbt', 'aria2', 'tr'];
/** Leechers the goals apply to: ours, chilly and every ours:<variant>. */
const isOurs = (id: string): boolean => id === 'ours' || id === 'chilly' || id.startsWith('ours:');
const OUR_PROCESSES = /^(ours|wt|chilly)(:|$)/;

const { values: opts } = parseArgs({
  options: {
    size: { type: 'string', default: '1g' },
    shape: { type: 'string', default: 'both' },
    rounds: { type: 'string', default: '3' },
    leechers: { type: 'string', default: 'ours,chilly,wt,lib,qbt,aria2,tr' },
    direction: { type: 'string', default: 'download' },
    'upload-leechers': { type: 'string', default: 'lib,aria2' },
    'upload-seeders': { type: 'string', default: 'lib,ours' },
    'work-dir': { type: 'string' },
    'piece-kib': { type: 'string' },
    'timeout-s': { type: 'string' },
    profile: { type: 'boolean', default: false },
    perf: { type: 'boolean', default: false },
    'profile-dir': { type: 'string', default: path.join(os.tmpdir(), 'chilly-perf-profiles') },
    'torrent-opts': { type: 'string' },
    'seeder-torrent-opts': { type: 'string' },
    'client-opts': { type: 'string' },
    'node-args': { type: 'string' },
    'node-env': { type: 'string' },
    variant: { type: 'string', multiple: true },
    'bundle-dir': { type: 'string', default: DEFAULT_BUNDLE_DIR },
    json: { type: 'string' },
    'logs-dir': { type: 'string' },
    'no-netns': { type: 'boolean', default: false },
    order: { type: 'string', default: 'rotate' },
    help: { type: 'boolean', default: false },
  },
});

const USAGE = `npm run bench:perf -- [options]
  --size 1g|4g|both|smoke    1g: 1 GiB single file + 4 × 256 MiB multi-file; 4g: 4 GiB single file;
                             smoke: 64 MiB, to check the harness (default 1g)
  --shape single|multi|both  which 1 GiB torrents (default both)
  --rounds N                 interleaved rounds (default 3)
  --leechers LIST            ours,chilly,wt,lib,qbt,aria2,tr (default all)
  --direction download|upload|both   (default download)
  --upload-leechers LIST     leechers of the upload direction (default lib,aria2)
  --upload-seeders LIST      lib,ours,wt (default lib,ours)
  --work-dir DIR             keep fixtures there and reuse them next time (default: temp, removed)
  --piece-kib N              piece size (default: create-torrent's choice)
  --timeout-s N              per download (default 60 + size at 8 MiB/s)
  --profile                  node --cpu-prof for our processes; prints the top functions
  --perf                     \`perf record -g\` every leecher (all threads + kernel) up to completion;
                             prints where its CPU went (needs perf; files in --profile-dir)
  --torrent-opts JSON        extra WebTorrent add() options for ours/wt (e.g. '{"storeCacheSlots":0}')
  --client-opts JSON         extra WebTorrent client options for wt
  --seeder-torrent-opts JSON extra WebTorrent add() options for our seeder (upload direction)
  --node-args "ARGS"         extra node flags for ours/wt/chilly and our seeder (e.g. "--max-semi-space-size=4")
  --node-env K=V,K=V         extra environment for ours/wt/chilly and our seeder (e.g. MALLOC_ARENA_MAX=2)
  --variant 'NAME:KEY=VALUE;…'  one more leecher "ours:NAME" (or "wt:NAME" with engine=plain), interleaved
                             with the others; keys: engine=downloader|plain, node-args, node-env (K=V,K=V),
                             torrent-opts (JSON), client-opts (JSON), bundle-dir (see make-overlay.sh); repeatable
  --bundle-dir DIR           where webtorrent-peer.ts is bundled (a node_modules overlay for patched engines)
  --json FILE                also write every run's figures as JSON
  --logs-dir DIR             keep every leecher's console output there
  --order rotate|fixed       rotate: round r starts with the r-th leecher (A B C, B C A, C A B…), so no
                             client always runs right after the slowest one or first (default rotate);
                             fixed: A B C, A B C…
  --no-netns                 do not enter a network namespace (as root it is used by default)`;

if (opts.help) {
  console.log(USAGE);
  process.exit(0);
}

function fail(message: string): never {
  console.error(`bench:perf: ${message}\n\n${USAGE}`);
  process.exit(2);
}

function list(value: string, allowed: readonly string[], what: string): string[] {
  const items = value
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
  const unknown = items.filter((item) => !allowed.includes(item));
  if (unknown.length > 0) fail(`unknown ${what}: ${unknown.join(', ')}`);
  return [...new Set(items)];
}

const rounds = Number(opts.rounds);
if (!Number.isInteger(rounds) || rounds < 1 || rounds > 20) fail('--rounds must be 1..20');
const caseIds = (() => {
  const shapes = opts.shape === 'both' ? ['single', 'multi'] : [opts.shape];
  if (!shapes.every((shape) => shape === 'single' || shape === 'multi')) fail('--shape single|multi|both');
  const oneGiB = [...(shapes.includes('single') ? ['1g'] : []), ...(shapes.includes('multi') ? ['4x256m'] : [])];
  if (opts.size === '1g') return oneGiB;
  if (opts.size === '4g') return ['4g'];
  if (opts.size === 'both') return [...oneGiB, '4g'];
  if (opts.size === 'smoke') return ['64m'];
  return fail('--size 1g|4g|both|smoke');
})();
if (opts.order !== 'rotate' && opts.order !== 'fixed') fail('--order rotate|fixed');
/** The leechers of one round, in the order --order asks for. */
function inRoundOrder<T>(items: readonly T[], round: number): T[] {
  if (opts.order === 'fixed' || items.length === 0) return [...items];
  const shift = (round - 1) % items.length;
  return [...items.slice(shift), ...items.slice(0, shift)];
}
const direction = opts.direction;
if (!['download', 'upload', 'both'].includes(direction)) fail('--direction download|upload|both');
const leecherIds = list(opts.leechers, Object.keys(LEECHERS), 'leecher');
const variantBundles = new Map<string, string>(); // bundle dir → bundle file
for (const text of opts.variant ?? []) {
  const match = /^([A-Za-z0-9_-]+):(.*)$/s.exec(text);
  if (match === null) fail(`--variant ${text}: expected NAME:KEY=VALUE;…`);
  const [, name = '', body = ''] = match;
  const variant: OurVariant = {};
  let engine: 'downloader' | 'plain' = 'downloader';
  for (const part of body.split(';').filter((p) => p.trim() !== '')) {
    const eq = part.indexOf('=');
    const key = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    if (eq < 0) fail(`--variant ${name}: ${part} is not KEY=VALUE`);
    if (key === 'engine' && (value === 'downloader' || value === 'plain')) engine = value;
    else if (key === 'node-args') variant.nodeArgs = value.split(' ').filter((arg) => arg !== '');
    else if (key === 'node-env') variant.nodeEnv = parseEnv(value);
    else if (key === 'torrent-opts') variant.torrentOpts = checkedJson(value, `--variant ${name} torrent-opts`);
    else if (key === 'client-opts') variant.clientOpts = checkedJson(value, `--variant ${name} client-opts`);
    else if (key === 'bundle-dir') {
      const bundle = path.join(path.resolve(value), 'webtorrent-peer.mjs');
      variantBundles.set(path.resolve(value), bundle);
      variant.peerBundle = bundle;
    } else fail(`--variant ${name}: unknown key ${key}`);
  }
  const id = `${engine === 'plain' ? 'wt' : 'ours'}:${name}`;
  LEECHERS[id] = ourLeecher(
    id,
    `${engine === 'plain' ? 'plain WebTorrent' : 'ours'}, variant ${name}`,
    engine,
    variant,
  );
  leecherIds.push(id);
}

function parseEnv(value: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const pair of value.split(',').filter((p) => p !== '')) {
    const [key, ...rest] = pair.split('=');
    if (key === undefined || key === '' || rest.length === 0) fail(`environment: ${pair} is not K=V`);
    env[key] = rest.join('=');
  }
  return env;
}

function checkedJson(value: string, what: string): string {
  try {
    JSON.parse(value);
  } catch {
    fail(`${what} must be JSON`);
  }
  return value;
}
const uploadLeecherIds = list(opts['upload-leechers'], ['lib', 'aria2', 'qbt', 'ours', 'wt'], 'upload leecher');
const uploadSeederIds = list(opts['upload-seeders'], ['lib', 'ours', 'wt'], 'upload seeder');
const pieceLength = opts['piece-kib'] === undefined ? undefined : Number(opts['piece-kib']) * 1024;
if (pieceLength !== undefined && !(pieceLength >= 16_384 && pieceLength <= 64 * MiB)) fail('--piece-kib 16..65536');
const timeoutSeconds = opts['timeout-s'] === undefined ? undefined : Number(opts['timeout-s']);
if (timeoutSeconds !== undefined && !(timeoutSeconds >= 10 && timeoutSeconds <= 7200)) fail('--timeout-s 10..7200');
for (const [flag, value] of [
  ['--torrent-opts', opts['torrent-opts']],
  ['--seeder-torrent-opts', opts['seeder-torrent-opts']],
  ['--client-opts', opts['client-opts']],
] as const) {
  if (value !== undefined) {
    try {
      JSON.parse(value);
    } catch {
      fail(`${flag} must be JSON`);
    }
  }
}

// ------------------------------------------------------------------- network namespace

const netns = await enterNamespace('bench:perf', opts['no-netns'] ?? false);

// --------------------------------------------------------------------------- cleanup

const cleanups: (() => Promise<void>)[] = [];
let interrupted = false;
async function cleanup(): Promise<void> {
  await stopAll();
  for (const step of cleanups.splice(0).reverse()) await step().catch(() => undefined);
}
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (interrupted) return;
    interrupted = true;
    console.error(`\nbench:perf: ${signal}: stopping every client and removing temp files`);
    void cleanup().finally(() => process.exit(130));
  });
}
process.on('exit', killAllNow);

function log(line: string): void {
  console.error(line);
}

// ------------------------------------------------------------------------------ setup

const sizes = caseIds.map((id) => CASES[id] as CaseSpec).map((spec) => sumSizes(spec));
function sumSizes(spec: CaseSpec): number {
  return spec.files.reduce((sum, file) => sum + file.size, 0);
}

const keepFixtures = opts['work-dir'] !== undefined;
const workRoot = keepFixtures
  ? path.resolve(opts['work-dir'] as string)
  : await mkdtemp(path.join(os.tmpdir(), 'chilly-perf-'));
await mkdir(workRoot, { recursive: true });
if (!keepFixtures) cleanups.push(() => rm(workRoot, { recursive: true, force: true }));

{
  // Fixture + one leecher's copy at a time (+ every kept fixture), and 1 GiB of slack.
  const stats = statfsSync(workRoot);
  const free = stats.bavail * stats.bsize;
  const largest = Math.max(...sizes);
  const need = (keepFixtures ? sizes.reduce((a, b) => a + b, 0) : largest) + largest + GiB;
  if (free < need) {
    fail(`${(free / GiB).toFixed(1)} GiB free in ${workRoot}, need ${(need / GiB).toFixed(1)} GiB`);
  }
  log(`disk: ${(free / GiB).toFixed(1)} GiB free in ${workRoot}, need ${(need / GiB).toFixed(1)} GiB`);
}

// Our fixture runs as plain JavaScript, so no TypeScript loader (and its esbuild child) is measured.
const peerBundle = path.join(path.resolve(opts['bundle-dir']), 'webtorrent-peer.mjs');
for (const bundle of new Set([peerBundle, ...variantBundles.values()])) {
  const esbuild = path.join(REPO_ROOT, 'node_modules', '.bin', 'esbuild');
  const built = spawnSync(
    esbuild,
    [
      path.join(REPO_ROOT, 'bench', 'perf', 'webtorrent-peer.ts'),
      '--bundle',
      '--platform=node',
      '--format=esm',
      '--target=node20',
      '--packages=external',
      '--log-level=warning',
      `--outfile=${bundle}`,
    ],
    { stdio: 'inherit', timeout: 60_000 },
  );
  if (built.status !== 0) fail(`could not bundle webtorrent-peer.ts into ${bundle} with ${esbuild}`);
}

const profileDir = path.resolve(opts['profile-dir']);
const nodeArgs = (opts['node-args'] ?? '').split(' ').filter((arg) => arg !== '');
/**
 * How the product runs node: the environment and flags of the `chilly` shebang (src/cli/main.ts),
 * which the README also recommends to embedders. Given to ours and chilly (not to wt, plain
 * WebTorrent), before --node-args/--node-env and a variant's, which can override them.
 */
const PRODUCT_NODE = productNode();
function productNode(): { args: string[]; env: Record<string, string> } {
  const main = readFileSync(path.join(REPO_ROOT, 'src', 'cli', 'main.ts'), 'utf8');
  const shebang = /^#!\/usr\/bin\/env -S ((?:[A-Z_]+=[^\s]+ )*)node((?: --[^\s]+)*)\s*$/.exec(
    main.split('\n')[0] ?? '',
  );
  if (shebang === null) fail('src/cli/main.ts: expected a `#!/usr/bin/env -S [VAR=VALUE …] node [flags]` shebang');
  const words = (text: string | undefined) => (text ?? '').split(' ').filter((word) => word !== '');
  return { args: words(shebang[2]), env: parseEnv(words(shebang[1]).join(',')) };
}
const isProduct = (leecherId: string): boolean => /^(ours|chilly)(:|$)/.test(leecherId);
const argsOf = (leecherId: string): string[] => (isProduct(leecherId) ? PRODUCT_NODE.args : []);
/** --cpu-prof flags for one run: a folder per run (worker threads write profiles of their own). */
function profileArgs(name: string): string[] {
  if (!opts.profile) return [];
  return ['--cpu-prof', `--cpu-prof-dir=${path.join(profileDir, name.replace(/[^\w.-]/g, '_'))}`];
}
const nodeEnv = parseEnv(opts['node-env'] ?? '');
if (opts.profile) await mkdir(profileDir, { recursive: true });

const unavailable = new Map<string, string>();
for (const id of new Set([...leecherIds, ...uploadLeecherIds])) {
  const reason = (LEECHERS[id] as LeecherSpec).unavailable();
  if (reason !== undefined) {
    unavailable.set(id, reason);
    log(`skipping ${id}: ${reason}`);
  }
}

// ------------------------------------------------------------------------------- runs

interface RunResult {
  caseId: string;
  direction: 'download' | 'upload';
  seeder: string;
  leecher: string;
  round: number;
  ok: boolean;
  error?: string;
  seconds?: number;
  mibPerSecond?: number;
  cpuSeconds?: number;
  peakRssMiB?: number;
  peakAnonMiB?: number;
  seederCpuSeconds?: number;
  seederPeakRssMiB?: number;
  extra?: Record<string, unknown>;
}

const results: RunResult[] = [];
const PERF_HZ = 499;
const perfFiles: { file: string; pid: number; name: string }[] = [];
const loadBefore = os.loadavg();
const startedAt = new Date();

function timeoutFor(bytes: number): number {
  if (timeoutSeconds !== undefined) return timeoutSeconds * 1000;
  return 60_000 + (bytes / (8 * MiB)) * 1000;
}

async function runOne(
  fixture: Fixture,
  torrentPath: string,
  seeder: SeederHandle,
  leecher: LeecherSpec,
  runDirection: 'download' | 'upload',
  round: number,
): Promise<RunResult> {
  const base = { caseId: fixture.spec.id, direction: runDirection, seeder: seeder.id, leecher: leecher.id, round };
  const runDir = path.join(workRoot, 'runs', `${fixture.spec.id}-${runDirection}-${seeder.id}-${leecher.id}-${round}`);
  const outDir = path.join(runDir, 'data');
  const workDir = path.join(runDir, 'work');
  await rm(runDir, { recursive: true, force: true });
  await mkdir(outDir, { recursive: true });
  await mkdir(workDir, { recursive: true });
  const timeoutMs = timeoutFor(fixture.totalBytes);
  const seederSampler = new TreeSampler(seeder.process.pid, 250);
  let result: RunResult;
  let started: Awaited<ReturnType<LeecherSpec['start']>> | undefined;
  let sampler: TreeSampler | undefined;
  let perfRecord: Managed | undefined;
  try {
    started = await leecher.start({
      torrentPath,
      infoHash: fixture.infoHash,
      outDir,
      workDir,
      timeoutMs,
      seeder,
      nodeArgs: OUR_PROCESSES.test(leecher.id)
        ? [
            ...argsOf(leecher.id),
            ...nodeArgs,
            ...profileArgs(`${fixture.spec.id}-${runDirection}-${leecher.id}-r${round}`),
          ]
        : [],
      nodeEnv: OUR_PROCESSES.test(leecher.id) ? { ...(isProduct(leecher.id) ? PRODUCT_NODE.env : {}), ...nodeEnv } : {},
      peerBundle,
      ...(opts['torrent-opts'] === undefined ? {} : { torrentOpts: opts['torrent-opts'] }),
      ...(opts['client-opts'] === undefined ? {} : { clientOpts: opts['client-opts'] }),
    });
    sampler = new TreeSampler(started.process.pid, 100);
    if (opts.perf) {
      await mkdir(profileDir, { recursive: true });
      const file = path.join(profileDir, `${path.basename(runDir).replace(/[^\w.-]/g, '_')}.perf.data`);
      perfRecord = new Managed('perf', 'perf', [
        'record',
        '-q',
        '-F',
        String(PERF_HZ),
        '-g',
        '-p',
        String(started.process.pid),
        '-o',
        file,
      ]);
      perfFiles.push({ file, pid: started.process.pid, name: path.basename(runDir) });
    }
    const completedAt = await withTimeout(started.completed, timeoutMs, `${leecher.id} download`);
    const usage = sampler.sample();
    const seederUsage = seederSampler.sample();
    const seconds = (completedAt - started.startedAt) / 1000;
    result = {
      ...base,
      ok: true,
      seconds,
      mibPerSecond: fixture.totalBytes / MiB / seconds,
      cpuSeconds: usage.cpuSeconds,
      peakRssMiB: usage.peakRss / MiB,
      peakAnonMiB: usage.peakAnon / MiB,
      seederCpuSeconds: seederUsage.cpuSecondsSinceStart,
      seederPeakRssMiB: seederUsage.sampledPeakRss / MiB,
      extra: { ...started.extra, pid: started.process.pid },
    };
  } catch (error) {
    result = { ...base, ok: false, error: (error as Error).message.split('\n')[0] ?? 'failed' };
    log(`  ${leecher.id} failed: ${(error as Error).message}`);
    if (started !== undefined) log(`  --- ${leecher.id} output (tail) ---\n${started.process.log().slice(-3000)}`);
    log(`  --- seeder ${seeder.id} output (tail) ---\n${seeder.process.log().slice(-3000)}`);
  } finally {
    if (perfRecord !== undefined) {
      // SIGINT: perf writes its file and leaves.
      perfRecord.child.kill('SIGINT');
      await Promise.race([perfRecord.exited, new Promise((resolve) => setTimeout(resolve, 30_000))]);
      await perfRecord.stop();
    }
    sampler?.stop();
    seederSampler.stop();
    await started?.stop().catch((error: Error) => log(`  stopping ${leecher.id}: ${error.message}`));
    if (opts['logs-dir'] !== undefined && started !== undefined) {
      await mkdir(opts['logs-dir'], { recursive: true });
      const name = `${fixture.spec.id}-${runDirection}-${seeder.id}-${leecher.id.replace(/[^\w-]/g, '_')}-${round}.log`;
      await writeFile(path.join(opts['logs-dir'], name), started.process.log());
    }
  }
  if (result.ok && started !== undefined) {
    const mismatch = await verifyDownload(started.contentRoot, fixture.files);
    if (mismatch !== undefined) result = { ...result, ok: false, error: `content check: ${mismatch}` };
  }
  await rm(runDir, { recursive: true, force: true });
  // Write back what the leecher left dirty, so it does not slow the next client down.
  spawnSync('sync', { timeout: 120_000 });
  results.push(result);
  log(`  [${fixture.spec.id} ${runDirection} r${round}] ${seeder.id} → ${leecher.id}: ${describe(result)}`);
  return result;
}

function describe(result: RunResult): string {
  if (!result.ok) return `FAILED (${result.error})`;
  return [
    `${result.mibPerSecond?.toFixed(1)} MiB/s`,
    `${result.seconds?.toFixed(2)} s`,
    `CPU ${result.cpuSeconds?.toFixed(2)} s`,
    `peak RSS ${result.peakRssMiB?.toFixed(0)} MiB (anon ${result.peakAnonMiB?.toFixed(0)})`,
    `seeder CPU ${result.seederCpuSeconds?.toFixed(2)} s`,
    ...(result.extra?.userSeconds === undefined
      ? []
      : [
          `user ${Number(result.extra.userSeconds).toFixed(2)} s, sys ${Number(result.extra.systemSeconds).toFixed(2)} s`,
        ]),
    ...(result.extra?.minorFaults === undefined ? [] : [`${result.extra.minorFaults} minor faults`]),
  ].join(', ');
}

const fixtures = new Map<string, Fixture>();

async function runCase(spec: CaseSpec): Promise<void> {
  const dir = path.join(workRoot, 'fixtures', spec.id);
  const fixture = await prepareFixture(spec, dir, pieceLength, log);
  fixtures.set(spec.id, fixture);
  const tracker = await startBenchTracker();
  cleanups.push(() => tracker.close());
  const torrentPath = path.join(workRoot, `${spec.id}.torrent`);
  await writeFile(torrentPath, torrentFileFor(fixture, tracker.announceUrl));
  const seederCtx = {
    torrentPath,
    fixtureDir: fixture.dir,
    seedDir: fixture.seedDir,
    readyTimeoutMs: 60_000 + (fixture.totalBytes / (20 * MiB)) * 1000,
    // used by our seeder only (upload direction)
    nodeArgs: [...PRODUCT_NODE.args, ...nodeArgs],
    nodeEnv: { ...PRODUCT_NODE.env, ...nodeEnv },
    peerBundle,
    ...(opts['seeder-torrent-opts'] === undefined ? {} : { torrentOpts: opts['seeder-torrent-opts'] }),
  };
  try {
    if (direction !== 'upload') {
      const active = leecherIds.filter((id) => !unavailable.has(id)).map((id) => LEECHERS[id] as LeecherSpec);
      log(`\n${spec.label}: download, libtorrent seeder, ${rounds} round(s) of ${active.map((l) => l.id).join(' ')}`);
      const seeder = await startLibtorrentSeeder(seederCtx);
      tracker.setPeers([seeder.port]);
      try {
        for (let round = 1; round <= rounds && !interrupted; round++) {
          for (const leecher of inRoundOrder(active, round)) {
            if (!interrupted) await runOne(fixture, torrentPath, seeder, leecher, 'download', round);
          }
        }
      } finally {
        await seeder.stop();
      }
    }
    if (direction !== 'download' && !interrupted) {
      const active = uploadLeecherIds.filter((id) => !unavailable.has(id)).map((id) => LEECHERS[id] as LeecherSpec);
      log(
        `\n${spec.label}: upload, seeders ${uploadSeederIds.join(' ')}, leechers ${active.map((l) => l.id).join(' ')}`,
      );
      const seeders: SeederHandle[] = [];
      try {
        for (const id of uploadSeederIds) {
          log(`  starting seeder ${id} (checks the data first)`);
          seeders.push(
            id === 'lib'
              ? await startLibtorrentSeeder(seederCtx)
              : await startOurSeeder(seederCtx, id === 'ours' ? 'downloader' : 'plain'),
          );
        }
        for (let round = 1; round <= rounds && !interrupted; round++) {
          for (const seeder of inRoundOrder(seeders, round)) {
            tracker.setPeers([seeder.port]);
            for (const leecher of inRoundOrder(active, round)) {
              if (!interrupted) await runOne(fixture, torrentPath, seeder, leecher, 'upload', round);
            }
          }
        }
      } finally {
        for (const seeder of seeders) await seeder.stop().catch(() => undefined);
      }
    }
  } finally {
    await tracker.close();
    await rm(torrentPath, { force: true });
    if (!keepFixtures) await rm(dir, { recursive: true, force: true });
  }
}

// ----------------------------------------------------------------------------- report

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length === 0
    ? Number.NaN
    : s.length % 2
      ? (s[mid] as number)
      : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

interface Summary {
  runs: number;
  ok: number;
  mibps: number;
  minMibps: number;
  maxMibps: number;
  cpu: number;
  cpuPerGiB: number;
  rss: number;
  maxRss: number;
  anon: number;
  seederCpuPerGiB: number;
  seederRss: number;
}

function summarise(rows: RunResult[], bytes: number): Summary {
  const ok = rows.filter((row) => row.ok);
  const pick = (key: keyof RunResult) => ok.map((row) => row[key] as number);
  const speeds = pick('mibPerSecond');
  return {
    runs: rows.length,
    ok: ok.length,
    mibps: median(speeds),
    minMibps: Math.min(...speeds),
    maxMibps: Math.max(...speeds),
    cpu: median(pick('cpuSeconds')),
    cpuPerGiB: median(pick('cpuSeconds')) / (bytes / GiB),
    rss: median(pick('peakRssMiB')),
    maxRss: Math.max(...pick('peakRssMiB')),
    anon: median(pick('peakAnonMiB')),
    seederCpuPerGiB: median(pick('seederCpuSeconds')) / (bytes / GiB),
    seederRss: Math.max(...pick('seederPeakRssMiB')),
  };
}

const f1 = (x: number) => (Number.isFinite(x) ? x.toFixed(1) : '–');
const f2 = (x: number) => (Number.isFinite(x) ? x.toFixed(2) : '–');
const f0 = (x: number) => (Number.isFinite(x) ? x.toFixed(0) : '–');

function label(id: string): string {
  return LEECHERS[id]?.label ?? id;
}

function report(): string {
  const out: string[] = [];
  const loadAfter = os.loadavg();
  out.push(`# bench:perf, ${startedAt.toISOString()}`);
  out.push('');
  out.push(
    `${os.cpus().length} CPU(s) (${os.cpus()[0]?.model ?? '?'}), node ${process.version}, ${netns}; ` +
      `load average before ${loadBefore.map(f2).join(' ')}, after ${loadAfter.map(f2).join(' ')}. ` +
      `${rounds} interleaved round(s), order ${opts.order === 'rotate' ? 'rotated each round' : 'fixed'}. MiB/s: from the moment the client is handed the .torrent (spawn for ` +
      'aria2c, transmission-cli and `chilly download`; the add call for the others, after their process started) ' +
      'to its own verified completion; every download is then checked byte for byte (sha256, not timed). CPU: ' +
      "user+sys of the leecher's process tree up to completion (startup included). Peak RSS: VmHWM (the kernel's " +
      'peak); anon: the largest sampled RssAnon (without file pages, which libtorrent maps).',
  );
  if (unavailable.size > 0) {
    out.push('');
    for (const [id, reason] of unavailable) out.push(`- skipped ${id}: ${reason}`);
  }
  if (opts.profile) out.push('', '**Profiled run** (`--cpu-prof`): our figures are slower than without it.');
  if (opts['torrent-opts'] !== undefined) out.push('', `Our leechers ran with add() options ${opts['torrent-opts']}.`);
  if (opts['client-opts'] !== undefined) out.push('', `wt ran with client options ${opts['client-opts']}.`);
  if (opts['seeder-torrent-opts'] !== undefined) {
    out.push('', `Our seeder ran with add() options ${opts['seeder-torrent-opts']}.`);
  }
  out.push(
    '',
    `ours and chilly (leecher and seeder) ran as the chilly shebang runs node: \`${Object.entries(PRODUCT_NODE.env)
      .map(([key, value]) => `${key}=${value} `)
      .join('')}node ${PRODUCT_NODE.args.join(' ')}\`.`,
  );
  if (opts['node-args'] !== undefined) out.push('', `Our processes ran with node flags \`${opts['node-args']}\`.`);
  if (opts['node-env'] !== undefined) out.push('', `Our processes ran with environment \`${opts['node-env']}\`.`);
  if (opts['bundle-dir'] !== DEFAULT_BUNDLE_DIR) out.push('', `Fixture bundled into ${opts['bundle-dir']}.`);

  const ourRss = new Map<string, number>();
  for (const caseId of caseIds) {
    const fixture = fixtures.get(caseId);
    if (fixture === undefined) continue;
    const bytes = fixture.totalBytes;
    const pieces = `${fixture.pieceLength / 1024} KiB pieces`;
    const download = results.filter((r) => r.caseId === caseId && r.direction === 'download');
    if (download.length > 0) {
      out.push('', `## Download: ${fixture.spec.label} (${pieces}), from a libtorrent 2.0.8 seeder`, '');
      out.push(
        '| leecher | median MiB/s | min–max MiB/s | CPU s | CPU s/GiB | peak RSS MiB (median / max) | peak anon MiB | ok |',
      );
      out.push('|---|---|---|---|---|---|---|---|');
      const byLeecher = new Map<string, Summary>();
      for (const id of leecherIds) {
        const rows = download.filter((r) => r.leecher === id);
        if (rows.length === 0) continue;
        const s = summarise(rows, bytes);
        byLeecher.set(id, s);
        out.push(
          `| ${label(id)} | ${f1(s.mibps)} | ${f1(s.minMibps)}–${f1(s.maxMibps)} | ${f2(s.cpu)} | ${f2(s.cpuPerGiB)} | ` +
            `${f0(s.rss)} / ${f0(s.maxRss)} | ${f0(s.anon)} | ${s.ok}/${s.runs} |`,
        );
      }
      const natives = NATIVE.map((id) => [id, byLeecher.get(id)] as const).filter(
        (entry): entry is readonly [string, Summary] => entry[1] !== undefined && entry[1].ok > 0,
      );
      const fastest = natives.reduce<readonly [string, Summary] | undefined>(
        (best, entry) => (best === undefined || entry[1].mibps > best[1].mibps ? entry : best),
        undefined,
      );
      const lib = byLeecher.get('lib');
      const goals: string[] = [];
      for (const id of leecherIds.filter(isOurs)) {
        const s = byLeecher.get(id);
        if (s === undefined || s.ok === 0) continue;
        if (id === 'ours' && fixture.spec.id.startsWith('1g')) ourRss.set('1g', s.maxRss);
        if (id === 'ours' && fixture.spec.id === '4g') ourRss.set('4g', s.maxRss);
        const mark = (pass: boolean) => (pass ? '✅' : '❌');
        if (fastest !== undefined) {
          goals.push(
            `| ${id} | median MiB/s ≥ fastest native (${fastest[0]} ${f1(fastest[1].mibps)}) | ${f1(s.mibps)} ` +
              `(${f0((s.mibps / fastest[1].mibps) * 100)} %) | ${mark(s.mibps >= fastest[1].mibps)} |`,
          );
        }
        if (lib !== undefined && lib.ok > 0) {
          goals.push(
            `| ${id} | CPU s/GiB ≤ 1.5 × libtorrent's (${f2(lib.cpuPerGiB)} → ≤ ${f2(lib.cpuPerGiB * 1.5)}) | ` +
              `${f2(s.cpuPerGiB)} (${f1(s.cpuPerGiB / lib.cpuPerGiB)} ×) | ${mark(s.cpuPerGiB <= lib.cpuPerGiB * 1.5)} |`,
          );
        }
        goals.push(`| ${id} | peak RSS ≤ 150 MiB (max of runs) | ${f0(s.maxRss)} | ${mark(s.maxRss <= 150)} |`);
      }
      if (goals.length > 0) out.push('', '| ours | goal (issue 8) | measured | |', '|---|---|---|---|', ...goals);
    }
    const upload = results.filter((r) => r.caseId === caseId && r.direction === 'upload');
    if (upload.length > 0) {
      out.push('', `## Upload: ${fixture.spec.label} (${pieces}), each seeder to each leecher`, '');
      out.push(
        '| seeder | leecher | median MiB/s | min–max MiB/s | seeder CPU s/GiB | seeder peak RSS MiB (sampled) | leecher CPU s | ok |',
      );
      out.push('|---|---|---|---|---|---|---|---|');
      for (const seederId of uploadSeederIds) {
        for (const leecherId of uploadLeecherIds) {
          const rows = upload.filter((r) => r.seeder === seederId && r.leecher === leecherId);
          if (rows.length === 0) continue;
          const s = summarise(rows, bytes);
          const seederLabel = { lib: 'libtorrent 2.0.8', ours: 'chilly WebTorrentDownloader', wt: 'plain WebTorrent' }[
            seederId
          ];
          out.push(
            `| ${seederLabel ?? seederId} | ${label(leecherId)} | ${f1(s.mibps)} | ${f1(s.minMibps)}–${f1(s.maxMibps)} | ` +
              `${f2(s.seederCpuPerGiB)} | ${f0(s.seederRss)} | ${f2(s.cpu)} | ${s.ok}/${s.runs} |`,
          );
        }
      }
    }
  }
  const rss1 = ourRss.get('1g');
  const rss4 = ourRss.get('4g');
  if (rss1 !== undefined && rss4 !== undefined) {
    const change = ((rss4 - rss1) / rss1) * 100;
    out.push(
      '',
      `Our peak RSS, 1 GiB vs 4 GiB: ${f0(rss1)} vs ${f0(rss4)} MiB (${change >= 0 ? '+' : ''}${f1(change)} %): ` +
        `${Math.abs(change) <= 10 ? '✅ within' : '❌ not within'} 10 %.`,
    );
  }
  return out.join('\n');
}

// ------------------------------------------------------------------------------- main

let exitCode = 0;
try {
  log(`bench:perf: ${netns}; work dir ${workRoot}; cases ${caseIds.join(', ')}`);
  if (leecherIds.includes('chilly') && !unavailable.has('chilly')) log(`chilly: using ${CHILLY_MAIN}`);
  for (const id of caseIds) {
    if (interrupted) break;
    await runCase(CASES[id] as CaseSpec);
  }
  if (!interrupted) {
    console.log(`\n${report()}`);
    if (opts.json !== undefined) await writeFile(opts.json, `${JSON.stringify({ startedAt, results }, null, 2)}\n`);
    if (opts.profile) {
      const runs = existsSync(profileDir) ? readdirSync(profileDir).sort() : [];
      console.log(`\n## CPU profiles (${profileDir}; per run, main thread first)`);
      for (const run of runs) {
        const files = readdirSync(path.join(profileDir, run)).filter((f) => f.endsWith('.cpuprofile'));
        // Default names are CPU.<date>.<time>.<pid>.<thread id>.<seq>: thread 0 is the main thread.
        const threadOf = (file: string) => Number(file.split('.').at(-3));
        for (const file of files.sort((a, b) => threadOf(a) - threadOf(b))) {
          const profile = JSON.parse(readFileSync(path.join(profileDir, run, file), 'utf8'));
          const thread = threadOf(file) === 0 ? 'main thread' : `worker thread ${threadOf(file)}`;
          console.log(`\n### ${run}, ${thread} (${file})\n\n${summariseProfile(profile, 15)}`);
        }
      }
    }
  }
  if (!interrupted && perfFiles.length > 0) {
    console.log(`\n## perf: where each leecher's CPU went (all threads, kernel included)`);
    for (const { file, pid, name } of perfFiles) {
      try {
        console.log(`\n### ${name}\n\n${summarisePerf(readPerfSamples(file), pid, PERF_HZ, 12)}`);
      } catch (error) {
        console.log(`\n### ${name}\n\n(no perf data: ${(error as Error).message.split('\n')[0]})`);
      }
    }
  }
  if (results.some((r) => !r.ok)) exitCode = 1;
} catch (error) {
  console.error(`bench:perf failed: ${(error as Error).stack ?? String(error)}`);
  exitCode = 1;
} finally {
  await cleanup();
}
process.exit(interrupted ? 130 : exitCode);
