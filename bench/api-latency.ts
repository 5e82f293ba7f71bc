/**
 * API latency with 1,000 stored jobs, 100 of them downloading on the mock engine (progress events
 * and throttled database writes run in the background, as in real use):
 *  - GET /download/status/:id at a fixed 1,000 req/s (autocannon `overallRate`), p50/p99;
 *  - GET /downloads?limit=500 (the largest page) at a fixed rate, and the time a client takes to
 *    list all 1,000 jobs (both pages, one after the other).
 * The server runs in a child process (bench/api-latency-server.ts); everything listens on
 * 127.0.0.1 and each phase has a fixed duration.
 *
 * autocannon paces per connection in one-second windows, so the status figures are given for one
 * connection and for ten (bursty).
 *
 * Latencies are taken per response from autocannon's `response` events (fractional ms): its own
 * histogram keeps whole milliseconds only.
 *
 *   npx tsx bench/api-latency.ts [--seconds 10]
 */
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import type { BenchServerReady } from './api-latency-server.js';

const { values } = parseArgs({ options: { seconds: { type: 'string', default: '10' } } });
const seconds = Number(values.seconds);
if (!(Number.isInteger(seconds) && seconds >= 1 && seconds <= 60)) {
  console.error('--seconds must be an integer from 1 to 60');
  process.exit(2);
}

const JOBS = 1_000;
const STATUS_RATE = 1_000;
const LIST_RATE = 50;
/**
 * autocannon paces `overallRate` per connection and per second: each connection sends its quota
 * back to back, then waits for the next second. One connection is closest to a UI polling; ten
 * put up to ten requests in flight at the start of every second, a harsher burst.
 */
const CONNECTIONS = [1, 10];

const child = fork(fileURLToPath(new URL('./api-latency-server.ts', import.meta.url)), {
  execArgv: ['--import', 'tsx'],
  stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
});
const killTimer = setTimeout(() => child.kill('SIGKILL'), (seconds * 4 + 120) * 1000);
killTimer.unref();

try {
  const [ready] = (await Promise.race([
    once(child, 'message'),
    once(child, 'exit').then(() => {
      throw new Error('the bench server exited before it was ready');
    }),
  ])) as [BenchServerReady];
  console.log(ready.summary);
  const url = `http://127.0.0.1:${ready.port}`;
  const headers = { authorization: `Bearer ${ready.token}` };
  const statusPath = () => `/download/status/${pick(ready.ids)}`;

  // Warm-up (JIT, statement caches), not measured.
  await measure({ url, headers, connections: 1, duration: 2, overallRate: 500, path: statusPath });
  const statusRuns: Array<[number, Figures]> = [];
  for (const connections of CONNECTIONS) {
    const figures = await measure({
      url,
      headers,
      connections,
      duration: seconds,
      overallRate: STATUS_RATE,
      path: statusPath,
    });
    statusRuns.push([connections, figures]);
  }
  const page = await measure({
    url,
    headers,
    connections: 1,
    duration: Math.max(2, Math.round(seconds / 2)),
    overallRate: LIST_RATE,
    path: () => `/downloads?limit=500&offset=${Math.random() < 0.5 ? 0 : 500}`,
  });
  const full = await listAll(url, headers, 100);

  const failures = [...statusRuns.map(([, figures]) => figures.failures), page.failures].reduce((a, b) => a + b, 0);
  console.log(`\nfailures (errors + non-2xx): ${failures}\n`);
  const rows: Array<[string, number, string, number | undefined]> = [];
  for (const [connections, figures] of statusRuns) {
    const label = `status @ ${STATUS_RATE} req/s, ${connections} conn (got ${figures.rate.toFixed(0)}/s)`;
    rows.push([`${label} p50`, figures.p50, '', undefined]);
    rows.push([`${label} p99`, figures.p99, '≤ 5 ms', 5]);
  }
  rows.push(
    [`one 500-job page @ ${LIST_RATE} req/s p50`, page.p50, '', undefined],
    [`one 500-job page @ ${LIST_RATE} req/s p99`, page.p99, '', undefined],
    ['all 1,000 jobs (2 pages, sequential) p50', full.p50, '≤ 20 ms', 20],
    ['all 1,000 jobs (2 pages, sequential) p99', full.p99, '', undefined],
  );
  console.log(`${'measure'.padEnd(58)}${'ours'.padStart(11)}${'goal'.padStart(10)}  met`);
  for (const [name, value, goal, limit] of rows) {
    const met = limit === undefined ? '' : value <= limit ? 'yes' : 'NO';
    console.log(`${name.padEnd(58)}${`${value.toFixed(2)} ms`.padStart(11)}${goal.padStart(10)}  ${met}`);
  }
} finally {
  child.send('stop');
  await once(child, 'exit');
  clearTimeout(killTimer);
}

function pick<T>(items: readonly T[]): T {
  const item = items[Math.floor(Math.random() * items.length)];
  if (item === undefined) throw new Error('empty list');
  return item;
}

interface Figures {
  p50: number;
  p99: number;
  max: number;
  rate: number;
  failures: number;
}

function percentiles(times: number[]): Pick<Figures, 'p50' | 'p99' | 'max'> {
  times.sort((a, b) => a - b);
  const at = (q: number): number => times[Math.min(times.length - 1, Math.floor(q * times.length))] ?? Number.NaN;
  return { p50: at(0.5), p99: at(0.99), max: times.at(-1) ?? Number.NaN };
}

function measure(options: {
  url: string;
  connections: number;
  headers: Record<string, string>;
  duration: number;
  overallRate: number;
  path: () => string;
}): Promise<Figures> {
  return new Promise((resolve, reject) => {
    const times: number[] = [];
    const instance = autocannon(
      {
        url: options.url,
        connections: options.connections,
        duration: options.duration,
        overallRate: options.overallRate,
        headers: options.headers,
        requests: [{ method: 'GET', setupRequest: (request) => ({ ...request, path: options.path() }) }],
      },
      (error, result) => {
        if (error) return reject(error);
        resolve({
          ...percentiles(times),
          rate: result.requests.total / result.duration,
          failures: result.errors + result.non2xx,
        });
      },
    );
    instance.on('response', (_client, _statusCode, _bytes, responseTime) => times.push(responseTime));
  });
}

/** A client reading the whole list: both 500-job pages, one after the other, `rounds` times. */
async function listAll(url: string, headers: Record<string, string>, rounds: number): Promise<Figures> {
  const times: number[] = [];
  for (let round = 0; round < rounds; round += 1) {
    const started = performance.now();
    let count = 0;
    for (const offset of [0, 500]) {
      const response = await fetch(`${url}/downloads?limit=500&offset=${offset}`, { headers });
      count += ((await response.json()) as { jobs: unknown[] }).jobs.length;
    }
    times.push(performance.now() - started);
    if (count !== JOBS) throw new Error(`listed ${count} jobs, expected ${JOBS}`);
  }
  return { ...percentiles(times), rate: Number.NaN, failures: 0 };
}
