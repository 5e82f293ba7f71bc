/**
 * The `chilly` program in-process (runCli with captured output and a made-up environment):
 * exit codes, help, and the commands that need no server. Against a server: tests/integration/cli-*.
 */
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type FakeTerminalRun, runCliInFakeTerminal } from '../helpers/fake-terminal.js';
import { freeLoopbackPort } from '../helpers/ports.js';
import { tempDir } from '../helpers/wait.js';

describe('chilly (in-process)', () => {
  let work: Awaited<ReturnType<typeof tempDir>>;
  let env: Record<string, string>;
  before(async () => {
    work = await tempDir('chilly-program-');
    env = { HOME: path.join(work.dir, 'home'), CHILLY_NETWORK: 'loopback' };
  });
  after(() => work.cleanup());

  const run = (args: string[], extraEnv: Record<string, string> = {}): Promise<FakeTerminalRun> =>
    runCliInFakeTerminal(args, { env: { ...env, ...extraEnv }, cwd: work.dir });

  it('--help and --version exit 0; no command or an unknown one is a usage error (2)', async () => {
    const help = await run(['--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /^Usage: chilly \[options\] \[command\]/);
    assert.match(help.stdout, /Exit codes: 0 ok, 1 failure/);
    const version = await run(['--version']);
    assert.equal(version.code, 0);
    assert.match(version.stdout, /^\d+\.\d+\.\d+\n$/);
    const addHelp = await run(['add', '--help']);
    assert.equal(addHelp.code, 0);
    assert.match(addHelp.stdout, /--detach/);

    const bare = await run([]);
    assert.equal(bare.code, 2);
    assert.match(bare.stderr, /Usage: chilly/);
    const unknown = await run(['sttaus']);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /unknown command 'sttaus'[\s\S]*Did you mean status\?/);
  });

  it('takes settings flags before or after the command', async () => {
    for (const args of [
      ['--port', '4100', 'config', '--json'],
      ['config', '--json', '--port', '4100'],
    ]) {
      const result = await run(args);
      assert.equal(result.code, 0, result.stderr);
      const output = JSON.parse(result.stdout) as { config: { port: number }; sources: Record<string, string> };
      assert.equal(output.config.port, 4100);
      assert.equal(output.sources.port, 'flag --port');
    }
  });

  it('token prints CHILLY_TOKEN, or explains that the server has not written one yet', async () => {
    const fromEnv = await run(['token'], { CHILLY_TOKEN: 'a-token-of-sixteen-chars' });
    assert.equal(fromEnv.code, 0);
    assert.equal(fromEnv.stdout, 'a-token-of-sixteen-chars\n');
    const missing = await run(['token']);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /^chilly: No API token at .*api-token: `chilly serve` writes it on its first start/);
  });

  it('says the server is not running, with the address it tried', async () => {
    const port = await freeLoopbackPort();
    const dataDir = path.join(work.dir, 'with-token');
    await mkdir(dataDir, { recursive: true });
    await writeFile(path.join(dataDir, 'api-token'), 'a-token-of-sixteen-chars\n', { mode: 0o600 });
    for (const args of [['ls'], ['status', 'x'], ['pause', 'x']]) {
      const result = await run(args, { CHILLY_PORT: String(port), CHILLY_DATA_DIR: dataDir });
      assert.equal(result.code, 1, args.join(' '));
      assert.match(
        result.stderr,
        new RegExp(
          `^chilly: server_unreachable: Cannot reach the Chilly Movies server at http://127\\.0\\.0\\.1:${port} `,
        ),
      );
      assert.match(result.stderr, /Is `chilly serve` running\?/);
    }
  });

  it('doctor reports an invalid configuration as a failed check (exit 1)', async () => {
    const result = await run(['doctor'], { CHILLY_PORT: 'many' });
    assert.equal(result.code, 1);
    assert.match(result.stdout, /^✓ node: /m);
    assert.match(result.stdout, /^✗ config: Invalid CHILLY_PORT="many" \(environment\)/m);
    assert.match(result.stderr, /1 check failed/);
  });

  it('config prints every setting with its source, secrets masked', async () => {
    const result = await run(['config'], { TMDB_READ_TOKEN: 'very-secret-read-token', CHILLY_PORT: '3210' });
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^Config file: none \(.*config\.json does not exist\)$/m);
    assert.match(result.stdout, /^port\s+3210\s+environment CHILLY_PORT$/m);
    assert.match(result.stdout, /^tmdb\.readToken\s+\*{8}\s+environment TMDB_READ_TOKEN$/m);
    assert.match(result.stdout, /^network\s+loopback\s+environment CHILLY_NETWORK$/m);
    assert.equal(result.stdout.includes('very-secret'), false);
  });
});
