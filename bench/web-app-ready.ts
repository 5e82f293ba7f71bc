/**
 * Time from opening the web app to the downloads list being there and usable (issue 16): the
 * built server (`node dist/src/cli/main.js serve`, started fresh, 50 jobs in its database) and a
 * fresh Chromium profile each round (cold caches), through `chilly open --print`'s sign-in link —
 * what a user does first — and then a reload (signed in, files cached).
 *
 *   npx tsx bench/web-app-ready.ts [--rounds 5]
 *
 * "Ready" is when the list of downloads is in the page and its first row's link can take focus.
 * Loopback only; Chromium resolves no other host.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { findChromium, launchBrowser } from '../tests/helpers/browser.js';
import { freeLoopbackPort } from '../tests/helpers/ports.js';
import { tempDir } from '../tests/helpers/wait.js';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '5' } } });
const rounds = Number(values.rounds);
const root = path.resolve(import.meta.dirname, '..');
const cli = path.join(root, 'dist', 'src', 'cli', 'main.js');
const TOKEN = 'web-ready-bench-token-0123456789';

const chromium = findChromium();
if (chromium === null) throw new Error('Chromium is not installed (apt-get install chromium)');
const work = await tempDir('chilly-bench-web-');
const port = await freeLoopbackPort();
const env = {
  PATH: process.env.PATH ?? '/usr/bin:/bin',
  HOME: work.dir,
  CHILLY_DATA_DIR: path.join(work.dir, 'data'),
  CHILLY_PORT: String(port),
  CHILLY_NETWORK: 'loopback',
  CHILLY_TOKEN: TOKEN,
  CHILLY_LOG_LEVEL: 'warn',
};
const base = `http://127.0.0.1:${port}`;

async function startServer(): Promise<ChildProcess> {
  const server = spawn(process.execPath, [cli, 'serve'], { env, stdio: 'ignore' });
  for (let attempt = 0; attempt < 300; attempt++) {
    if ((await fetch(`${base}/health`).catch(() => undefined))?.ok) return server;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error('the server did not start');
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

const first: number[] = [];
const reload: number[] = [];
let server = await startServer();
try {
  // 50 jobs whose only tracker is a closed loopback port: a list with rows, nothing moving.
  for (let index = 0; index < 50; index++) {
    const hash = (index + 1).toString(16).padStart(40, '0');
    await fetch(`${base}/download/start`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        id: `film-${index}`,
        sourceType: 'torrent',
        sourceUrn: `magnet:?xt=urn:btih:${hash}&tr=http%3A%2F%2F127.0.0.1%3A9%2Fannounce`,
      }),
    });
  }
  for (let round = 0; round < rounds; round++) {
    server.kill('SIGTERM');
    await new Promise((resolve) => server.once('exit', resolve));
    server = await startServer();
    const link = spawnSync(process.execPath, [cli, 'open', '--print'], { env, encoding: 'utf8' }).stdout.trim();
    const browser = await launchBrowser(chromium);
    try {
      const page = await (await browser.newContext()).newPage();
      const ready = async () => {
        await page.waitForSelector('ul.jobs li a', { state: 'visible', timeout: 30_000 });
        return page.evaluate(() => performance.now());
      };
      await page.goto(link, { waitUntil: 'commit' });
      first.push(await ready());
      await page.reload({ waitUntil: 'commit' });
      reload.push(await ready());
    } finally {
      await browser.close();
    }
  }
} finally {
  server.kill('SIGTERM');
  await work.cleanup();
}
console.log(`web app, / → downloads list ready (50 jobs), ${rounds} rounds, fresh server and browser each:`);
console.log(
  `  first open through chilly open's link (sign-in included, cold): median ${median(first).toFixed(0)} ms  [${first.map((ms) => ms.toFixed(0)).join(', ')}]`,
);
console.log(
  `  reload, signed in:                                              median ${median(reload).toFixed(0)} ms  [${reload.map((ms) => ms.toFixed(0)).join(', ')}]`,
);
