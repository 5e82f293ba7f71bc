/**
 * Our client as a benchmark peer, in a process of its own (bench/perf/run.ts bundles this file
 * with esbuild and runs it with plain node, so no TypeScript loader sits in the measured process).
 *
 *   node webtorrent-peer.mjs leech --engine downloader|plain --torrent F --out DIR
 *   node webtorrent-peer.mjs seed  --engine downloader|plain --torrent F --root DIR --port P
 *
 * `downloader` is the product's WebTorrentDownloader with network 'loopback'; `plain` is a bare
 * WebTorrent 2.8 client with LOOPBACK_CLIENT_OPTIONS. Data lives in `<out|root>/perf/<paths>`.
 * `--torrent-opts JSON` is merged into every `client.add()` (also the downloader's, through a
 * wrapper around WebTorrent.prototype.add), `--client-opts JSON` into the plain client's options:
 * that is how engine settings are tried without touching src/.
 *
 * `--report-prefix N` (leech) also prints `first-byte` (the first block a wire received: its
 * `download` event) and `prefix` (every piece holding bytes 0..N-1 has passed its SHA-1 check, from
 * the engine's `verified` events), and puts the bytes received (`received`, failed pieces and
 * duplicates included) in `complete`. `--stream-from-start` (downloader engine) also reads like a
 * player starting the film: the product's range waiter on file 0 (its default read-ahead), waiting
 * for bytes 0..N-1 (`stream-ready` when it resolves).
 *
 * Protocol: JSON lines on stdout (added, ready, complete, error); `quit` or end of stdin on stdin
 * ends the process cleanly (so `--cpu-prof` gets written).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import WebTorrent, { type Torrent, type TorrentAddOptions, type WebTorrentOptions, type Wire } from 'webtorrent';
import { MARKER_FILE } from '../../src/disk/media-root.js';
import { WebTorrentDownloader } from '../../src/downloaders/webtorrent/webtorrent-downloader.js';
import { LOOPBACK_CLIENT_OPTIONS } from '../../tests/helpers/loopback-swarm.js';

const JOB_ID = 'perf';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    engine: { type: 'string', default: 'downloader' },
    torrent: { type: 'string' },
    out: { type: 'string' },
    root: { type: 'string' },
    port: { type: 'string', default: '0' },
    'torrent-opts': { type: 'string', default: '{}' },
    'client-opts': { type: 'string', default: '{}' },
    'max-seconds': { type: 'string', default: '1800' },
    'report-prefix': { type: 'string', default: '0' },
    'stream-from-start': { type: 'boolean', default: false },
  },
});

function say(event: string, fields: Record<string, unknown> = {}): void {
  process.stdout.write(`${JSON.stringify({ event, t: performance.timeOrigin + performance.now(), ...fields })}\n`);
}

function fail(message: string): never {
  say('error', { message });
  process.exit(1);
}

const mode = positionals[0];
if (mode !== 'leech' && mode !== 'seed') fail('first argument: leech or seed');
const engine = values.engine;
if (engine !== 'downloader' && engine !== 'plain') fail('--engine downloader|plain');
if (values.torrent === undefined) fail('--torrent is required');
const folder = mode === 'leech' ? values.out : values.root;
if (folder === undefined) fail(mode === 'leech' ? '--out is required' : '--root is required');
const port = Number(values.port);
const torrentOpts = JSON.parse(values['torrent-opts']) as TorrentAddOptions;
const clientOpts = JSON.parse(values['client-opts']) as WebTorrentOptions;
const maxSeconds = Number(values['max-seconds']);
const reportPrefix = Number(values['report-prefix']);
if (!Number.isInteger(reportPrefix) || reportPrefix < 0) fail('--report-prefix N: bytes');
if (values['stream-from-start'] && (engine !== 'downloader' || mode !== 'leech' || reportPrefix === 0)) {
  fail('--stream-from-start needs leech, --engine downloader and --report-prefix N');
}
const torrentFile = await readFile(values.torrent);

let closing: (() => Promise<void>) | undefined;
async function quit(code: number): Promise<never> {
  const close = closing;
  closing = undefined;
  const backstop = setTimeout(() => process.exit(code), 5_000);
  backstop.unref();
  await close?.().catch(() => undefined);
  process.exit(code);
}
// The harness says `quit`; end of stdin means it is gone; a deadline bounds everything.
process.stdin.setEncoding('utf8');
process.stdin.on('data', (text: string) => {
  if (text.split('\n').some((line) => line.trim() === 'quit')) void quit(0);
});
process.stdin.on('end', () => void quit(0));
process.on('SIGTERM', () => void quit(0));
process.on('SIGINT', () => void quit(0));
setTimeout(() => void quit(2), maxSeconds * 1000).unref();

/** CPU seconds (user + sys) of the main thread and of all other threads (libuv pool, V8 GC helpers…). */
function threadCpu(): Record<string, number> {
  const split = { mainThread: 0, otherThreads: 0 };
  try {
    for (const tid of readdirSync('/proc/self/task')) {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const seconds = (Number(fields[11]) + Number(fields[12])) / 100; // clock ticks: 100 Hz on Linux
      if (Number(tid) === process.pid) split.mainThread += seconds;
      else split.otherThreads += seconds;
    }
  } catch {
    // not Linux
  }
  return {
    mainThread: Math.round(split.mainThread * 100) / 100,
    otherThreads: Math.round(split.otherThreads * 100) / 100,
  };
}

/** Minor page faults and context switches so far (kernel work that user+sys CPU hides). */
function kernelCounters(): Record<string, number> {
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const status = readFileSync('/proc/self/status', 'utf8');
    const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? Number.NaN);
    return {
      minorFaults: Number(fields[7]),
      voluntaryCtxtSwitches: field('voluntary_ctxt_switches'),
      involuntaryCtxtSwitches: field('nonvoluntary_ctxt_switches'),
    };
  } catch {
    return {};
  }
}

function memory(): Record<string, unknown> {
  const usage = process.memoryUsage();
  const cpu = process.cpuUsage();
  const mib = (bytes: number) => Math.round((bytes / 1024 / 1024) * 10) / 10;
  return {
    rssMiB: mib(usage.rss),
    heapUsedMiB: mib(usage.heapUsed),
    heapTotalMiB: mib(usage.heapTotal),
    externalMiB: mib(usage.external),
    arrayBuffersMiB: mib(usage.arrayBuffers),
    userSeconds: cpu.user / 1e6,
    systemSeconds: cpu.system / 1e6,
    threads: threadCpu(),
    ...kernelCounters(),
    atRssPeak: peak,
  };
}

// The memory picture at the moment RSS peaked (sampled every 100 ms): what the peak is made of.
let peak: Record<string, number> = { rssMiB: 0 };
setInterval(() => {
  const usage = process.memoryUsage();
  const mib = (bytes: number) => Math.round((bytes / 1024 / 1024) * 10) / 10;
  if (mib(usage.rss) > (peak.rssMiB ?? 0)) {
    peak = {
      rssMiB: mib(usage.rss),
      heapTotalMiB: mib(usage.heapTotal),
      heapUsedMiB: mib(usage.heapUsed),
      arrayBuffersMiB: mib(usage.arrayBuffers),
      externalMiB: mib(usage.external),
    };
  }
}, 100).unref();

/** Bytes as MiB with one decimal, for the memory trace's lines. */
const mibText = (bytes: number): string => (bytes / 1024 / 1024).toFixed(1);
// CHILLY_PERF_MEMORY_TRACE=1: one line a second on stderr (kept with --logs-dir), to see whether
// memory levels off or keeps growing during a download.
if (process.env.CHILLY_PERF_MEMORY_TRACE === '1') {
  const started = performance.now();
  setInterval(() => {
    const usage = process.memoryUsage();
    const anon = /RssAnon:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1];
    process.stderr.write(
      `memory t=${((performance.now() - started) / 1000).toFixed(0)}s rss=${mibText(usage.rss)} anon=${mibText(Number(anon ?? 0) * 1024)} ` +
        `heapTotal=${mibText(usage.heapTotal)} heapUsed=${mibText(usage.heapUsed)} external=${mibText(usage.external)} arrayBuffers=${mibText(usage.arrayBuffers)}` +
        `${pieceMemory()}\n`,
    );
  }, 1000).unref();
}

if (Object.keys(torrentOpts).length > 0) {
  // WebTorrentDownloader builds its own add() options; extra ones are merged in here.
  const add = WebTorrent.prototype.add;
  WebTorrent.prototype.add = function addWithBenchOptions(this: WebTorrent, id, opts, ontorrent) {
    return add.call(this, id, { ...opts, ...torrentOpts }, ontorrent);
  };
}

/** The torrent the engine was handed (the downloader's is private: caught in add()). */
let watched: Torrent | undefined;

const watchedReady = new Promise<Torrent>((resolve) => {
  if (mode !== 'leech' || reportPrefix === 0) return;
  const add = WebTorrent.prototype.add;
  WebTorrent.prototype.add = function addWatched(this: WebTorrent, id, opts, ontorrent) {
    const torrent = add.call(this, id, opts, ontorrent);
    watched = torrent;
    // The torrent's own 'download' counts every byte from a peer (handshakes too): a wire's is a block.
    let firstBlock = false;
    torrent.on('wire', (wire: Wire) => {
      wire.once('download', () => {
        if (firstBlock) return;
        firstBlock = true;
        say('first-byte');
      });
    });
    let reported = false;
    const check = (): void => {
      const bitfield = torrent.bitfield;
      if (reported || bitfield === undefined || bitfield === null || !(torrent.pieceLength > 0)) return;
      const pieces = Math.min(torrent.pieces.length, Math.ceil(reportPrefix / torrent.pieceLength));
      for (let index = 0; index < pieces; index++) if (!bitfield.get(index)) return;
      reported = true;
      torrent.off('verified', check);
      say('prefix', { bytes: reportPrefix });
    };
    torrent.on('verified', check);
    torrent.on('ready', () => {
      check();
      resolve(torrent);
    });
    return torrent;
  };
});
// The memory trace's piece figures need the torrent too (whatever --report-prefix says).
let traced: Torrent | undefined;
if (process.env.CHILLY_PERF_MEMORY_TRACE === '1') {
  const add = WebTorrent.prototype.add;
  WebTorrent.prototype.add = function addTraced(this: WebTorrent, id, opts, ontorrent) {
    traced = add.call(this, id, opts, ontorrent);
    return traced;
  };
}

/** The engine's piece memory, for the memory trace (CHILLY_PERF_MEMORY_TRACE): reused buffers, verified bytes waiting for the disk, pieces being assembled. */
function pieceMemory(): string {
  const torrent = traced as unknown as
    | {
        pieceLength: number;
        _pieceBuffers?: unknown[];
        _pendingWriteBytes?: number;
        pieces?: Array<{ _target: unknown; _buffered: number } | null>;
      }
    | undefined;
  if (torrent?.pieces === undefined) return '';
  let assembling = 0;
  for (const piece of torrent.pieces) if (piece && (piece._target !== null || piece._buffered > 0)) assembling++;
  return (
    ` pool=${torrent._pieceBuffers?.length ?? 0} pendingWrite=${mibText(torrent._pendingWriteBytes ?? 0)}` +
    ` assembling=${assembling} (pieces of ${mibText(torrent.pieceLength)} MiB)`
  );
}

/** Bytes the engine received (blocks of failed pieces and duplicates included). */
const received = (): Record<string, number> => (watched === undefined ? {} : { received: watched.received });

if (engine === 'downloader') {
  if (Object.keys(clientOpts).length > 0) fail('--client-opts needs --engine plain');
  const downloader = new WebTorrentDownloader({
    mediaRoot: folder,
    network: 'loopback',
    ...(mode === 'seed' ? { torrentPort: port } : {}),
  });
  closing = () => downloader.destroy();
  downloader.on('error', (error) => void fail(error.message));
  downloader.on('completed', () => {
    if (mode === 'leech') say('complete', { ...memory(), ...received() });
    else say('ready', { port: downloader.torrentPort, ...memory() });
  });
  say('added');
  // Seeding: the data is already in <root>/perf, as a job restarted on its folder finds it (a new
  // job never takes a folder that exists: it would get perf-2 and download from nobody), in a
  // media root marked as one that holds downloads (src/disk/media-root.ts).
  if (mode === 'seed') {
    await writeFile(path.join(folder, MARKER_FILE), '', { flag: 'wx' }).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'EEXIST') throw error;
    });
  }
  await downloader.start(
    { id: JOB_ID, sourceType: 'torrent', torrentFile },
    mode === 'seed' ? { savePath: path.join(folder, JOB_ID), hasData: true } : {},
  );
  if (values['stream-from-start']) {
    // A player opening the film: the product's range waiter, from byte 0.
    const torrent = await watchedReady;
    const length = torrent.files[0]?.length ?? 0;
    const waiter = downloader.openRangeWaiter(JOB_ID, 0);
    await waiter.waitFor(0, Math.min(reportPrefix, length) - 1, { timeoutMs: maxSeconds * 1000 });
    say('stream-ready', { bytes: reportPrefix });
  }
} else {
  const client = new WebTorrent({
    ...LOOPBACK_CLIENT_OPTIONS,
    ...(mode === 'seed' ? { torrentPort: port } : {}),
    ...clientOpts,
  });
  closing = () => new Promise<void>((resolve) => client.destroy(() => resolve()));
  client.on('error', (error) => fail(String(error)));
  say('added');
  const torrent: Torrent = client.add(torrentFile, {
    path: path.join(folder, JOB_ID),
    ...(mode === 'leech' ? { strategy: 'sequential' as const } : {}),
    ...torrentOpts,
  });
  torrent.on('error', (error) => fail(String(error)));
  torrent.on('warning', () => undefined);
  let reported = false;
  const onDone = (): void => {
    if (reported || !torrent.done) return;
    reported = true;
    if (mode === 'leech') say('complete', { ...memory(), ...received() });
    else say('ready', { port: client.address()?.port, ...memory() });
  };
  torrent.on('done', onDone);
  torrent.on('ready', onDone);
}
