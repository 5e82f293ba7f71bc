/**
 * The server side of bench/many-torrents.ts: `chilly serve` as src/cli/commands/serve.ts runs it
 * (startServer with the configuration from the environment, request log on stdout), plus what the
 * bench needs to look inside, over the IPC channel of `child_process.fork`:
 *  - event-loop delay histograms (`perf_hooks.monitorEventLoopDelay`, 10 ms resolution), one per
 *    named phase, started and read on request;
 *  - peak RSS (`process.resourceUsage().maxRSS`) and current memory;
 *  - when each job event was published (CLOCK_MONOTONIC, comparable across processes), to time
 *    the SSE fan-out;
 *  - a CPU profile of a phase (node:inspector), written where the bench asks.
 * It stops on SIGTERM (like `chilly serve`) or when the bench goes away, then exits.
 *
 * Started by bench/many-torrents.ts only (through tsx, or compiled with the sources).
 */
import { writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import { type IntervalHistogram, monitorEventLoopDelay } from 'node:perf_hooks';
import { type RunningServer, startServer } from '../src/app.js';
import { loadConfig } from '../src/config/resolve-config.js';

/** What the bench asks; every request carries `seq`, echoed in the reply. */
export type ServerRequest = { seq: number } & (
  | { type: 'lag-start'; name: string }
  | { type: 'lag-read'; name: string }
  | { type: 'stats' }
  | { type: 'events-record' }
  | { type: 'events-read' }
  | { type: 'profile-start' }
  | { type: 'profile-stop'; file: string }
);

export interface LagFigures {
  /** Loop delay beyond the 10 ms timer, in ms (a histogram value minus the resolution). */
  p50: number;
  p99: number;
  max: number;
  mean: number;
  samples: number;
}

export interface MemoryFigures {
  rssMiB: number;
  maxRssMiB: number;
  heapUsedMiB: number;
}

/** [event id, type, job id, published at (monotonic ms)] */
export type PublishedEvent = [number, string, string, number];

export type ServerMessage =
  | { type: 'ready'; port: number; listeningAfterMs: number }
  | { type: 'reply'; seq: number; lag?: LagFigures; memory?: MemoryFigures; events?: PublishedEvent[]; error?: string };

const LAG_RESOLUTION_MS = 10;
const MAX_HISTOGRAMS = 32;
const MAX_RECORDED_EVENTS = 200_000;
/** A stuck close must not keep the process alive (serve.ts gives 15 s). */
const CLOSE_DEADLINE_MS = 15_000;

if (process.send === undefined) {
  console.error('started by bench/many-torrents.ts only');
  process.exit(2);
}

/** To the bench; dropped once it is gone (the callback keeps a closed channel from throwing). */
function send(message: ServerMessage): void {
  if (process.connected) process.send?.(message, undefined, {}, () => undefined);
}

/** Milliseconds on CLOCK_MONOTONIC: the same clock in every process on this machine. */
function monotonicMs(): number {
  return Number(process.hrtime.bigint() / 1000n) / 1000;
}

const histograms = new Map<string, IntervalHistogram>();
function startLag(name: string): void {
  histograms.get(name)?.disable();
  if (!histograms.has(name) && histograms.size >= MAX_HISTOGRAMS) throw new Error('too many histograms');
  const histogram = monitorEventLoopDelay({ resolution: LAG_RESOLUTION_MS });
  histogram.enable();
  histograms.set(name, histogram);
}
// From the first line that runs, so the start-up phase has one too.
startLag('process');

function readLag(name: string): LagFigures {
  const histogram = histograms.get(name);
  if (histogram === undefined) throw new Error(`no histogram ${name}`);
  const ms = (ns: number): number => Math.max(0, ns / 1e6 - LAG_RESOLUTION_MS);
  return {
    p50: ms(histogram.percentile(50)),
    p99: ms(histogram.percentile(99)),
    max: ms(histogram.max),
    mean: ms(histogram.mean),
    samples: histogram.count,
  };
}

function memory(): MemoryFigures {
  const usage = process.memoryUsage();
  return {
    rssMiB: usage.rss / 2 ** 20,
    // maxRSS is in KiB.
    maxRssMiB: process.resourceUsage().maxRSS / 1024,
    heapUsedMiB: usage.heapUsed / 2 ** 20,
  };
}

let running: RunningServer | undefined;
let stopping: Promise<void> | undefined;
// Before the start, so that a bench gone during it does not leave this process behind.
process.once('SIGTERM', () => void stop());
process.once('SIGINT', () => void stop());
process.once('disconnect', () => void stop());

const config = loadConfig(process.env, { host: '127.0.0.1' });
const server = await startServer({
  config,
  onWarning: (message, cause) =>
    process.stderr.write(`warning: ${message}${cause instanceof Error ? ` ${cause.message}` : ''}\n`),
});
running = server;

let recorded: PublishedEvent[] | undefined;
server.service.subscribe((event) => {
  if (recorded !== undefined && recorded.length < MAX_RECORDED_EVENTS) {
    recorded.push([event.id, event.type, event.job.id, monotonicMs()]);
  }
});

let profiler: Session | undefined;

async function handle(
  request: ServerRequest,
): Promise<Omit<Extract<ServerMessage, { type: 'reply' }>, 'type' | 'seq'>> {
  switch (request.type) {
    case 'lag-start':
      startLag(request.name);
      return {};
    case 'lag-read':
      return { lag: readLag(request.name) };
    case 'stats':
      return { memory: memory() };
    case 'events-record':
      recorded = [];
      return {};
    case 'events-read': {
      const events = recorded ?? [];
      recorded = undefined;
      return { events };
    }
    case 'profile-start':
      profiler = new Session();
      profiler.connect();
      await profiler.post('Profiler.enable');
      await profiler.post('Profiler.start');
      return {};
    case 'profile-stop': {
      if (profiler === undefined) throw new Error('no profile running');
      const { profile } = await profiler.post('Profiler.stop');
      profiler.disconnect();
      profiler = undefined;
      await writeFile(request.file, JSON.stringify(profile));
      return {};
    }
  }
}

/** Closes the server as `chilly serve` does on SIGTERM, then exits; before the server is up, exits at once. */
function stop(): Promise<void> {
  if (running === undefined) process.exit(0);
  const server = running;
  stopping ??= (async () => {
    const deadline = setTimeout(() => {
      process.stderr.write(`close took longer than ${CLOSE_DEADLINE_MS} ms; exiting\n`);
      process.exit(1);
    }, CLOSE_DEADLINE_MS);
    try {
      await server.close();
    } catch (error) {
      process.stderr.write(`close failed: ${String(error)}\n`);
    } finally {
      clearTimeout(deadline);
      // process.exit, not a natural end: --cpu-prof writes its profile either way, and nothing left
      // behind (a keep-alive socket, a timer) can keep this process running after the bench.
      process.exit(0);
    }
  })();
  return stopping;
}

process.on('message', (message: ServerRequest) => {
  handle(message)
    .then((reply) => send({ type: 'reply', seq: message.seq, ...reply }))
    .catch((error: unknown) => send({ type: 'reply', seq: message.seq, error: String(error) }));
});

const address = server.app.server.address();
if (address === null || typeof address === 'string') throw new Error('no TCP address');
send({ type: 'ready', port: address.port, listeningAfterMs: process.uptime() * 1000 });
