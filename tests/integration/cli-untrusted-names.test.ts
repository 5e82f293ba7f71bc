/**
 * Hostile torrent names and file paths through the built `chilly` for real: a server
 * (startServer, SQLite, MockDownloader) holding a job named by a magnet's `dn`, and `chilly
 * download` of a loopback swarm whose torrent name and file path carry terminal escapes. What
 * reaches the terminal holds no control character; `--json` is exact JSON with the same strings.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type RunningServer, startServer } from '../../src/app.js';
import { loadConfig } from '../../src/config/resolve-config.js';
import type { Job } from '../../src/domain/job.js';
import { MockDownloader } from '../../src/downloaders/mock-downloader.js';
import { ensureCliBuilt, isolatedEnv, killAllCli, runChilly } from '../helpers/cli-run.js';
import { createLoopbackSwarm, type LoopbackSwarm } from '../helpers/loopback-swarm.js';
import { tempDir } from '../helpers/wait.js';

/** Retitles the terminal, clears it, forges a line, colours with an 8-bit CSI and reverses text. */
const HOSTILE = 'Evil\u001b]0;pwned\u0007\u001b[2J\r\nforged  completed  100.0%\u009b31m\u202eoow\u2066\t\u007fend';
/**
 * The same in 8-bit controls only (CSI 2J, OSC 0 … ST), for the swarm: WebTorrent here never
 * finishes a torrent whose name holds a C0 control (ESC, CR, TAB…), which is the engine's problem.
 */
const HOSTILE_8BIT = 'Evil\u009b2J\u009d0;pwned\u009c\u202eoow\u2066\u007fend';
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]/u;

function assertTerminalSafe(text: string, what: string): void {
  const match = UNSAFE.exec(text.replaceAll('\n', ''));
  assert.equal(match, null, `${what}: a raw control character in ${JSON.stringify(text)}`);
}

describe('chilly (built) with hostile torrent names', () => {
  let work: Awaited<ReturnType<typeof tempDir>>;
  let server: RunningServer;
  let swarm: LoopbackSwarm;
  let env: Record<string, string>;
  const magnet = `magnet:?xt=urn:btih:${'e'.repeat(40)}&dn=${encodeURIComponent(HOSTILE)}`;
  const chilly = (args: string[]) => runChilly(args, { env, cwd: work.dir, timeoutMs: 60_000 });

  before(async () => {
    ensureCliBuilt();
    work = await tempDir('chilly-cli-hostile-');
    const dataDir = path.join(work.dir, 'data');
    const config = loadConfig({ CHILLY_DATA_DIR: dataDir, CHILLY_NETWORK: 'loopback' }, { host: '127.0.0.1', port: 0 });
    [server, swarm] = await Promise.all([
      startServer({
        config,
        downloader: new MockDownloader({ mediaRoot: config.mediaRoot, totalBytes: 1024 * 1024 }),
        logger: false,
      }),
      createLoopbackSwarm({ name: HOSTILE_8BIT, files: [{ path: `${HOSTILE_8BIT}.mkv`, size: 64 * 1024 }] }),
    ]);
    env = isolatedEnv(path.join(work.dir, 'home'), { CHILLY_DATA_DIR: dataDir, CHILLY_PORT: new URL(server.url).port });
  });

  after(async () => {
    killAllCli();
    await server?.close();
    await swarm?.close();
    await work?.cleanup();
  });

  it('add (followed to the end), ls and status show the name with its escapes made visible', async () => {
    const added = await chilly(['add', magnet, '--id', 'evil']);
    assert.equal(added.code, 0, added.stderr);
    assertTerminalSafe(added.stdout + added.stderr, 'add');
    assert.match(added.stdout, /^Added evil \(Evil\\x1b\]0;pwned\\x07\\x1b\[2J\\r\\nforged/m);
    assert.match(added.stdout, /^Done: Evil\\x1b/m);

    const table = await chilly(['ls']);
    assert.equal(table.code, 0, table.stderr);
    assertTerminalSafe(table.stdout, 'ls');
    assert.equal(table.stdout.trimEnd().split('\n').length, 2, `a header and one row, no forged one:\n${table.stdout}`);

    const card = await chilly(['status', 'evil']);
    assert.equal(card.code, 0, card.stderr);
    assertTerminalSafe(card.stdout, 'status');
    assert.match(card.stdout, /^name {7}Evil\\x1b/m);
  });

  it('--json keeps the exact strings the server holds', async () => {
    const list = await chilly(['ls', '--json']);
    assert.equal(list.code, 0, list.stderr);
    assertTerminalSafe(list.stdout, 'ls --json');
    const [job] = JSON.parse(list.stdout) as Job[];
    assert.equal(job?.name, HOSTILE);
    assert.deepEqual(job, JSON.parse(JSON.stringify(server.service.get('evil'))));
  });

  it('download (no server): the "Downloading" line, the file listed and "Done:"', async () => {
    const out = path.join(work.dir, 'downloads');
    const result = await chilly(['download', swarm.magnetURI, '--out', out, '--id', 'evil-local']);
    assert.equal(result.code, 0, result.stderr);
    assertTerminalSafe(result.stdout + result.stderr, 'download');
    assert.match(result.stdout, /^Downloading Evil\\x9b2J\\x9d0;pwned\\x9c\\u\{202e\}oow/m);
    // The file's line, however the engine names it on disk.
    assert.match(result.stdout, /^ {2}\/.*\.mkv \(64 KiB\)$/m);
    assert.match(result.stdout, /^Done: Evil\\x9b/m);
  });
});
