/**
 * Restart time of the server: from `npm start` (or another start command) to the first `200` from
 * GET /health, after the previous server was killed with SIGKILL while it held 100 jobs (issue 13:
 * "npm start after a SIGKILL answers /health in ≤ 1 s with 100 jobs in the database").
 *
 * Preparation: a server started from the repository (`node dist/src/cli/main.js serve`, loopback
 * network, its own data folder) gets 100 magnet jobs whose only tracker is a closed loopback port
 * (they stay looking for peers; the first few are active, the rest queued), then is killed with
 * SIGKILL. Each round starts the server again with every command compared, alternating their
 * order, kills it with SIGKILL once /health answered, and prints the times side by side.
 *
 *   npx tsx bench/restart-health.ts [--rounds 5] [--jobs 100] [--repo <dir>]
 *
 * `--repo` runs the commands in another checkout (e.g. a worktree of an older commit, to compare
 * with its `npm start`); its data folder is prepared by its own server. Loopback only.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { freeLoopbackPort } from '../tests/helpers/ports.js';
import { tempDir } from '../tests/helpers/wait.js';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '5' },
    jobs: { type: 'string', default: '100' },
    repo: { type: 'string' },
  },
});
const rounds = Number(values.rounds);
const jobCount = Number(values.jobs);
const repo = path.resolve(values.repo ?? path.join(path.dirname(fileURLToPath(import.meta.url)), '..'));
const TOKEN = 'restart-bench-token-0123456789abcdef';
const HEALTH_TIMEOUT_MS = 120_000;

const COMMANDS: Record<string, string[]> = {
  'npm start': ['npm', 'start', '--silent'],
  'node dist/src/cli/main.js serve': [process.execPath, 'dist/src/cli/main.js', 'serve'],
};

function startServer(command: string[], env: NodeJS.ProcessEnv): ChildProcess {
  const [file, ...args] = command;
  if (file === undefined) throw new Error('empty command');
  // Its own process group, so that SIGKILL reaches node under npm as well.
  return spawn(file, args, { cwd: repo, env, stdio: ['ignore', 'ignore', 'pipe'], detached: true });
}

function kill(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
  });
}

/** Milliseconds from `startedAt` to the first 200 from /health, polling every 10 ms. */
async function waitForHealth(baseUrl: string, startedAt: number, child: ChildProcess): Promise<number> {
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  while (performance.now() - startedAt < HEALTH_TIMEOUT_MS) {
    if (child.exitCode !== null) throw new Error(`the server exited (${child.exitCode}): ${stderr}`);
    try {
      const response = await fetch(`${baseUrl}/health`, { signal: AbortSignal.timeout(1_000) });
      if (response.status === 200) return performance.now() - startedAt;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`no /health after ${HEALTH_TIMEOUT_MS} ms: ${stderr}`);
}

async function addJobs(baseUrl: string, deadTrackerPort: number): Promise<void> {
  for (let i = 0; i < jobCount; i++) {
    const infoHash = randomBytes(20).toString('hex');
    const sourceUrn = `magnet:?xt=urn:btih:${infoHash}&dn=Film.${i}.2024.1080p.mkv&tr=${encodeURIComponent(
      `http://127.0.0.1:${deadTrackerPort}/announce`,
    )}`;
    const response = await fetch(`${baseUrl}/download/start`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ id: `film-${i}`, sourceType: 'torrent', sourceUrn }),
    });
    if (response.status !== 201) throw new Error(`adding a job: ${response.status} ${await response.text()}`);
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

const work = await tempDir('chilly-restart-');
try {
  const port = await freeLoopbackPort();
  const baseUrl = `http://127.0.0.1:${port}`;
  const env = {
    ...process.env,
    CHILLY_DATA_DIR: path.join(work.dir, 'data'),
    CHILLY_PORT: String(port),
    CHILLY_NETWORK: 'loopback',
    CHILLY_TOKEN: TOKEN,
    CHILLY_TORRENT_PORT: String(await freeLoopbackPort()),
  };

  // Build first if needed (not timed), then fill the database and kill the server mid-flight.
  const first = startServer(COMMANDS['npm start'] ?? [], env);
  await waitForHealth(baseUrl, performance.now(), first);
  await addJobs(baseUrl, await freeLoopbackPort());
  const health = (await (await fetch(`${baseUrl}/health`)).json()) as unknown;
  await new Promise((resolve) => setTimeout(resolve, 2_000));
  await kill(first);
  console.log(`repository: ${repo}`);
  console.log(`${jobCount} jobs added, then SIGKILL; /health said ${JSON.stringify(health)}`);

  const times = new Map<string, number[]>(Object.keys(COMMANDS).map((name) => [name, []]));
  for (let round = 0; round < rounds; round++) {
    const names = Object.keys(COMMANDS);
    if (round % 2 === 1) names.reverse();
    for (const name of names) {
      const startedAt = performance.now();
      const child = startServer(COMMANDS[name] ?? [], env);
      const ms = await waitForHealth(baseUrl, startedAt, child);
      times.get(name)?.push(ms);
      await kill(child);
    }
  }
  console.log(`\nSIGKILL → start → first 200 from GET /health (${rounds} rounds, ms)`);
  for (const [name, list] of times) {
    console.log(
      `  ${name.padEnd(34)} median ${median(list).toFixed(0).padStart(6)}   all ${list.map((ms) => ms.toFixed(0)).join(', ')}`,
    );
  }
} finally {
  await rm(work.dir, { recursive: true, force: true });
}
