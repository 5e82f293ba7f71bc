/**
 * The built `chilly` command as a process of its own: `chilly serve` (what `npm start` runs) to a
 * finished download and a clean Ctrl-C, and the configuration layers (file < env < flag) with the
 * messages and exit codes of invalid settings.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Job } from '../../src/domain/job.js';
import { ensureCliBuilt, isolatedEnv, killAllCli, REPO_ROOT, runChilly, startChilly } from '../helpers/cli-run.js';
import { createLoopbackSwarm, type LoopbackSwarm, sha256File } from '../helpers/loopback-swarm.js';
import { tempDir } from '../helpers/wait.js';

interface ConfigOutput {
  file: { path: string; loaded: boolean; namedBy: string } | null;
  config: Record<string, unknown> & { seeding: Record<string, unknown>; tmdb: Record<string, unknown> };
  sources: Record<string, string>;
}

describe('chilly serve (built), as npm start runs it', () => {
  let work: Awaited<ReturnType<typeof tempDir>>;
  let swarm: LoopbackSwarm;
  before(async () => {
    ensureCliBuilt();
    work = await tempDir('chilly-serve-');
    swarm = await createLoopbackSwarm({
      name: 'serve-test.mkv',
      files: [{ path: 'serve-test.mkv', size: 512 * 1024 }],
    });
  });
  after(async () => {
    killAllCli();
    await swarm?.close();
    await work?.cleanup();
  });

  it('npm start runs `chilly serve`', async () => {
    const manifest = JSON.parse(await readFile(path.join(REPO_ROOT, 'package.json'), 'utf8')) as {
      bin: Record<string, string>;
      scripts: Record<string, string>;
    };
    assert.equal(manifest.bin.chilly, 'dist/src/cli/main.js');
    // npm start and the installed `chilly` (its shebang; `env -S` splits it) run node alike.
    const runsNode = 'MALLOC_ARENA_MAX=2 node --max-semi-space-size=1';
    // scripts/start.mjs builds only when the sources changed, then runs the CLI in the same process.
    assert.equal(manifest.scripts.start, `${runsNode} scripts/start.mjs serve`);
    assert.equal(manifest.scripts.chilly, `${runsNode} dist/src/cli/main.js`);
    const shebang = (await readFile(path.join(REPO_ROOT, 'src/cli/main.ts'), 'utf8')).split('\n')[0] ?? '';
    assert.equal(shebang, `#!/usr/bin/env -S ${runsNode}`);
    if (process.platform !== 'win32') {
      // A script with that shebang, run the way the kernel runs the installed bin.
      const script = path.join(work.dir, 'shebang-probe.js');
      await writeFile(script, `${shebang}\nconsole.log(process.env.MALLOC_ARENA_MAX, process.execArgv.join(' '));\n`);
      await chmod(script, 0o755);
      const probe = spawnSync(script, [], { encoding: 'utf8', timeout: 20_000 });
      assert.equal(probe.status, 0, probe.stderr);
      assert.equal(probe.stdout.trim(), '2 --max-semi-space-size=1');
    }
  });

  it('serves until SIGINT; the CLI finds it through the shared data folder and downloads through it', async () => {
    const dataDir = path.join(work.dir, 'data');
    const env = isolatedEnv(path.join(work.dir, 'home'), { CHILLY_DATA_DIR: dataDir, CHILLY_PORT: '0' });
    const serve = startChilly(['serve'], { env, cwd: work.dir });
    try {
      const [, url] = await serve.waitForOutput(/listening on (http:\/\/127\.0\.0\.1:\d+)/);
      await serve.waitForOutput(/^Data folder: /m);
      assert.match(serve.stdout(), /API token file: .*api-token/);
      const tokenFile = path.join(dataDir, 'api-token');
      if (process.platform !== 'win32') assert.equal(statSync(tokenFile).mode & 0o777, 0o600);
      const port = new URL(url ?? '').port;

      const added = await runChilly(['add', swarm.magnetURI, '--port', port, '--json'], { env, timeoutMs: 60_000 });
      assert.equal(added.code, 0, added.stderr);
      const job = JSON.parse(added.stdout) as Job;
      assert.equal(job.status, 'completed');
      for (const file of swarm.files) {
        assert.equal(await sha256File(path.join(job.savePath ?? '', file.path)), file.sha256);
      }
      const listed = await runChilly(['ls', '--json', '--port', port], { env });
      assert.deepEqual(
        (JSON.parse(listed.stdout) as Job[]).map((item) => item.id),
        ['serve-test'],
      );

      serve.child.kill('SIGINT');
      const result = await serve.exited(30_000);
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout, /SIGINT: closing…/);
    } finally {
      serve.kill();
    }
  });

  it('refuses to listen beyond loopback without CHILLY_TOKEN, before creating anything', async () => {
    const dataDir = path.join(work.dir, 'refused');
    const env = isolatedEnv(path.join(work.dir, 'home'), {
      CHILLY_DATA_DIR: dataDir,
      CHILLY_HOST: '0.0.0.0',
      CHILLY_PORT: '0',
    });
    const result = await runChilly(['serve'], { env, timeoutMs: 30_000 });
    assert.equal(result.code, 1);
    assert.match(result.stderr, /^chilly: validation_failed: Refusing to listen on 0\.0\.0\.0 .*CHILLY_TOKEN/m);
    assert.equal(existsSync(dataDir), false);
  });
});

describe('chilly config (built): defaults ← config file ← environment ← flags', () => {
  let work: Awaited<ReturnType<typeof tempDir>>;
  let home: string;
  let configDir: string;
  before(async () => {
    ensureCliBuilt();
    work = await tempDir('chilly-config-');
    home = path.join(work.dir, 'home');
    configDir = path.join(home, '.config', 'chilly-movies');
    await mkdir(configDir, { recursive: true });
  });
  after(async () => {
    killAllCli();
    await work?.cleanup();
  });

  const configJson = async (args: string[], extra: Record<string, string> = {}): Promise<ConfigOutput> => {
    const result = await runChilly(['config', '--json', ...args], { env: isolatedEnv(home, extra), cwd: work.dir });
    assert.equal(result.code, 0, result.stderr);
    return JSON.parse(result.stdout) as ConfigOutput;
  };

  it('layers the XDG config file, then CHILLY_* variables, then flags; secrets are masked', async () => {
    await writeFile(
      path.join(configDir, 'config.json'),
      JSON.stringify({
        port: 4001,
        dataDir: './data',
        maxActiveDownloads: 5,
        seeding: { ratio: 2 },
        allowedHosts: ['films.lan'],
        tmdb: { apiKey: 'file-secret-tmdb-key' },
      }),
    );
    const fromFile = await configJson([]);
    assert.deepEqual(fromFile.file, { path: path.join(configDir, 'config.json'), loaded: true, namedBy: 'default' });
    assert.equal(fromFile.config.port, 4001);
    assert.equal(fromFile.sources.port, `config file ${path.join(configDir, 'config.json')}`);
    assert.equal(fromFile.config.dataDir, path.join(configDir, 'data'), 'relative to the file');
    assert.equal(fromFile.config.mediaRoot, path.join(configDir, 'data', 'media'));
    assert.equal(fromFile.config.maxActiveDownloads, 5);
    assert.deepEqual(fromFile.config.seeding, { ratio: 2, minutes: 60 });
    assert.deepEqual(fromFile.config.allowedHosts, ['films.lan']);
    assert.equal(fromFile.config.network, 'loopback', 'from the environment');
    assert.equal(fromFile.config.tmdb.apiKey, '********');
    assert.equal(fromFile.config.tmdb.readToken, null);

    const fromEnv = await configJson([], { CHILLY_PORT: '4002', CHILLY_TOKEN: 'env-secret-token-0123456789' });
    assert.equal(fromEnv.config.port, 4002);
    assert.equal(fromEnv.sources.port, 'environment CHILLY_PORT');
    assert.equal(fromEnv.config.token, '********');
    assert.equal(fromEnv.config.maxActiveDownloads, 5, 'what the environment does not set still comes from the file');

    const fromFlag = await configJson(['--port', '4003', '--data-dir', 'flag-data'], { CHILLY_PORT: '4002' });
    assert.equal(fromFlag.config.port, 4003);
    assert.equal(fromFlag.sources.port, 'flag --port');
    assert.equal(fromFlag.config.dataDir, path.join(work.dir, 'flag-data'), 'relative to the working folder');

    const table = await runChilly(['config'], {
      env: isolatedEnv(home, { CHILLY_TOKEN: 'env-secret-token-0123456789' }),
      cwd: work.dir,
    });
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /^port\s+4001\s+config file /m);
    assert.match(table.stdout, /^token\s+\*{8}\s+environment CHILLY_TOKEN$/m);
    assert.doesNotMatch(table.stdout + fromEnv.config.token, /file-secret-tmdb-key|env-secret-token/);
  });

  it('--config beats CHILLY_CONFIG, which beats the default location', async () => {
    const viaEnv = path.join(work.dir, 'env.json');
    const viaFlag = path.join(work.dir, 'flag.json');
    await writeFile(viaEnv, JSON.stringify({ port: 5001 }));
    await writeFile(viaFlag, JSON.stringify({ port: 5002 }));
    assert.equal((await configJson([], { CHILLY_CONFIG: viaEnv })).config.port, 5001);
    const flagged = await configJson(['--config', viaFlag], { CHILLY_CONFIG: viaEnv });
    assert.equal(flagged.config.port, 5002);
    assert.equal(flagged.file?.namedBy, 'flag');
  });

  it('names the key and where it came from when a setting is invalid, and exits non-zero', async () => {
    const file = path.join(work.dir, 'broken.json');
    const cases: Array<{
      json?: string;
      args?: string[];
      env?: Record<string, string>;
      code: number;
      message: RegExp;
    }> = [
      { json: '{ "port": 3000, }', code: 1, message: /Invalid config file .*broken\.json: not valid JSON/ },
      {
        json: '{ "prot": 3000 }',
        code: 1,
        message: /Invalid config file .*broken\.json: unknown key "prot" \(did you mean "port"\?\)/,
      },
      {
        json: '{ "seeding": { "ratoi": 1 } }',
        code: 1,
        message: /unknown key "seeding\.ratoi" \(did you mean "seeding\.ratio"\?\)/,
      },
      {
        json: '{ "port": "3000" }',
        code: 1,
        message: /broken\.json: "port" must be an integer from 0 to 65535 \(got "3000"\)/,
      },
      { json: '{ "network": "lan" }', code: 1, message: /"network" must be "public" or "loopback" \(got "lan"\)/ },
      {
        json: '{ "token": "short" }',
        code: 1,
        message: /"token" must be a string of at least 16 characters \(got "…"\)/,
      },
      {
        env: { CHILLY_MAX_ACTIVE_DOWNLOADS: 'many' },
        code: 1,
        message: /Invalid CHILLY_MAX_ACTIVE_DOWNLOADS="many" \(environment\): expected an integer from 1 to 100/,
      },
      {
        args: ['--seed-ratio', '-1'],
        code: 2,
        message: /Invalid --seed-ratio "-1": expected a number >= 0/,
      },
      {
        env: { CHILLY_CONFIG: path.join(work.dir, 'missing.json') },
        code: 1,
        message: /Config file .*missing\.json \(named by CHILLY_CONFIG\) does not exist/,
      },
    ];
    for (const testCase of cases) {
      const env = isolatedEnv(home, testCase.env ?? {});
      if (testCase.json !== undefined) {
        await writeFile(file, testCase.json);
        env.CHILLY_CONFIG = file;
      }
      const result = await runChilly(['config', ...(testCase.args ?? [])], { env, cwd: work.dir });
      assert.equal(result.code, testCase.code, `${JSON.stringify(testCase)}: ${result.stderr}`);
      assert.equal(result.stdout, '');
      assert.match(result.stderr, testCase.message);
    }
    // serve reads the same configuration: it stops before creating anything.
    await writeFile(file, '{ "port": -1 }');
    const dataDir = path.join(work.dir, 'never-created');
    const serve = await runChilly(['serve'], {
      env: isolatedEnv(home, { CHILLY_CONFIG: file, CHILLY_DATA_DIR: dataDir }),
      timeoutMs: 30_000,
    });
    assert.equal(serve.code, 1);
    assert.match(serve.stderr, /"port" must be an integer from 0 to 65535 \(got -1\)/);
    assert.equal(existsSync(dataDir), false);
  });
});
