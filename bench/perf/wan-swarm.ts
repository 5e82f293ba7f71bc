/**
 * A WAN-like swarm on loopback (issue 19): 15–30 python3-libtorrent seeders, each behind a relay
 * of its own that adds 20–150 ms each way plus jitter, upload limits from 256 KiB/s to 8 MiB/s,
 * two seeders that drop half-way, one that stalls after the handshake, one serving 5 % corrupt
 * pieces. Leechers run one at a time, interleaved over rounds, and each sees the same swarm. See
 * bench/perf/README.md, "WAN-like swarm (issue 19)".
 *
 *   npm run bench:swarm -- [--size 512m] [--rounds 3] [--seeders 20] [--leechers ours,chilly,wt,lib,lib-seq,qbt,aria2]
 *
 * Network safety: as root the run happens in `unshare -n` (only `lo`); everything binds and dials
 * 127.0.0.1; DHT, LSD, UPnP, NAT-PMP and PEX off in every client; the tracker names only the relays.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statfsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import {
  DEFAULT_BUNDLE_DIR,
  type JsonEvent,
  LEECHERS,
  type LeecherSpec,
  REPO_ROOT,
  type SeederHandle,
  type StartedLeecher,
  withTimeout,
} from './clients.js';
import { type CaseSpec, type Fixture, prepareFixture, torrentFileFor, verifyDownload } from './fixtures.js';
import { enterNamespace } from './netns.js';
import { TreeSampler } from './proc.js';
import { killAllNow, stopAll } from './spawn.js';
import { startBenchTracker } from './tracker.js';
import { prefixFloorSeconds } from './wan/prefix-floor.js';
import { PrefixPoller } from './wan/prefix-poller.js';
import { figuresTable, goalsTable, type ReportInput, ratioTable, type SwarmRun, summarise } from './wan/report.js';
import { checkPortsFree, Relays, Seeders, type SwarmLayout } from './wan/swarm.js';
import { planSwarm, writeCorruptCopy } from './wan/swarm-plan.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;
const ALL_LEECHERS = ['ours', 'chilly', 'wt', 'lib', 'lib-seq', 'qbt', 'aria2'];
/** <length><id = 7><index><begin> before each 16 KiB block: not counted as wasted. */
const PIECE_HEADER = 13;
const BLOCK = 16 * KiB;
/** Past the MSE and BitTorrent handshakes, extension handshake, bitfield and unchoke; short of a block. */
const OPAQUE_STALL_BYTES = 4 * KiB;
/** Fixed ports, below Linux's ephemeral range (32768–60999), so no client's outgoing socket takes one. */
const RELAY_BASE_PORT = 21_000;
const SEEDER_BASE_PORT = 22_000;

const { values: opts } = parseArgs({
  options: {
    size: { type: 'string', default: '512m' },
    rounds: { type: 'string', default: '3' },
    seeders: { type: 'string', default: '20' },
    leechers: { type: 'string', default: ALL_LEECHERS.join(',') },
    seed: { type: 'string', default: '19' },
    'prefix-mib': { type: 'string', default: '16' },
    'timeout-s': { type: 'string', default: '180' },
    'budget-min': { type: 'string', default: '25' },
    'work-dir': { type: 'string' },
    keep: { type: 'boolean', default: false },
    json: { type: 'string' },
    'logs-dir': { type: 'string' },
    'no-netns': { type: 'boolean', default: false },
    'cpu-prof-dir': { type: 'string' },
    help: { type: 'boolean', default: false },
  },
});

const USAGE = `npm run bench:swarm -- [options]
  --size N[m|g]        film size (default 512m; e.g. 64m for a quick try)
  --rounds N           interleaved rounds, A B C … A B C … (default 3)
  --seeders N          4..30 seeders, each behind its own relay (default 20)
  --leechers LIST      ${ALL_LEECHERS.join(',')} (default all; a missing client is skipped)
  --seed N             draws the swarm: latencies, limits, which seeders misbehave (default 19)
  --prefix-mib N       the "first N MiB from byte 0" figure (default 16)
  --timeout-s N        per download (default 180)
  --budget-min N       no run starts after N minutes (default 25); the table says what was skipped
  --work-dir DIR       keep fixtures (and the corrupt copy) there, reused next time
  --cpu-prof-dir DIR   our own leechers (ours, chilly) write a V8 CPU profile there
  --keep               keep the temp folder
  --json FILE          also write every run's figures as JSON
  --logs-dir DIR       keep every leecher's output there
  --no-netns           do not enter a network namespace (as root it is used by default)`;

function fail(message: string): never {
  console.error(`bench:swarm: ${message}\n\n${USAGE}`);
  process.exit(2);
}

if (opts.help) {
  console.log(USAGE);
  process.exit(0);
}

function integer(value: string, min: number, max: number, flag: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) fail(`${flag} must be an integer in ${min}..${max}`);
  return n;
}

const sizeBytes = (() => {
  const match = /^(\d+)([mg])$/i.exec(opts.size);
  if (match === null) return fail('--size N[m|g], e.g. 512m');
  const bytes = Number(match[1]) * (match[2]?.toLowerCase() === 'g' ? GiB : MiB);
  if (bytes < 16 * MiB || bytes > 8 * GiB) fail('--size between 16m and 8g');
  return bytes;
})();
const rounds = integer(opts.rounds, 1, 20, '--rounds');
const seederCount = integer(opts.seeders, 4, 30, '--seeders');
const seed = integer(opts.seed, 0, 2 ** 31 - 1, '--seed');
const prefixBytes = integer(opts['prefix-mib'], 1, 1024, '--prefix-mib') * MiB;
const timeoutMs = integer(opts['timeout-s'], 10, 3600, '--timeout-s') * 1000;
const budgetMs = integer(opts['budget-min'], 1, 600, '--budget-min') * 60_000;
const leecherIds = [
  ...new Set(
    opts.leechers
      .split(',')
      .map((id) => id.trim())
      .filter((id) => id !== ''),
  ),
];
const unknown = leecherIds.filter((id) => !ALL_LEECHERS.includes(id));
if (unknown.length > 0) fail(`unknown leecher(s): ${unknown.join(', ')}`);
if (prefixBytes >= sizeBytes) fail('--prefix-mib must be smaller than --size');

const netns = await enterNamespace('bench:swarm', opts['no-netns']);

// --------------------------------------------------------------------------- cleanup

const cleanups: (() => Promise<void>)[] = [];
let interrupted = false;
let cleaning: Promise<void> | undefined;
/** Stops every child and removes temp files; the same promise for everyone (Ctrl-C and the main flow). */
function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    await stopAll();
    for (const step of cleanups.splice(0).reverse()) await step().catch(() => undefined);
  })();
  return cleaning;
}
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (interrupted) return;
    interrupted = true;
    console.error(`\nbench:swarm: ${signal}: stopping every process and removing temp files`);
    void cleanup().finally(() => process.exit(130));
  });
}
process.on('exit', killAllNow);

const log = (line: string): void => console.error(line);

/** A setup step: on failure, every child is stopped and temp files removed before leaving. */
async function guard<T>(step: Promise<T>): Promise<T> {
  try {
    return await step;
  } catch (error) {
    console.error(`bench:swarm: setup failed: ${(error as Error).stack ?? String(error)}`);
    await cleanup();
    process.exit(1);
  }
}

// ---------------------------------------------------------------------------- setup

const startedAt = new Date();
const benchStart = performance.now();
const loadBefore = os.loadavg();
const keepWork = opts['work-dir'] !== undefined || opts.keep;
const workRoot =
  opts['work-dir'] !== undefined
    ? path.resolve(opts['work-dir'])
    : await mkdtemp(path.join(os.tmpdir(), 'chilly-swarm-'));
await mkdir(workRoot, { recursive: true });
if (!keepWork) cleanups.push(() => rm(workRoot, { recursive: true, force: true }));
{
  // Fixture + its corrupt copy + one leecher's copy at a time, and 1 GiB of slack.
  const stats = statfsSync(workRoot);
  const free = stats.bavail * stats.bsize;
  const need = 3 * sizeBytes + GiB;
  if (free < need) fail(`${(free / GiB).toFixed(1)} GiB free in ${workRoot}, need ${(need / GiB).toFixed(1)} GiB`);
}

/** Bundled with esbuild and run by plain node: no TypeScript loader in a measured process. */
function bundle(entry: string, outfile: string): string {
  const built = spawnSync(
    path.join(REPO_ROOT, 'node_modules', '.bin', 'esbuild'),
    [
      entry,
      '--bundle',
      '--platform=node',
      '--format=esm',
      '--target=node20',
      '--packages=external',
      '--log-level=warning',
      `--outfile=${outfile}`,
    ],
    { stdio: 'inherit', timeout: 60_000 },
  );
  if (built.status !== 0) fail(`could not bundle ${entry}`);
  return outfile;
}
const here = path.join(REPO_ROOT, 'bench', 'perf');
const peerBundle = bundle(path.join(here, 'webtorrent-peer.ts'), path.join(DEFAULT_BUNDLE_DIR, 'webtorrent-peer.mjs'));
const relayBundle = bundle(path.join(here, 'wan', 'relay.ts'), path.join(DEFAULT_BUNDLE_DIR, 'wan-relay.mjs'));

/** How the `chilly` shebang runs node (src/cli/main.ts), for ours and chilly, as bench:perf does. */
const PRODUCT_NODE = (() => {
  const first = readFileSync(path.join(REPO_ROOT, 'src', 'cli', 'main.ts'), 'utf8').split('\n')[0] ?? '';
  const shebang = /^#!\/usr\/bin\/env -S ((?:[A-Z_]+=[^\s]+ )*)node((?: --[^\s]+)*)\s*$/.exec(first);
  if (shebang === null)
    return fail('src/cli/main.ts: expected a `#!/usr/bin/env -S [VAR=VALUE …] node [flags]` shebang');
  const words = (text: string | undefined) => (text ?? '').split(' ').filter((word) => word !== '');
  const env = Object.fromEntries(
    words(shebang[1]).map((pair) => [pair.split('=')[0], pair.split('=').slice(1).join('=')]),
  );
  return { args: words(shebang[2]), env: env as Record<string, string> };
})();

/**
 * libtorrent streaming from byte 0: lt_peer.py with sequential download (the baseline of the "first
 * N MiB" goal); `lib` keeps libtorrent's defaults (rarest first), the baseline of the others.
 */
const libtorrent = LEECHERS.lib as LeecherSpec;
const SWARM_LEECHERS: Record<string, LeecherSpec> = {
  ...LEECHERS,
  'lib-seq': { ...libtorrent, id: 'lib-seq', label: `${libtorrent.label}, sequential` },
};

const unavailable = new Map<string, string>();
for (const id of leecherIds) {
  const reason = (SWARM_LEECHERS[id] as LeecherSpec).unavailable();
  if (reason !== undefined) {
    unavailable.set(id, reason);
    log(`skipping ${id}: ${reason}`);
  }
}
const active = leecherIds.filter((id) => !unavailable.has(id));
if (!existsSync('/usr/bin/python3') || spawnSync('/usr/bin/python3', ['-c', 'import libtorrent']).status !== 0) {
  fail('the seeders need python3-libtorrent (apt-get install -y python3-libtorrent)');
}

const sizeLabel = sizeBytes % GiB === 0 ? `${sizeBytes / GiB} GiB` : `${sizeBytes / MiB} MiB`;
const spec: CaseSpec = {
  id: `wan-${opts.size.toLowerCase()}`,
  label: `${sizeLabel}, single file`,
  name: `wan-film-${opts.size.toLowerCase()}.mkv`,
  files: [{ path: `wan-film-${opts.size.toLowerCase()}.mkv`, size: sizeBytes }],
};
const fixture: Fixture = await guard(prepareFixture(spec, path.join(workRoot, 'fixtures', spec.id), undefined, log));
const filePath = (fixture.files[0] as { path: string }).path;

const plan = planSwarm(seederCount, seed);
const corruptDir = path.join(workRoot, 'fixtures', `${spec.id}-corrupt-${seed}`);
const corruptPieces = await guard(
  (async () => {
    const marker = path.join(corruptDir, 'corrupt.json');
    const expected = { infoHash: fixture.infoHash, seed, share: 0.05 };
    try {
      const saved = JSON.parse(await readFile(marker, 'utf8')) as typeof expected & { pieces: number[] };
      if (saved.infoHash === expected.infoHash && saved.seed === seed && existsSync(path.join(corruptDir, filePath))) {
        log(`corrupt copy: reusing ${corruptDir}`);
        return saved.pieces;
      }
    } catch {
      // none yet
    }
    const pieces = await writeCorruptCopy(
      path.join(fixture.seedDir, filePath),
      path.join(corruptDir, filePath),
      fixture.pieceLength,
      fixture.totalBytes,
      0.05,
      seed,
    );
    await writeFile(marker, `${JSON.stringify({ ...expected, pieces })}\n`);
    return pieces;
  })(),
);
const pieceHashes = pieceHashesOf(fixture.info);

/** The SHA-1 of every piece, from the bencoded info dictionary (`6:pieces<length>:<20 bytes each>`). */
function pieceHashesOf(info: Buffer): Buffer[] {
  const key = info.indexOf('6:pieces');
  const colon = info.indexOf(':', key + 8);
  if (key < 0 || colon < 0) throw new Error('info dictionary without pieces');
  const length = Number(info.subarray(key + 8, colon).toString('latin1'));
  const bytes = info.subarray(colon + 1, colon + 1 + length);
  return Array.from({ length: length / 20 }, (_, i) => bytes.subarray(i * 20, i * 20 + 20));
}

const healthyLimit = plan.filter((s) => s.fault === 'none').reduce((sum, s) => sum + s.uploadRate, 0);
const layout: SwarmLayout = {
  plan,
  seederPorts: plan.map((_, i) => SEEDER_BASE_PORT + i),
  relayPorts: plan.map((_, i) => RELAY_BASE_PORT + i),
  seederTorrent: path.join(workRoot, 'seeders.torrent'),
  seedDir: fixture.seedDir,
  corruptDir,
  workDir: workRoot,
  seed,
  dropAfterBytes: Math.round(fixture.totalBytes / 2),
  maxSeconds: Math.ceil(budgetMs / 1000 + (2 * timeoutMs) / 1000 + 600),
};
await guard(checkPortsFree([...layout.seederPorts, ...layout.relayPorts]));
// The seeders' torrent names no tracker: they announce nowhere.
await writeFile(
  layout.seederTorrent,
  Buffer.concat([Buffer.from('d4:info', 'latin1'), fixture.info, Buffer.from('e', 'latin1')]),
);

const tracker = await startBenchTracker();
cleanups.push(() => tracker.close());
tracker.setPeers(layout.relayPorts);
const torrentPath = path.join(workRoot, 'leecher.torrent');
await writeFile(torrentPath, torrentFileFor(fixture, tracker.announceUrl));

const relays = await guard(Relays.start(layout, relayBundle, OPAQUE_STALL_BYTES));
cleanups.push(() => relays.stop());
const seeders = new Seeders(layout);
cleanups.push(() => seeders.stop());

// ------------------------------------------------------------------------------ runs

/** `--cpu-prof-dir DIR`: our own leechers write a V8 CPU profile there (bench/perf/cpuprofile-summary.ts reads it). */
function profileArgs(id: string): string[] {
  const dir = opts['cpu-prof-dir'];
  return dir === undefined
    ? []
    : ['--cpu-prof', '--cpu-prof-dir', path.resolve(dir), '--cpu-prof-name', `${id}-${Date.now()}.cpuprofile`];
}

/** What each leecher is asked for on top of a plain download, and where its prefix time comes from. */
function leecherArgs(id: string): { extraArgs: string[]; prefixEvent: string | undefined } {
  const prefix = ['--report-prefix', String(prefixBytes)];
  if (id === 'ours') return { extraArgs: [...prefix, '--stream-from-start'], prefixEvent: 'stream-ready' };
  if (id === 'lib') return { extraArgs: prefix, prefixEvent: 'prefix' };
  if (id === 'lib-seq') return { extraArgs: [...prefix, '--stream-from-start'], prefixEvent: 'prefix' };
  if (id === 'wt') return { extraArgs: prefix, prefixEvent: 'prefix' };
  return { extraArgs: [], prefixEvent: undefined };
}

const runs: SwarmRun[] = [];
const skippedRuns: string[] = [];

async function runOne(leecher: LeecherSpec, round: number): Promise<SwarmRun> {
  const base = { leecher: leecher.id, round };
  const runDir = path.join(workRoot, 'runs', `${leecher.id}-${round}`);
  const outDir = path.join(runDir, 'data');
  const workDir = path.join(runDir, 'work');
  await rm(runDir, { recursive: true, force: true });
  await mkdir(outDir, { recursive: true });
  await mkdir(workDir, { recursive: true });
  // The same swarm for everyone: no connection left, counters and cuts cleared, fresh seeders.
  await relays.reset();
  await seeders.start(60_000);
  const seedersProcess = seeders.process;
  if (seedersProcess === undefined) throw new Error('seeders did not start');
  const seederHandle: SeederHandle = {
    id: 'lt-seeders',
    label: 'libtorrent seeders',
    port: layout.relayPorts[0] as number,
    process: seedersProcess,
    stop: async () => undefined,
  };
  const seedersSampler = new TreeSampler(seedersProcess.pid, 500);
  const relaysSampler = new TreeSampler(relays.process.pid, 500);
  const events = new Map<string, JsonEvent>();
  const { extraArgs, prefixEvent } = leecherArgs(leecher.id);
  const product = leecher.id === 'ours' || leecher.id === 'chilly';
  let started: StartedLeecher | undefined;
  let sampler: TreeSampler | undefined;
  let poller: PrefixPoller | undefined;
  let run: SwarmRun;
  try {
    started = await leecher.start({
      torrentPath,
      infoHash: fixture.infoHash,
      outDir,
      workDir,
      timeoutMs,
      seeder: seederHandle,
      nodeArgs: product ? [...PRODUCT_NODE.args, ...profileArgs(leecher.id)] : [],
      nodeEnv: product ? PRODUCT_NODE.env : {},
      peerBundle,
      onEvent: (event) => {
        if (!events.has(event.event)) events.set(event.event, event);
      },
      extraArgs,
      harnessClock: true,
    });
    sampler = new TreeSampler(started.process.pid, 100);
    if (prefixEvent === undefined) {
      poller = new PrefixPoller(
        path.join(started.contentRoot, filePath),
        pieceHashes,
        fixture.pieceLength,
        prefixBytes,
        fixture.totalBytes,
      );
    }
    // Every second: what each relay has passed so far (in the JSON, to see ramp-up, steady state and tail).
    const startedLeecher = started;
    const timeline: { t: number; perRelay: number[] }[] = [];
    const tracer = setInterval(() => {
      void relays
        .report()
        .then((r) => timeline.push({ t: (r.t - startedLeecher.startedAt) / 1000, perRelay: r.perRelay }))
        .catch(() => undefined);
    }, 1000);
    const completedAt = await withTimeout(started.completed, timeoutMs, `${leecher.id} download`).finally(() =>
      clearInterval(tracer),
    );
    const usage = sampler.sample();
    const relay = await relays.report();
    const uploaded = await seeders.uploaded();
    const seconds = (completedAt - started.startedAt) / 1000;
    // The prefix is complete at the latest when the whole file is.
    let prefixAt: number | undefined;
    let prefixSource: string;
    if (prefixEvent !== undefined) {
      prefixAt = events.get(prefixEvent)?.t ?? events.get('prefix')?.t;
      prefixSource = prefixEvent === 'stream-ready' ? 'range waiter' : 'piece events';
    } else {
      prefixSource = 'file polled';
    }
    if (poller !== undefined) {
      const p = poller;
      await withTimeout(
        (async () => {
          while (p.doneAt === undefined) await new Promise((resolve) => setTimeout(resolve, 50));
        })(),
        2_000,
        'prefix poll',
      ).catch(() => undefined);
      prefixAt = p.doneAt;
    }
    prefixAt = Math.min(prefixAt ?? completedAt, completedAt);
    const clientWasted = clientWastedBytes(started.extra);
    run = {
      ...base,
      ok: true,
      seconds,
      mibPerSecond: fixture.totalBytes / MiB / seconds,
      share: fixture.totalBytes / seconds / healthyLimit,
      ...(relay.firstPieceAt === null ? {} : { firstByteSeconds: (relay.firstPieceAt - started.startedAt) / 1000 }),
      prefixSeconds: (prefixAt - started.startedAt) / 1000,
      prefixSource,
      prefixFloorSeconds: prefixFloorSeconds(
        plan.map((seeder, i) => {
          const at = relay.firstPieceAtPerRelay[i] ?? null;
          return {
            firstPieceSeconds: at === null ? null : (at - startedLeecher.startedAt) / 1000,
            limit: seeder.uploadRate,
          };
        }),
        prefixBytes,
      ),
      wastedBytes: relay.toLeecher - fixture.totalBytes - Math.ceil(fixture.totalBytes / BLOCK) * PIECE_HEADER,
      ...(clientWasted === undefined ? {} : { clientWastedBytes: clientWasted }),
      cpuSeconds: usage.cpuSeconds,
      peakRssMiB: usage.peakRss / MiB,
      peakAnonMiB: usage.peakAnon / MiB,
      seedersCpuSeconds: seedersSampler.sample().cpuSecondsSinceStart,
      relaysCpuSeconds: relaysSampler.sample().cpuSecondsSinceStart,
      bypassBytes: Math.max(0, uploaded.reduce((a, b) => a + b, 0) - relay.fromSeeders),
      relay,
      seederUploaded: uploaded,
      timeline,
      extra: {
        ...started.extra,
        clientEvents: Object.fromEntries(
          [...events].map(([name, e]) => [name, (e.t - (started?.startedAt ?? 0)) / 1000]),
        ),
      },
    };
  } catch (error) {
    run = { ...base, ok: false, error: (error as Error).message.split('\n')[0] ?? 'failed' };
    log(`  ${leecher.id} failed: ${(error as Error).message}`);
    if (started !== undefined) log(`  --- ${leecher.id} output (tail) ---\n${started.process.log().slice(-3000)}`);
  } finally {
    poller?.stop();
    sampler?.stop();
    seedersSampler.stop();
    relaysSampler.stop();
    await started?.stop().catch((error: Error) => log(`  stopping ${leecher.id}: ${error.message}`));
    await relays.reset().catch(() => undefined);
    await seeders.stop();
    if (opts['logs-dir'] !== undefined && started !== undefined) {
      await mkdir(opts['logs-dir'], { recursive: true });
      await writeFile(path.join(opts['logs-dir'], `${leecher.id}-${round}.log`), started.process.log());
    }
  }
  if (run.ok && started !== undefined) {
    const mismatch = await verifyDownload(started.contentRoot, fixture.files);
    if (mismatch !== undefined) run = { ...run, ok: false, error: `content check: ${mismatch}` };
  }
  await rm(runDir, { recursive: true, force: true });
  spawnSync('sync', { timeout: 120_000 }); // what the leecher left dirty must not slow the next one
  log(`  [r${round}] ${leecher.id}: ${describe(run)}`);
  return run;
}

/** Bytes the client says it received beyond the file, from its own counters. */
function clientWastedBytes(extra: Record<string, unknown>): number | undefined {
  if (typeof extra.failed === 'number' && typeof extra.redundant === 'number') return extra.failed + extra.redundant;
  if (typeof extra.received === 'number') return extra.received - fixture.totalBytes;
  if (typeof extra.downloaded === 'number') return extra.downloaded - fixture.totalBytes;
  return undefined;
}

function describe(run: SwarmRun): string {
  if (!run.ok) return `FAILED (${run.error})`;
  const f = (x: number | undefined, digits = 2) => (x === undefined ? '–' : x.toFixed(digits));
  return [
    `${f(run.seconds, 1)} s`,
    `${f(run.mibPerSecond, 1)} MiB/s (${f((run.share ?? 0) * 100, 0)} % of healthy limits)`,
    `first byte ${f(run.firstByteSeconds)} s`,
    `first ${prefixBytes / MiB} MiB ${f(run.prefixSeconds)} s (${run.prefixSource}; floor ${f(run.prefixFloorSeconds)} s)`,
    `wasted ${f((run.wastedBytes ?? 0) / MiB, 1)} MiB (own count ${run.clientWastedBytes === undefined ? '–' : f(run.clientWastedBytes / MiB, 1)})`,
    `CPU ${f(run.cpuSeconds)} s`,
    `peak RSS ${f(run.peakRssMiB, 0)} MiB`,
    `seeders CPU ${f(run.seedersCpuSeconds, 1)} s, relays CPU ${f(run.relaysCpuSeconds, 1)} s`,
    `bypass ${f((run.bypassBytes ?? 0) / MiB, 1)} MiB`,
    `${run.relay?.connections ?? 0} connections (${run.relay?.encrypted ?? 0} MSE), cut at ${run.relay?.cutAt ? 'half-way' : 'never'}`,
  ].join(', ');
}

// ---------------------------------------------------------------------------- report

const LABELS: Record<string, string> = {
  ours: 'ours (WebTorrentDownloader, streaming from byte 0)',
  chilly: '`chilly download` (dist/)',
  wt: 'WebTorrent 2.8.5 alone (sequential)',
  lib: 'libtorrent 2.0.8 (defaults)',
  'lib-seq': 'libtorrent 2.0.8, sequential download',
  qbt: 'qBittorrent-nox 4.5.2 (defaults)',
  aria2: 'aria2c 1.36 (defaults)',
};

function swarmTable(): string[] {
  const out = ['| seeder | one-way delay ms | jitter ms | upload limit | fault |', '|---|---|---|---|---|'];
  for (const s of plan) {
    const limit =
      s.uploadRate >= MiB ? `${(s.uploadRate / MiB).toFixed(2)} MiB/s` : `${Math.round(s.uploadRate / KiB)} KiB/s`;
    const fault = {
      none: '',
      drop: 'drops every connection half-way (relay reset), refuses new ones',
      stall: 'stalls at its first piece message (connection kept open)',
      corrupt: `serves a copy with ${corruptPieces.length} of ${pieceHashes.length} pieces damaged`,
    }[s.fault];
    out.push(`| ${s.index} | ${s.delayMs} | 0–${s.jitterMs} | ${limit} | ${fault} |`);
  }
  return out;
}

function report(): string {
  const loadAfter = os.loadavg();
  const summaries = active.map((id) =>
    summarise(
      id,
      runs.filter((run) => run.leecher === id),
    ),
  );
  const input: ReportInput = {
    summaries,
    runs,
    labels: LABELS,
    prefixMiB: prefixBytes / MiB,
    goalsFor: active.filter((id) => id === 'ours' || id === 'chilly'),
  };
  const f2 = (x: number) => x.toFixed(2);
  const out = [
    `# bench:swarm, ${startedAt.toISOString()}`,
    '',
    `${os.cpus().length} CPU(s) (${os.cpus()[0]?.model ?? '?'}), node ${process.version}, ${netns}; load average ` +
      `before ${loadBefore.map(f2).join(' ')}, after ${loadAfter.map(f2).join(' ')}. ${fixture.spec.label} ` +
      `(${fixture.pieceLength / KiB} KiB pieces), ${seederCount} seeders (seed ${seed}), ${rounds} interleaved round(s), ` +
      `${((performance.now() - benchStart) / 60_000).toFixed(1)} min in all. Healthy seeders' summed upload limits: ` +
      `${(healthyLimit / MiB).toFixed(1)} MiB/s (all ${seederCount}: ${(plan.reduce((a, s) => a + s.uploadRate, 0) / MiB).toFixed(1)} MiB/s).`,
    '',
    'Cells: median over rounds (min–max). Time: from the moment the client is handed the .torrent (spawn for aria2c ' +
      'and `chilly download`; the add call for the others) to its own verified completion; every download is then ' +
      "checked byte for byte (sha256, not timed). Share: average rate / the healthy seeders' summed limits (the " +
      'seeders that drop count for nothing, so a client can pass 100 %). First byte: the first piece message the ' +
      `relays wrote to the client. First ${prefixBytes / MiB} MiB: bytes 0…${prefixBytes / MiB} MiB − 1 verified ` +
      '[where the time comes from]. Its floor: when those bytes could have been there had every seeder sent at ' +
      "its limit from its first piece message to this client (what the swarm's start leaves it: connect, handshake, " +
      "unchoke and request round trips and the seeders' quota ticks come before). Wasted: bytes the relays " +
      'wrote to the client up to completion minus the file and its 13-byte piece headers (what is left: handshakes, bitfields, corrupt, duplicate and cut-off blocks). CPU: ' +
      "user+sys of the client's process tree up to completion. Peak RSS: VmHWM summed over the tree; anon: the " +
      'largest sampled RssAnon (without file pages: libtorrent maps the file it writes, and its RSS counts them).',
  ];
  for (const [id, reason] of unavailable) out.push('', `- skipped ${id}: ${reason}`);
  if (skippedRuns.length > 0)
    out.push('', `- not run (--budget-min ${opts['budget-min']} passed): ${skippedRuns.join(', ')}`);
  const failed = runs.filter((run) => !run.ok);
  for (const run of failed) out.push('', `- ${run.leecher} round ${run.round} failed: ${run.error}`);
  const bypass = Math.max(0, ...runs.map((run) => run.bypassBytes ?? 0));
  out.push(
    '',
    `Relay check: at completion the seeders had uploaded at most ${(bypass / MiB).toFixed(1)} MiB more than the relays ` +
      'had read from them, in any run (data still in socket buffers, or lost when a connection was cut; a connection ' +
      "around the relays would show a seeder's whole share).",
  );
  out.push('', '## Swarm', '', ...swarmTable());
  out.push('', '## Leechers', '', ...figuresTable(input));
  out.push('', '## Ratios to libtorrent (median / median)', '', ...ratioTable(input));
  const goals = goalsTable(input);
  if (goals.length > 0) out.push('', '## Goals', '', ...goals);
  return out.join('\n');
}

// ------------------------------------------------------------------------------ main

let exitCode = 0;
try {
  log(
    `bench:swarm: ${netns}; work dir ${workRoot}; ${fixture.spec.label}, ${seederCount} seeders; leechers ${active.join(' ')}`,
  );
  for (let round = 1; round <= rounds && !interrupted; round++) {
    for (const id of active) {
      if (interrupted) break;
      if (performance.now() - benchStart > budgetMs) {
        skippedRuns.push(`${id} r${round}`);
        continue;
      }
      runs.push(await runOne(SWARM_LEECHERS[id] as LeecherSpec, round));
    }
  }
  if (!interrupted) {
    console.log(`\n${report()}`);
    if (opts.json !== undefined) {
      await writeFile(
        opts.json,
        `${JSON.stringify({ startedAt, plan, healthyLimit, corruptPieces, runs }, null, 2)}\n`,
      );
    }
  }
  if (runs.some((run) => !run.ok)) exitCode = 1;
} catch (error) {
  console.error(`bench:swarm failed: ${(error as Error).stack ?? String(error)}`);
  exitCode = 1;
} finally {
  await cleanup();
}
process.exit(interrupted ? 130 : exitCode);
