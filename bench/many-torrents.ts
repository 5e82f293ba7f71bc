/**
 * One Chilly server holding many torrents (issue 19, scope 3): 500 real loopback torrents by
 * default, a fifth of them downloaded and then seeding, a fifth paused, the rest queued behind the
 * few that hold the download slots (default maxActiveDownloads) and find no peer. Measured, side
 * by side with the goals:
 *  - event-loop lag p99 inside the server (perf_hooks.monitorEventLoopDelay, 10 ms resolution,
 *    the timer's own 10 ms taken off) while it holds them: idle, listed, and streaming events;
 *  - GET /downloads p50: sequential requests with the token, the default page (50) and the
 *    largest (`?limit=500`);
 *  - SSE fan-out: 10 clients on GET /events, a job paused and resumed over and over; the time
 *    from an event's publication in the server to the last of the 10 clients having it, for every
 *    event of that window (CLOCK_MONOTONIC on both sides: the same clock in every process);
 *  - peak RSS of the server process (`process.resourceUsage().maxRSS`, every run);
 *  - start-up with the jobs in the database: process start → first 200 from /health, after a
 *    SIGTERM, and until every job is listed.
 *
 * Processes: the server (bench/many-torrents-server.ts: startServer, as `chilly serve` runs it,
 * with `MALLOC_ARENA_MAX=2 node --max-semi-space-size=1` as `npm start`), the swarm (tracker and
 * one WebTorrent seeder, bench/many-torrents-seeder.ts), and this one (the HTTP and SSE clients).
 * `--runtime compiled` (default) runs the server as JavaScript compiled from the sources with
 * esbuild into the temp folder (dist/ may be stale; `npm start` runs compiled JavaScript), `tsx`
 * through tsx, which adds its own start-up cost. Loopback only (CHILLY_NETWORK=loopback, every
 * WebTorrent client with DHT/LSD/UPnP/NAT-PMP off); every wait is bounded and the whole run has a
 * deadline.
 *
 *   npx tsx bench/many-torrents.ts [--jobs 500] [--seeded N] [--paused N] [--requests 200]
 *        [--sse-clients 10] [--sse-rounds 50] [--steady-seconds 15] [--restarts 3]
 *        [--runtime compiled|tsx] [--cpu-prof] [--cpu-prof-dir DIR] [--keep]
 *
 * `--cpu-prof` writes two CPU profiles of the server and prints their top functions: the measured
 * phases (steady, list, SSE; node:inspector) and one restart from process start (node --cpu-prof).
 * `--keep` leaves the temp folder (servers' logs with the request log, databases, torrents).
 */
import { type ChildProcess, execFileSync, fork } from 'node:child_process';
import { closeSync, openSync, readFileSync, rmSync } from 'node:fs';
import { mkdir, readdir, readFile, symlink, writeFile } from 'node:fs/promises';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createParser } from 'eventsource-parser';
import { parse as parseYaml } from 'yaml';
import { makeTorrent, writeDeterministicFile } from '../tests/helpers/loopback-swarm.js';
import { freeLoopbackPort } from '../tests/helpers/ports.js';
import { sleep, tempDir, waitUntil } from '../tests/helpers/wait.js';
import type { SeederMessage, SeederRequest, SeedItem } from './many-torrents-seeder.js';
import type {
  LagFigures,
  MemoryFigures,
  PublishedEvent,
  ServerMessage,
  ServerRequest,
} from './many-torrents-server.js';
import { type CpuProfile, summariseProfile } from './perf/cpuprofile-summary.js';

// ---- options --------------------------------------------------------------------------------

const { values } = parseArgs({
  options: {
    jobs: { type: 'string', default: '500' },
    seeded: { type: 'string' },
    paused: { type: 'string' },
    requests: { type: 'string', default: '200' },
    'sse-clients': { type: 'string', default: '10' },
    'sse-rounds': { type: 'string', default: '50' },
    'steady-seconds': { type: 'string', default: '15' },
    restarts: { type: 'string', default: '3' },
    runtime: { type: 'string', default: 'compiled' },
    'cpu-prof': { type: 'boolean', default: false },
    'cpu-prof-dir': { type: 'string' },
    keep: { type: 'boolean', default: false },
  },
});

function intOption(name: string, text: string | undefined, min: number, max: number, fallback: number): number {
  const value = text === undefined ? fallback : Number(text);
  if (!(Number.isInteger(value) && value >= min && value <= max)) {
    console.error(`--${name} must be an integer from ${min} to ${max}`);
    process.exit(2);
  }
  return value;
}

const jobCount = intOption('jobs', values.jobs, 10, 2_000, 500);
const seededCount = intOption('seeded', values.seeded, 0, jobCount, Math.round(jobCount / 5));
const pausedCount = intOption('paused', values.paused, 1, jobCount - seededCount, Math.round(jobCount / 5));
const requestCount = intOption('requests', values.requests, 10, 5_000, 200);
const sseClientCount = intOption('sse-clients', values['sse-clients'], 1, 100, 10);
const sseRounds = intOption('sse-rounds', values['sse-rounds'], 1, 1_000, 50);
const steadySeconds = intOption('steady-seconds', values['steady-seconds'], 1, 120, 15);
const restartCount = intOption('restarts', values.restarts, 1, 10, 3);
if (values.runtime !== 'compiled' && values.runtime !== 'tsx') {
  console.error('--runtime must be compiled or tsx');
  process.exit(2);
}
const runtime: 'compiled' | 'tsx' = values.runtime;
const cpuProfDir = values['cpu-prof']
  ? path.resolve(values['cpu-prof-dir'] ?? path.join(tmpdir(), `chilly-many-torrents-profiles-${Date.now()}`))
  : undefined;

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const TOKEN = 'many-torrents-bench-token-0123456789abcdef';
const KiB = 1024;

/** The whole run; past it every child is killed and the bench fails. */
const BENCH_DEADLINE_MS = 12 * 60_000;
const READY_TIMEOUT_MS = 60_000;
const HEALTH_TIMEOUT_MS = 60_000;
const REQUEST_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 20_000;
/** The seeded jobs download three at a time (default slots): about a second each on loopback. */
const DOWNLOAD_TIMEOUT_MS = Math.min(240_000, 30_000 + seededCount * 2_000);
const SSE_WAIT_MS = 5_000;
/** After a restart, how long the server runs before its figures are read. */
const RESTART_SETTLE_MS = 3_000;

const GOALS = {
  lagP99Ms: 20,
  listP50Ms: 20,
  peakRssMiB: 300,
  startupMs: 2_000,
};

// ---- bookkeeping: children, deadline, logs --------------------------------------------------

const work = await tempDir('chilly-many-torrents-');
const children = new Set<ChildProcess>();
const logs: string[] = [];

function killChildren(): void {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
}

const deadline = setTimeout(() => {
  console.error(`\nThe bench ran past ${BENCH_DEADLINE_MS / 60_000} min: stopping.`);
  killChildren();
  rmSync(work.dir, { recursive: true, force: true });
  process.exit(1);
}, BENCH_DEADLINE_MS);
deadline.unref();

function log(text: string): void {
  process.stderr.write(`[${(performance.now() / 1000).toFixed(1)} s] ${text}\n`);
}

/** A child's stdout and stderr go to a file in the work folder (the server's request log is large). */
function openLog(name: string): number {
  const file = path.join(work.dir, `${name}.log`);
  logs.push(file);
  return openSync(file, 'a');
}

function tail(file: string, lines = 30): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

/** Milliseconds on CLOCK_MONOTONIC: the same clock as the server's (see many-torrents-server.ts). */
function monotonicMs(): number {
  return Number(process.hrtime.bigint() / 1000n) / 1000;
}

/** This environment without its Chilly or TMDB settings, nor loader options for node. */
function cleanEnvironment(): NodeJS.ProcessEnv {
  return Object.fromEntries(
    Object.entries(process.env).filter(
      ([name]) => !name.startsWith('CHILLY_') && !name.startsWith('TMDB_') && name !== 'NODE_OPTIONS',
    ),
  );
}

function environment(dataDir: string, port: number, torrentPort: number): NodeJS.ProcessEnv {
  return {
    ...cleanEnvironment(),
    MALLOC_ARENA_MAX: '2',
    CHILLY_DATA_DIR: dataDir,
    CHILLY_HOST: '127.0.0.1',
    CHILLY_PORT: String(port),
    CHILLY_TORRENT_PORT: String(torrentPort),
    CHILLY_TOKEN: TOKEN,
    CHILLY_NETWORK: 'loopback',
  };
}

// ---- the server process ---------------------------------------------------------------------

type Reply = Extract<ServerMessage, { type: 'reply' }>;
/** A request without its `seq` (added by `ask`), each variant kept apart. */
type WithoutSeq<T> = T extends unknown ? Omit<T, 'seq'> : never;
type RequestBody = WithoutSeq<ServerRequest>;

interface ServerProcess {
  child: ChildProcess;
  baseUrl: string;
  /** Monotonic ms when fork() was called. */
  spawnedAt: number;
  /** Server-side: process start → listening (process.uptime() when ready). */
  listeningAfterMs: number;
  ask(request: RequestBody): Promise<Reply>;
  /** SIGTERM, then the time until the process exited (SIGKILL after STOP_TIMEOUT_MS). */
  stop(): Promise<number>;
}

let serverEntry = path.join(repoRoot, 'bench', 'many-torrents-server.ts');
let serverRuns = 0;

async function startServerProcess(
  dataDir: string,
  ports: { port: number; torrentPort: number },
  options: { cpuProfName?: string } = {},
): Promise<ServerProcess> {
  serverRuns += 1;
  const logFd = openLog(`server-${serverRuns}`);
  const execArgv = [
    ...(runtime === 'tsx' ? ['--import', 'tsx'] : []),
    '--max-semi-space-size=1',
    ...(options.cpuProfName !== undefined && cpuProfDir !== undefined
      ? ['--cpu-prof', `--cpu-prof-dir=${cpuProfDir}`, `--cpu-prof-name=${options.cpuProfName}`]
      : []),
  ];
  const spawnedAt = monotonicMs();
  const child = fork(serverEntry, [], {
    cwd: repoRoot,
    execArgv,
    env: environment(dataDir, ports.port, ports.torrentPort),
    stdio: ['ignore', logFd, logFd, 'ipc'],
  });
  closeSync(logFd);
  children.add(child);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  void exited.then(() => children.delete(child));

  const pending = new Map<number, (reply: Reply) => void>();
  let seq = 0;
  const ready = new Promise<Extract<ServerMessage, { type: 'ready' }>>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the server was not ready in time')), READY_TIMEOUT_MS);
    child.on('message', (message: ServerMessage) => {
      if (message.type === 'ready') {
        clearTimeout(timer);
        resolve(message);
      } else pending.get(message.seq)?.(message);
    });
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`the server exited (${child.exitCode ?? child.signalCode}):\n${tail(logs.at(-1) ?? '')}`));
    });
  });
  const readyMessage = await ready.catch((error: unknown) => {
    child.kill('SIGKILL');
    throw error;
  });
  return {
    child,
    baseUrl: `http://127.0.0.1:${readyMessage.port}`,
    spawnedAt,
    listeningAfterMs: readyMessage.listeningAfterMs,
    ask(request) {
      seq += 1;
      const id = seq;
      return new Promise<Reply>((resolve, reject) => {
        const timer = setTimeout(() => {
          pending.delete(id);
          reject(new Error(`no answer to ${request.type}`));
        }, REQUEST_TIMEOUT_MS);
        pending.set(id, (reply) => {
          clearTimeout(timer);
          pending.delete(id);
          if (reply.error !== undefined) reject(new Error(`${request.type}: ${reply.error}`));
          else resolve(reply);
        });
        child.send({ ...request, seq: id } as ServerRequest);
      });
    },
    async stop() {
      const started = performance.now();
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const killer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
        await exited;
        clearTimeout(killer);
      }
      return performance.now() - started;
    },
  };
}

async function lagOf(server: ServerProcess, name: string): Promise<LagFigures> {
  const { lag } = await server.ask({ type: 'lag-read', name });
  if (lag === undefined) throw new Error('no lag figures');
  return lag;
}

async function memoryOf(server: ServerProcess): Promise<MemoryFigures> {
  const { memory } = await server.ask({ type: 'stats' });
  if (memory === undefined) throw new Error('no memory figures');
  return memory;
}

/** Monotonic ms of the first 200 from /health, polling every 10 ms. */
async function firstHealthy(baseUrl: string, child: ChildProcess, timeoutMs = HEALTH_TIMEOUT_MS): Promise<number> {
  const started = performance.now();
  while (performance.now() - started < timeoutMs) {
    if (child.exitCode !== null) throw new Error(`the server exited (${child.exitCode})`);
    try {
      const response = await fetch(`${baseUrl}/health`, { signal: AbortSignal.timeout(1_000) });
      await response.arrayBuffer();
      if (response.status === 200) return monotonicMs();
    } catch {
      // Not listening yet.
    }
    await sleep(10);
  }
  throw new Error(`no 200 from /health within ${timeoutMs} ms`);
}

// ---- HTTP client ----------------------------------------------------------------------------

const auth = { authorization: `Bearer ${TOKEN}` };

async function api(baseUrl: string, method: 'GET' | 'POST', route: string, body?: unknown): Promise<unknown> {
  const init: RequestInit = { method, headers: auth, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) };
  if (body instanceof Uint8Array) {
    init.headers = { ...auth, 'content-type': 'application/x-bittorrent' };
    init.body = body;
  } else if (body !== undefined) {
    init.headers = { ...auth, 'content-type': 'application/json' };
    init.body = JSON.stringify(body);
  }
  const response = await fetch(`${baseUrl}${route}`, init);
  const text = await response.text();
  if (response.status >= 300) throw new Error(`${method} ${route}: ${response.status} ${text.slice(0, 300)}`);
  return JSON.parse(text) as unknown;
}

interface JobSummary {
  id: string;
  status: string;
  seeding?: { active: boolean };
}

interface JobPage {
  jobs: JobSummary[];
  total: number;
}

/** Every job, 500 a page (bounded: 100 pages). */
async function listAll(baseUrl: string): Promise<JobSummary[]> {
  const jobs: JobSummary[] = [];
  for (let page = 0; page < 100; page += 1) {
    const result = (await api(baseUrl, 'GET', `/downloads?limit=500&offset=${jobs.length}`)) as JobPage;
    jobs.push(...result.jobs);
    if (result.jobs.length === 0 || jobs.length >= result.total) break;
  }
  return jobs;
}

function describeMix(jobs: JobSummary[]): { text: string; counts: Map<string, number> } {
  const counts = new Map<string, number>();
  for (const job of jobs) {
    const key = job.status === 'completed' ? (job.seeding?.active === true ? 'seeding' : 'completed') : job.status;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  const text = [...counts.entries()]
    .sort((a, b) => b[1] - a[1])
    .map(([status, count]) => `${count} ${status}`)
    .join(', ');
  return { text: `${jobs.length} jobs: ${text}`, counts };
}

// ---- figures --------------------------------------------------------------------------------

interface Spread {
  p50: number;
  p99: number;
  max: number;
  count: number;
}

function spread(times: readonly number[]): Spread {
  const sorted = [...times].sort((a, b) => a - b);
  const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
  return { p50: at(0.5), p99: at(0.99), max: sorted.at(-1) ?? Number.NaN, count: sorted.length };
}

function median(list: readonly number[]): number {
  return spread(list).p50;
}

/** `count` sequential GETs of `route` (body read whole), after 20 unmeasured ones. */
async function timeGets(baseUrl: string, route: string, count: number, expectJobs: number): Promise<Spread> {
  const times: number[] = [];
  for (let index = 0; index < count + 20; index += 1) {
    const started = performance.now();
    const response = await fetch(`${baseUrl}${route}`, {
      headers: auth,
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
    const body = await response.text();
    const elapsed = performance.now() - started;
    if (response.status !== 200) throw new Error(`GET ${route}: ${response.status} ${body.slice(0, 300)}`);
    if (index === 0) {
      const listed = (JSON.parse(body) as JobPage).jobs.length;
      if (listed !== expectJobs) throw new Error(`GET ${route} listed ${listed} jobs, expected ${expectJobs}`);
    }
    // The first 20 warm up (JIT, statement caches) and are not counted.
    if (index >= 20) times.push(elapsed);
  }
  return spread(times);
}

// ---- SSE clients ----------------------------------------------------------------------------

interface SseClient {
  /** Event id → monotonic ms received, while recording. */
  received: Map<number, number>;
  recording: boolean;
  /** The job whose next event is awaited, and when the first one came. */
  watch: { needle: string; at: number | undefined } | undefined;
  bytes: number;
  close(): void;
}

function openSseClient(port: number): Promise<SseClient> {
  return new Promise((resolve, reject) => {
    const client: SseClient = {
      received: new Map(),
      recording: false,
      watch: undefined,
      bytes: 0,
      close: () => request.destroy(),
    };
    const parser = createParser({
      onEvent(message) {
        const now = monotonicMs();
        if (message.event !== undefined || message.id === undefined) return;
        if (client.recording) client.received.set(Number(message.id), now);
        const watch = client.watch;
        if (watch !== undefined && watch.at === undefined && message.data.includes(watch.needle)) watch.at = now;
      },
    });
    const request = http.get({
      host: '127.0.0.1',
      port,
      path: '/events',
      agent: false,
      headers: { ...auth, accept: 'text/event-stream' },
    });
    request.setTimeout(10_000, () => request.destroy(new Error('SSE request timed out')));
    request.once('error', reject);
    request.once('response', (response) => {
      request.setTimeout(0);
      // Errors once connected (the bench closing the stream) are expected.
      request.removeListener('error', reject);
      request.on('error', () => undefined);
      if (response.statusCode !== 200) {
        response.resume();
        reject(new Error(`GET /events: ${response.statusCode}`));
        return;
      }
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        client.bytes += chunk.length;
        parser.feed(chunk);
      });
      resolve(client);
    });
  });
}

// ---- preparation: build, swarm, content -----------------------------------------------------

async function compileServer(outDir: string): Promise<string> {
  const { build } = await import('esbuild');
  const sources = (await readdir(path.join(repoRoot, 'src'), { recursive: true }))
    .filter((file) => file.endsWith('.ts') && !file.endsWith('.d.ts'))
    .map((file) => path.join(repoRoot, 'src', file));
  await build({
    entryPoints: [...sources, path.join(repoRoot, 'bench', 'many-torrents-server.ts')],
    outdir: outDir,
    outbase: repoRoot,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    bundle: false,
    logLevel: 'error',
  });
  await writeFile(path.join(outDir, 'package.json'), JSON.stringify({ type: 'module' }));
  // Bare imports resolve through this link to the repository's (patched) packages.
  await symlink(path.join(repoRoot, 'node_modules'), path.join(outDir, 'node_modules'), 'dir');
  await symlink(path.join(repoRoot, 'contracts'), path.join(outDir, 'contracts'), 'dir');
  // As `npm run build` does: the contract as JSON beside contract.js, which then skips the YAML.
  const contract = parseYaml(await readFile(path.join(repoRoot, 'contracts', 'openapi.downloads.yaml'), 'utf8'));
  await writeFile(path.join(outDir, 'src', 'api', 'openapi.downloads.json'), JSON.stringify(contract));
  return path.join(outDir, 'bench', 'many-torrents-server.js');
}

interface Swarm {
  child: ChildProcess;
  announceUrl: string;
  seed(items: SeedItem[]): Promise<number>;
  stop(): Promise<void>;
}

async function startSwarm(): Promise<Swarm> {
  const logFd = openLog('swarm');
  const child = fork(path.join(repoRoot, 'bench', 'many-torrents-seeder.ts'), [], {
    cwd: repoRoot,
    execArgv: ['--import', 'tsx'],
    env: cleanEnvironment(),
    stdio: ['ignore', logFd, logFd, 'ipc'],
  });
  closeSync(logFd);
  children.add(child);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  void exited.then(() => children.delete(child));
  const next = (type: SeederMessage['type'], timeoutMs: number): Promise<SeederMessage> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the seeder did not send '${type}' in time`)), timeoutMs);
      const onMessage = (message: SeederMessage) => {
        if (message.type !== type && message.type !== 'failed') return;
        clearTimeout(timer);
        child.off('message', onMessage);
        if (message.type === 'failed') reject(new Error(`seeder: ${message.error}`));
        else resolve(message);
      };
      child.on('message', onMessage);
      void exited.then(() => reject(new Error(`the seeder exited:\n${tail(path.join(work.dir, 'swarm.log'))}`)));
    });
  const tracker = await next('tracker', 60_000);
  if (tracker.type !== 'tracker') throw new Error('unexpected seeder message');
  return {
    child,
    announceUrl: tracker.announceUrl,
    async seed(items) {
      const answer = next('seeding', 120_000);
      child.send({ type: 'seed', items } satisfies SeederRequest);
      const message = await answer;
      return message.type === 'seeding' ? message.count : 0;
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.send({ type: 'stop' } satisfies SeederRequest);
      const killer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
      await exited;
      clearTimeout(killer);
    },
  };
}

interface BenchTorrent {
  id: string;
  name: string;
  torrent: Buffer;
  torrentPath: string;
}

/** `count` single-file torrents of 64–256 KiB of deterministic content, announcing to the loopback tracker only. */
async function makeTorrents(count: number, announceUrl: string, contentDir: string): Promise<BenchTorrent[]> {
  const torrentDir = path.join(work.dir, 'torrents');
  await mkdir(torrentDir, { recursive: true });
  const torrents: BenchTorrent[] = [];
  for (let index = 0; index < count; index += 1) {
    const number = String(index).padStart(4, '0');
    const name = `Film.${number}.2024.1080p.mkv`;
    const size = (64 + ((index * 37) % 193)) * KiB;
    const file = path.join(contentDir, name);
    await writeDeterministicFile(file, size, `many-torrents/${number}`);
    const torrent = await makeTorrent(file, name, announceUrl);
    const torrentPath = path.join(torrentDir, `${number}.torrent`);
    await writeFile(torrentPath, torrent);
    torrents.push({ id: `film-${number}`, name, torrent, torrentPath });
  }
  return torrents;
}

// ---- the run --------------------------------------------------------------------------------

interface Row {
  figure: string;
  measured: string;
  goal: string;
  met: string;
}

const rows: Row[] = [];
const extra: Row[] = [];
/** A figure the issue asks for without a number to meet. */
const NO_GOAL = { limit: Number.POSITIVE_INFINITY, text: '—' };

function row(list: Row[], figure: string, value: number, unit: string, goal?: { limit: number; text: string }): void {
  const digits = unit === 'ms' && value < 100 ? 1 : 0;
  list.push({
    figure,
    measured: Number.isFinite(value) ? `${value.toFixed(digits)} ${unit}` : 'n/a',
    goal: goal?.text ?? '',
    met: goal === undefined || goal === NO_GOAL ? '' : value <= goal.limit ? 'yes' : 'NO',
  });
}

/** Whether ffprobe runs here: the server then probes every completed video for subtitle tracks once. */
function ffprobeVersion(): string {
  try {
    const out = execFileSync('ffprobe', ['-hide_banner', '-version'], { encoding: 'utf8', timeout: 10_000 });
    return out.split('\n')[0]?.trim() ?? 'ffprobe';
  } catch {
    return 'not installed';
  }
}

function printTable(title: string, list: Row[]): void {
  const headers = ['figure', 'measured', 'goal', 'met?'];
  const cells = list.map((entry) => [entry.figure, entry.measured, entry.goal, entry.met]);
  const widths = headers.map((header, column) =>
    Math.max(header.length, ...cells.map((line) => line[column]?.length ?? 0)),
  );
  const format = (line: string[]) => `| ${line.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join(' | ')} |`;
  console.log(`\n${title}\n`);
  console.log(format(headers));
  console.log(`|${widths.map((width) => '-'.repeat(width + 2)).join('|')}|`);
  for (const line of cells) console.log(format(line));
}

const servers: ServerProcess[] = [];
let swarm: Swarm | undefined;
let exitCode = 0;
const profileNotes: string[] = [];

try {
  const started = performance.now();
  if (cpuProfDir !== undefined) await mkdir(cpuProfDir, { recursive: true });
  if (runtime === 'compiled') {
    log('compiling the server (esbuild, src/ + bench/many-torrents-server.ts) into the temp folder…');
    serverEntry = await compileServer(path.join(work.dir, 'build'));
  }
  const ports = { port: await freeLoopbackPort(), torrentPort: await freeLoopbackPort() };
  const dataDir = path.join(work.dir, 'data');

  // An empty database first: the baseline start-up, and it warms the page cache with the code.
  log('start-up with an empty database (baseline)…');
  const emptyStarts: number[] = [];
  for (let round = 0; round < 2; round += 1) {
    const empty = await startServerProcess(path.join(work.dir, `empty-${round}`), ports);
    emptyStarts.push((await firstHealthy(empty.baseUrl, empty.child)) - empty.spawnedAt);
    await empty.stop();
  }

  log('starting the loopback tracker and seeder…');
  swarm = await startSwarm();
  const contentDir = path.join(work.dir, 'content');
  log(`making ${jobCount} torrents (64–256 KiB each)…`);
  const torrents = await makeTorrents(jobCount, swarm.announceUrl, contentDir);
  const seeded = torrents.slice(0, seededCount);
  const pausedJobs = torrents.slice(jobCount - pausedCount);
  log(`seeding ${seeded.length} of them…`);
  await swarm.seed(seeded.map((torrent) => ({ torrentPath: torrent.torrentPath, dataDir: contentDir })));

  // ---- first run: fill, then measure ----------------------------------------------------------
  log('starting the server…');
  const server = await startServerProcess(dataDir, ports);
  servers.push(server);
  await firstHealthy(server.baseUrl, server.child);
  await server.ask({ type: 'lag-start', name: 'filling' });

  log(`adding ${jobCount} jobs (POST /download/upload, .torrent bytes), the seeded ones first…`);
  const addTimes: number[] = [];
  const addStarted = performance.now();
  for (const torrent of torrents) {
    const before = performance.now();
    await api(server.baseUrl, 'POST', `/download/upload?id=${torrent.id}`, new Uint8Array(torrent.torrent));
    addTimes.push(performance.now() - before);
  }
  for (const torrent of pausedJobs) await api(server.baseUrl, 'POST', '/download/pause', { id: torrent.id });
  const addMs = performance.now() - addStarted;

  log(`waiting for the ${seededCount} seeded jobs to download (at most ${DOWNLOAD_TIMEOUT_MS / 1000} s)…`);
  const downloadStarted = performance.now();
  let completed = 0;
  await waitUntil(
    async () => {
      const page = (await api(server.baseUrl, 'GET', '/downloads?status=completed&limit=1')) as JobPage;
      completed = page.total;
      return completed >= seededCount;
    },
    { timeoutMs: DOWNLOAD_TIMEOUT_MS, intervalMs: 500, what: 'the seeded jobs to complete' },
  ).catch(() => log(`only ${completed} of ${seededCount} completed in time; measuring anyway`));
  const downloadMs = performance.now() - downloadStarted;
  const fillingLag = await lagOf(server, 'filling');

  const mix = describeMix(await listAll(server.baseUrl));
  log(`mix: ${mix.text}`);
  if (mix.counts.size === 0) throw new Error('no jobs listed');

  // ---- steady: the jobs held, nothing asked ---------------------------------------------------
  await server.ask({ type: 'lag-start', name: 'measured' });
  await server.ask({ type: 'lag-start', name: 'steady' });
  const profileFile = cpuProfDir === undefined ? undefined : path.join(cpuProfDir, 'many-torrents-measured.cpuprofile');
  if (profileFile !== undefined) await server.ask({ type: 'profile-start' });
  log(`steady for ${steadySeconds} s…`);
  await sleep(steadySeconds * 1000);
  const steadyLag = await lagOf(server, 'steady');

  // ---- GET /downloads -------------------------------------------------------------------------
  log(`GET /downloads × ${requestCount}, default page and ?limit=500…`);
  await server.ask({ type: 'lag-start', name: 'list' });
  const listDefault = await timeGets(server.baseUrl, '/downloads', requestCount, Math.min(50, jobCount));
  const listFull = await timeGets(server.baseUrl, '/downloads?limit=500', requestCount, Math.min(500, jobCount));
  const listLag = await lagOf(server, 'list');

  // ---- SSE fan-out ----------------------------------------------------------------------------
  log(`SSE: ${sseClientCount} clients on GET /events, a job paused and resumed ${sseRounds} times…`);
  const port = Number(new URL(server.baseUrl).port);
  const clients: SseClient[] = [];
  for (let index = 0; index < sseClientCount; index += 1) clients.push(await openSseClient(port));
  await sleep(500);
  await server.ask({ type: 'lag-start', name: 'sse' });
  // Clients first, the server last (and the other way round at the end): every event the server
  // records is one the clients were recording for.
  for (const client of clients) client.recording = true;
  await server.ask({ type: 'events-record' });
  const sseStarted = monotonicMs();
  const triggerTimes: number[] = [];
  const watched = pausedJobs[0];
  if (watched === undefined) throw new Error('no paused job to drive');
  let missedTriggers = 0;
  for (let round = 0; round < sseRounds; round += 1) {
    for (const action of ['resume', 'pause'] as const) {
      for (const client of clients) client.watch = { needle: `"id":"${watched.id}"`, at: undefined };
      const sent = monotonicMs();
      await api(server.baseUrl, 'POST', `/download/${action}`, { id: watched.id });
      const allHave = () => clients.every((client) => client.watch?.at !== undefined);
      await waitUntil(allHave, { timeoutMs: SSE_WAIT_MS, intervalMs: 2, what: 'the event at every client' }).catch(
        () => {
          missedTriggers += 1;
        },
      );
      if (allHave()) triggerTimes.push(Math.max(...clients.map((client) => client.watch?.at ?? 0)) - sent);
      await sleep(20);
    }
  }
  const { events: published = [] } = await server.ask({ type: 'events-read' });
  const sseSeconds = (monotonicMs() - sseStarted) / 1000;
  // Stragglers of the last events.
  await sleep(1_000);
  for (const client of clients) client.recording = false;
  const sseLag = await lagOf(server, 'sse');
  const sseBytes = clients.reduce((sum, client) => sum + client.bytes, 0);
  for (const client of clients) client.close();
  const fanOut: number[] = [];
  let notEverywhere = 0;
  for (const [id, , , at] of published as PublishedEvent[]) {
    const times = clients.map((client) => client.received.get(id));
    if (times.some((time) => time === undefined)) notEverywhere += 1;
    else fanOut.push(Math.max(...(times as number[])) - at);
  }
  const fan = spread(fanOut);
  const triggers = spread(triggerTimes);
  const eventTypes = new Map<string, number>();
  for (const [, type] of published) eventTypes.set(type, (eventTypes.get(type) ?? 0) + 1);

  const measuredLag = await lagOf(server, 'measured');
  if (profileFile !== undefined) {
    await server.ask({ type: 'profile-stop', file: profileFile });
    profileNotes.push(`measured phases (steady, list, SSE), node:inspector: ${profileFile}`);
  }
  const firstMemory = await memoryOf(server);
  const firstLifeLag = await lagOf(server, 'process');
  log('SIGTERM…');
  const closeMs = await server.stop();

  // ---- restarts -------------------------------------------------------------------------------
  const startups: number[] = [];
  const listeningAfter: number[] = [];
  const allListed: number[] = [];
  const restartLags: LagFigures[] = [];
  const restartRss: number[] = [];
  let restartMix = '';
  for (let round = 0; round < restartCount; round += 1) {
    log(`restart ${round + 1}/${restartCount} with ${jobCount} jobs in the database…`);
    const profileName = round === 0 && cpuProfDir !== undefined ? 'many-torrents-restart.cpuprofile' : undefined;
    const again = await startServerProcess(
      dataDir,
      ports,
      profileName === undefined ? {} : { cpuProfName: profileName },
    );
    servers.push(again);
    const healthy = await firstHealthy(again.baseUrl, again.child);
    startups.push(healthy - again.spawnedAt);
    listeningAfter.push(again.listeningAfterMs);
    let listed: JobSummary[] = [];
    await waitUntil(
      async () => {
        listed = await listAll(again.baseUrl);
        return listed.length >= jobCount;
      },
      { timeoutMs: HEALTH_TIMEOUT_MS, intervalMs: 10, what: 'every job listed' },
    );
    allListed.push(monotonicMs() - again.spawnedAt);
    await sleep(RESTART_SETTLE_MS);
    restartMix = describeMix(await listAll(again.baseUrl)).text;
    restartLags.push(await lagOf(again, 'process'));
    restartRss.push((await memoryOf(again)).maxRssMiB);
    await again.stop();
    if (profileName !== undefined && cpuProfDir !== undefined) {
      profileNotes.push(
        `restart ${round + 1}, process start → SIGTERM, node --cpu-prof: ${path.join(cpuProfDir, profileName)}`,
      );
    }
  }

  // ---- report ---------------------------------------------------------------------------------
  const peakRss = Math.max(firstMemory.maxRssMiB, ...restartRss);
  row(rows, `event-loop lag p99 (steady + list + SSE, ${jobCount} jobs)`, measuredLag.p99, 'ms', {
    limit: GOALS.lagP99Ms,
    text: `≤ ${GOALS.lagP99Ms} ms`,
  });
  row(rows, `GET /downloads p50 (default page, ${Math.min(50, jobCount)} jobs)`, listDefault.p50, 'ms', {
    limit: GOALS.listP50Ms,
    text: `≤ ${GOALS.listP50Ms} ms`,
  });
  row(rows, `GET /downloads?limit=500 p50 (${Math.min(500, jobCount)} jobs)`, listFull.p50, 'ms', {
    limit: GOALS.listP50Ms,
    text: `≤ ${GOALS.listP50Ms} ms`,
  });
  row(rows, `SSE fan-out to ${sseClientCount} clients p50 (publish → all have it)`, fan.p50, 'ms', NO_GOAL);
  row(rows, `SSE fan-out to ${sseClientCount} clients p99`, fan.p99, 'ms', NO_GOAL);
  row(rows, 'peak RSS of the server (max over all runs)', peakRss, 'MiB', {
    limit: GOALS.peakRssMiB,
    text: `≤ ${GOALS.peakRssMiB} MiB`,
  });
  row(
    rows,
    `start-up, ${jobCount} jobs: process start → 200 /health (median of ${restartCount})`,
    median(startups),
    'ms',
    {
      limit: GOALS.startupMs,
      text: `≤ ${GOALS.startupMs / 1000} s`,
    },
  );

  row(extra, 'event-loop lag p50 (steady + list + SSE)', measuredLag.p50, 'ms');
  row(extra, 'event-loop lag max (steady + list + SSE)', measuredLag.max, 'ms');
  row(extra, `event-loop lag p99, steady (${steadySeconds} s, nothing asked)`, steadyLag.p99, 'ms');
  row(extra, 'event-loop lag p99, during GET /downloads', listLag.p99, 'ms');
  row(extra, 'event-loop lag p99, during SSE', sseLag.p99, 'ms');
  row(extra, 'event-loop lag p99, filling (adding + downloads)', fillingLag.p99, 'ms');
  row(extra, 'event-loop lag max, filling', fillingLag.max, 'ms');
  row(extra, 'event-loop lag p99, whole first run (from process start)', firstLifeLag.p99, 'ms');
  row(
    extra,
    `event-loop lag p99, restart (start → ${RESTART_SETTLE_MS / 1000} s after all listed, worst)`,
    Math.max(...restartLags.map((lag) => lag.p99)),
    'ms',
  );
  row(extra, 'GET /downloads p99 (default page)', listDefault.p99, 'ms');
  row(extra, 'GET /downloads?limit=500 p99', listFull.p99, 'ms');
  row(extra, `SSE fan-out max (${fan.count} events, ${(fan.count / sseSeconds).toFixed(0)}/s)`, fan.max, 'ms');
  row(extra, `SSE pause/resume request sent → all ${sseClientCount} have the event, p50`, triggers.p50, 'ms');
  row(extra, `SSE pause/resume request sent → all ${sseClientCount} have the event, p99`, triggers.p99, 'ms');
  row(extra, `SSE received by the ${sseClientCount} clients together`, sseBytes / sseSeconds / 2 ** 20, 'MiB/s');
  row(extra, 'peak RSS, first run (fill + measure)', firstMemory.maxRssMiB, 'MiB');
  row(extra, 'peak RSS, restarts (worst)', Math.max(...restartRss), 'MiB');
  row(extra, 'RSS at the end of the first run', firstMemory.rssMiB, 'MiB');
  row(extra, 'start-up, empty database: process start → 200 /health (median of 2)', median(emptyStarts), 'ms');
  row(extra, `start-up, ${jobCount} jobs: worst of ${restartCount}`, Math.max(...startups), 'ms');
  row(extra, `start-up, ${jobCount} jobs: process start → listening (server side)`, median(listeningAfter), 'ms');
  row(extra, `start-up, ${jobCount} jobs: process start → all ${jobCount} listed`, median(allListed), 'ms');
  row(extra, 'SIGTERM → exit, first run', closeMs, 'ms');
  row(extra, 'adding one job (POST /download/upload) p50', spread(addTimes).p50, 'ms');
  row(extra, `adding all ${jobCount} (+ pausing ${pausedCount})`, addMs / 1000, 's');
  row(extra, `${seededCount} seeded jobs downloaded (after the adds)`, downloadMs / 1000, 's');

  console.log(
    `\nOne Chilly server, ${jobCount} loopback torrents of 64–256 KiB (Node ${process.versions.node}, ` +
      `${runtime === 'compiled' ? 'sources compiled by esbuild' : 'tsx'}, MALLOC_ARENA_MAX=2 --max-semi-space-size=1).`,
  );
  console.log(`ffprobe (completed videos are probed for subtitle tracks): ${ffprobeVersion()}.`);
  console.log(`Mix while measured: ${mix.text}.`);
  console.log(`Mix after the last restart: ${restartMix}.`);
  console.log(
    `SSE window: ${published.length} events published in ${sseSeconds.toFixed(1)} s ` +
      `(${[...eventTypes.entries()].map(([type, count]) => `${count} ${type}`).join(', ')}); ` +
      `${notEverywhere} not received by every client, ${missedTriggers} triggers not seen everywhere within ${SSE_WAIT_MS / 1000} s.`,
  );
  printTable('Goals', rows);
  printTable('Also measured', extra);
  if (cpuProfDir !== undefined) {
    for (const note of profileNotes) {
      const file = note.slice(note.lastIndexOf(': ') + 2);
      console.log(`\nCPU profile, ${note}\n`);
      console.log(summariseProfile(JSON.parse(readFileSync(file, 'utf8')) as CpuProfile, 15));
    }
  }
  console.log(`\nTotal bench time ${((performance.now() - started) / 1000).toFixed(0)} s.`);
} catch (error) {
  exitCode = 1;
  console.error(error);
  for (const file of logs.slice(-2)) console.error(`\n--- ${path.basename(file)} (tail) ---\n${tail(file)}`);
} finally {
  for (const server of servers) await server.stop().catch(() => undefined);
  await swarm?.stop().catch(() => undefined);
  killChildren();
  if (values.keep) console.error(`\nKept ${work.dir} (the servers' logs and data, the torrents).`);
  else await work.cleanup();
  clearTimeout(deadline);
}
process.exit(exitCode);
