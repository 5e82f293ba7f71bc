/**
 * Issue 13: chilly-movies as someone else's dependency. The project is packed (`npm pack`), the
 * tarball installed with plain `npm install` into a fresh project (packages from npm's cache
 * where it has them), and that project:
 * - type-checks its files (tests/fixtures/consumer/*.ts) under `--strict` without `skipLibCheck`;
 * - runs the seed README's example through `import { WebTorrentDownloader } from 'chilly-movies'`
 *   against a loopback swarm: the engine it loads is the bundle with every patch, pause stops the
 *   traffic (watched from the seeder), and the file arrives byte for byte;
 * - runs the package's `chilly serve` and drives it through the generated client
 *   (`chilly-movies/client`): start, status, events.
 * The installed tree must hold no WebTorrent, no patch-package and no native WebRTC.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, test } from 'node:test';
import { ensureCliBuilt, REPO_ROOT } from '../helpers/cli-run.js';
import { createLoopbackSwarm, type LoopbackSwarm } from '../helpers/loopback-swarm.js';
import { freeLoopbackPort } from '../helpers/ports.js';
import { sleep, tempDir, waitUntil } from '../helpers/wait.js';

const MiB = 1024 * 1024;
const NPM = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const TOKEN = 'consumer-test-token-0123456789abcdef';

function run(command: string, args: string[], cwd: string, timeoutMs: number): string {
  // chilly-movies' package.json turns Scarf's install report (swagger-ui-dist → @scarf/scarf) off for
  // its dependents; the environment says so too, so that this test never reaches beyond the machine.
  const env = { ...process.env, SCARF_ANALYTICS: 'false', DO_NOT_TRACK: '1' };
  const result = spawnSync(command, args, { cwd, encoding: 'utf8', timeout: timeoutMs, env });
  if (result.status !== 0) {
    throw new Error(
      `${command} ${args.join(' ')} failed (${result.status ?? result.signal}):\n${result.stdout}\n${result.stderr}`,
    );
  }
  return result.stdout;
}

/** Lines of JSON a consumer program prints, read one at a time. */
function jsonLines(child: ChildProcess): () => Promise<Record<string, unknown>> {
  const lines = createInterface({ input: child.stdout ?? process.stdin })[Symbol.asyncIterator]();
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  return async () => {
    const next = await Promise.race([
      lines.next(),
      sleep(60_000).then(() => {
        throw new Error(`no line from the consumer in 60 s; stderr: ${stderr}`);
      }),
    ]);
    if (next.done === true) throw new Error(`the consumer ended early; stderr: ${stderr}`);
    return JSON.parse(next.value) as Record<string, unknown>;
  };
}

describe('chilly-movies installed as a dependency (issue 13)', { timeout: 600_000 }, () => {
  let work: { dir: string; cleanup: () => Promise<void> };
  let consumer: string;
  const children: ChildProcess[] = [];

  before(async () => {
    ensureCliBuilt();
    work = await tempDir('chilly-consumer-');
    const packed = JSON.parse(
      run(NPM, ['pack', '--json', '--ignore-scripts', '--pack-destination', work.dir], REPO_ROOT, 120_000),
    ) as {
      filename: string;
    }[];
    const tarball = path.join(work.dir, packed[0]?.filename ?? '');
    consumer = path.join(work.dir, 'consumer');
    cpSync(path.join(REPO_ROOT, 'tests/fixtures/consumer'), consumer, { recursive: true });
    writeFileSync(
      path.join(consumer, 'package.json'),
      `${JSON.stringify(
        {
          name: 'chilly-consumer',
          private: true,
          type: 'module',
        },
        null,
        2,
      )}\n`,
    );
    const startedAt = performance.now();
    run(
      NPM,
      ['install', '--no-audit', '--no-fund', '--prefer-offline', tarball, '@types/node@20.19.43'],
      consumer,
      480_000,
    );
    console.log(`consumer install: ${((performance.now() - startedAt) / 1000).toFixed(1)} s`);
  });

  after(async () => {
    for (const child of children) child.kill('SIGKILL');
    await work?.cleanup();
  });

  test('holds no WebTorrent, patch-package or native WebRTC of its own', () => {
    const modules = readdirSync(path.join(consumer, 'node_modules'));
    for (const name of ['webtorrent', 'patch-package', 'parse-torrent', 'webrtc-polyfill', 'ip-set', 'uint8-util']) {
      assert.ok(!modules.includes(name), `${name} is installed`);
    }
    assert.ok(!existsSync(path.join(consumer, 'node_modules/@roamhq/wrtc')), 'a native WebRTC binding is installed');
    assert.ok(existsSync(path.join(consumer, 'node_modules/chilly-movies/patches/webtorrent+2.8.5.patch')));
  });

  test('its files type-check under --strict without skipLibCheck', () => {
    const tsc = path.join(REPO_ROOT, 'node_modules/typescript/bin/tsc');
    const result = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.json'], {
      cwd: consumer,
      encoding: 'utf8',
      timeout: 120_000,
    });
    assert.equal(result.status, 0, `tsc:\n${result.stdout}${result.stderr}`);
  });

  test("runs the seed README's example on a loopback swarm: patched engine, pause stops traffic, bytes intact", async () => {
    const swarm: LoopbackSwarm = await createLoopbackSwarm({
      name: 'Night.of.the.Living.Dead.1968.mkv',
      files: [{ path: 'Night.of.the.Living.Dead.1968.mkv', size: 12 * MiB }],
      pieceLength: 256 * 1024,
      uploadLimit: 3 * MiB,
    });
    try {
      const seeder = swarm.seederTorrent;
      assert.ok(seeder !== undefined);
      const program = spawn(
        process.execPath,
        ['out/library.js', swarm.magnetURI, path.join(work.dir, 'library-media')],
        { cwd: consumer, stdio: ['pipe', 'pipe', 'pipe'] },
      );
      children.push(program);
      const next = jsonLines(program);

      const engine = (await next()) as {
        event: string;
        bundled: boolean;
        ok: boolean;
        checks: { name: string; ok: boolean }[];
      };
      assert.equal(engine.event, 'engine');
      assert.equal(engine.bundled, true, 'the consumer runs the engine bundled in the package');
      assert.deepEqual(
        engine.checks.filter((check) => !check.ok),
        [],
        'every engine patch and pin is in the code the consumer runs',
      );
      assert.equal(engine.checks.length, 11);
      const started = await next();
      assert.deepEqual([started.event, started.id], ['started', 'unique-id']);
      assert.ok(['queued', 'downloading'].includes(String(started.status)), String(started.status));

      const paused = await next();
      assert.equal(paused.event, 'paused');
      assert.equal(paused.status, 'paused');
      await waitUntil(() => seeder.wires.length === 0, { what: 'the seeder to lose its connection to the consumer' });
      const uploadedAtPause = seeder.uploaded;
      await sleep(2_000);
      assert.equal(seeder.uploaded, uploadedAtPause, 'no bytes flow from the seeder while paused');
      assert.equal(seeder.wires.length, 0);
      program.stdin?.write('go on\n');
      const held = await next();
      assert.deepEqual(held, {
        event: 'held',
        status: 'paused',
        bytesDone: paused.bytesDone,
        progressEventsWhilePaused: 0,
      });

      const completed = (await next()) as { event: string; status: string; files: { path: string; sha256: string }[] };
      assert.equal(completed.event, 'completed');
      assert.equal(completed.status, 'completed');
      assert.deepEqual(
        completed.files,
        swarm.files.map((file) => ({ path: file.path, sha256: file.sha256 })),
      );
      assert.deepEqual(await next(), { event: 'done' });
    } finally {
      await swarm.close();
    }
  });

  test("drives the package's `chilly serve` through the generated client: start, status, events", async () => {
    const swarm = await createLoopbackSwarm({
      name: 'Carnival.of.Souls.1962.mkv',
      files: [{ path: 'Carnival.of.Souls.1962.mkv', size: 3 * MiB }],
    });
    try {
      const port = await freeLoopbackPort();
      const home = path.join(work.dir, 'server-home');
      const server = spawn(path.join(consumer, 'node_modules/.bin/chilly'), ['serve'], {
        cwd: consumer,
        env: {
          PATH: process.env.PATH ?? '/usr/bin:/bin',
          HOME: home,
          XDG_CONFIG_HOME: path.join(home, '.config'),
          XDG_DATA_HOME: path.join(home, '.local/share'),
          CHILLY_DATA_DIR: path.join(work.dir, 'server-data'),
          CHILLY_PORT: String(port),
          CHILLY_TOKEN: TOKEN,
          CHILLY_NETWORK: 'loopback',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      children.push(server);
      const baseUrl = `http://127.0.0.1:${port}`;
      await waitUntil(
        async () => {
          try {
            return (await fetch(`${baseUrl}/health`)).status === 200;
          } catch {
            return false;
          }
        },
        { timeoutMs: 30_000, what: "the installed package's chilly serve to answer" },
      );

      const program = spawn(process.execPath, ['out/client.js', baseUrl, TOKEN, swarm.magnetURI], {
        cwd: consumer,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      children.push(program);
      const next = jsonLines(program);
      assert.deepEqual(await next(), { event: 'health', ok: true });
      const started = await next();
      assert.deepEqual([started.event, started.id], ['started', 'night-1968']);
      assert.ok(['queued', 'downloading'].includes(String(started.status)), String(started.status));
      const completed = (await next()) as { events: string[]; status: string; bytesDone: number; bytesTotal: number };
      assert.equal(completed.status, 'completed');
      assert.equal(completed.bytesDone, 3 * MiB);
      assert.equal(completed.bytesTotal, 3 * MiB);
      assert.deepEqual(completed.events.slice(0, 1), ['added']);
      assert.ok(completed.events.includes('completed'), completed.events.join(', '));
      assert.deepEqual(await next(), { event: 'wrong-token', status: 401, code: 'unauthorized' });
      server.kill('SIGTERM');
    } finally {
      await swarm.close();
    }
  });
});
