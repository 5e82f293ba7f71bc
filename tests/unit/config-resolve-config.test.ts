import assert from 'node:assert/strict';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ConfigError } from '../../src/config/config-error.js';
import { maskedConfig } from '../../src/config/masked-config.js';
import { loadConfig, type ResolveConfigOptions, resolveConfig } from '../../src/config/resolve-config.js';
import { SETTINGS } from '../../src/config/settings.js';
import { tempDir } from '../helpers/wait.js';

describe('resolveConfig', () => {
  let work: Awaited<ReturnType<typeof tempDir>>;
  let home: string;
  before(async () => {
    work = await tempDir('chilly-config-unit-');
    home = path.join(work.dir, 'home');
  });
  after(() => work.cleanup());

  /** Linux paths from this home, no config file unless the test writes one. */
  const resolve = (options: ResolveConfigOptions = {}) =>
    resolveConfig({ platform: 'linux', cwd: work.dir, ...options, env: { HOME: home, ...options.env } });

  const writeJson = async (name: string, value: unknown): Promise<string> => {
    const file = path.join(work.dir, name);
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, typeof value === 'string' ? value : JSON.stringify(value));
    return file;
  };

  const rejects = (options: ResolveConfigOptions, source: string, message: RegExp): void => {
    assert.throws(
      () => resolve(options),
      (error: unknown) => {
        assert.ok(error instanceof ConfigError, String(error));
        assert.equal(error.code, 'validation_failed');
        assert.equal(error.source, source);
        assert.match(error.message, message);
        return true;
      },
    );
  };

  it('has defaults under the XDG folders, with downloads beside the database', () => {
    const { config, sources, file, warnings } = resolve();
    assert.equal(config.host, '127.0.0.1');
    assert.equal(config.port, 3000);
    assert.equal(config.dataDir, path.join(home, '.local/share/chilly-movies'));
    assert.equal(config.mediaRoot, path.join(home, '.local/share/chilly-movies/media'));
    assert.equal(config.network, 'public');
    assert.equal(config.maxActiveDownloads, 3);
    assert.deepEqual(config.seeding, { ratio: 1, minutes: 60 });
    assert.equal(config.token, undefined);
    assert.deepEqual(config.allowedHosts, []);
    assert.equal(config.torrentPort, 0);
    assert.deepEqual(config.tmdb, { apiKey: undefined, readToken: undefined, baseUrl: 'https://api.themoviedb.org/3' });
    assert.deepEqual(config.metadata, { autoIdentify: true });
    assert.ok(Object.values(sources).every((source) => source.kind === 'default'));
    assert.deepEqual(file, {
      path: path.join(home, '.config/chilly-movies/config.json'),
      origin: 'default',
      loaded: false,
    });
    assert.deepEqual(warnings, []);
  });

  it('layers file < environment < flags < overrides, and records where each value came from', async () => {
    const file = await writeJson('layers.json', { port: 4001, host: 'localhost', seeding: { minutes: 5 } });
    const fileOnly = resolve({ configFile: file });
    assert.equal(fileOnly.config.port, 4001);
    assert.deepEqual(fileOnly.sources.port, { kind: 'file', file });
    assert.deepEqual(fileOnly.config.seeding, { ratio: 1, minutes: 5 });

    const withEnv = resolve({ configFile: file, env: { CHILLY_PORT: '4002' } });
    assert.equal(withEnv.config.port, 4002);
    assert.deepEqual(withEnv.sources.port, { kind: 'env', name: 'CHILLY_PORT' });
    assert.equal(withEnv.config.host, 'localhost');

    const withFlag = resolve({ configFile: file, env: { CHILLY_PORT: '4002' }, flags: { port: '4003' } });
    assert.equal(withFlag.config.port, 4003);
    assert.deepEqual(withFlag.sources.port, { kind: 'flag', name: 'port' });

    const overridden = resolve({ configFile: file, flags: { port: '4003' }, overrides: { port: 0 } });
    assert.equal(overridden.config.port, 0);
    assert.deepEqual(overridden.sources.port, { kind: 'override' });
  });

  it('reads the default file, CHILLY_CONFIG, or the --config file, in that order of preference', async () => {
    const xdg = path.join(work.dir, 'xdg');
    await writeJson('xdg/chilly-movies/config.json', { port: 1001 });
    const fromEnv = await writeJson('from-env.json', { port: 1002 });
    const fromFlag = await writeJson('from-flag.json', { port: 1003 });
    assert.equal(resolve({ env: { XDG_CONFIG_HOME: xdg } }).config.port, 1001);
    assert.equal(resolve({ env: { XDG_CONFIG_HOME: xdg, CHILLY_CONFIG: fromEnv } }).config.port, 1002);
    const flagged = resolve({ env: { XDG_CONFIG_HOME: xdg, CHILLY_CONFIG: fromEnv }, configFile: fromFlag });
    assert.equal(flagged.config.port, 1003);
    assert.equal(flagged.file?.origin, 'flag');
    assert.equal(resolve({ env: { XDG_CONFIG_HOME: xdg }, configFile: false }).config.port, 3000);
  });

  it('resolves relative paths: from the file against its folder, from env and flags against the working folder', async () => {
    const file = await writeJson('nested/paths.json', { dataDir: './state', mediaRoot: '~/Films' });
    const { config } = resolve({ configFile: file });
    assert.equal(config.dataDir, path.join(work.dir, 'nested/state'));
    assert.equal(config.mediaRoot, path.join(home, 'Films'));
    const fromEnv = resolve({ env: { CHILLY_DATA_DIR: 'rel-data' } });
    assert.equal(fromEnv.config.dataDir, path.join(work.dir, 'rel-data'));
    assert.equal(fromEnv.config.mediaRoot, path.join(work.dir, 'rel-data/media'), 'media follows the data folder');
    assert.equal(resolve({ flags: { mediaRoot: 'm' } }).config.mediaRoot, path.join(work.dir, 'm'));
  });

  it('parses every kind of value from the environment and from flags', () => {
    const { config } = resolve({
      env: {
        CHILLY_NETWORK: 'loopback',
        CHILLY_MAX_ACTIVE_DOWNLOADS: '7',
        CHILLY_SEED_RATIO: '1.5',
        CHILLY_SEED_MINUTES: '0',
        CHILLY_ALLOWED_HOSTS: ' films.lan , ,tv.lan',
        CHILLY_ALLOWED_ORIGINS: 'http://localhost:5173',
        CHILLY_TORRENT_PORT: '51413',
        TMDB_API_KEY: 'k',
        TMDB_READ_TOKEN: 't',
        CHILLY_TMDB_BASE_URL: 'http://127.0.0.1:9999/3/',
        CHILLY_TOKEN: '  a-token-of-sixteen-chars  ',
        // Empty means unset, as in shells that cannot unset.
        CHILLY_HOST: '',
      },
      flags: { allowedOrigins: 'http://a.test,http://b.test' },
    });
    assert.equal(config.network, 'loopback');
    assert.equal(config.maxActiveDownloads, 7);
    assert.deepEqual(config.seeding, { ratio: 1.5, minutes: 0 });
    assert.deepEqual(config.allowedHosts, ['films.lan', 'tv.lan']);
    assert.deepEqual(config.allowedOrigins, ['http://a.test', 'http://b.test']);
    assert.equal(config.torrentPort, 51413);
    assert.deepEqual(config.tmdb, { apiKey: 'k', readToken: 't', baseUrl: 'http://127.0.0.1:9999/3' });
    assert.equal(config.token, 'a-token-of-sixteen-chars');
    assert.equal(config.host, '127.0.0.1');
  });

  it('reads on/off settings as JSON booleans from the file and as words from variables and flags', async () => {
    const file = await writeJson('booleans.json', { metadata: { autoIdentify: false } });
    assert.equal(resolve({ configFile: file }).config.metadata.autoIdentify, false);
    for (const [text, value] of [
      ['1', true],
      ['no', false],
      ['ON', true],
      ['false', false],
    ] as const) {
      assert.equal(resolve({ env: { CHILLY_METADATA_AUTO_IDENTIFY: text } }).config.metadata.autoIdentify, value, text);
    }
    assert.equal(
      resolve({ configFile: file, flags: { 'metadata.autoIdentify': 'on' } }).config.metadata.autoIdentify,
      true,
    );
    rejects(
      { env: { CHILLY_METADATA_AUTO_IDENTIFY: 'maybe' } },
      'env',
      /CHILLY_METADATA_AUTO_IDENTIFY="maybe".*true or false/,
    );
    rejects(
      { configFile: await writeJson('booleans-bad.json', { metadata: { autoIdentify: 'yes' } }) },
      'file',
      /"metadata\.autoIdentify" must be true or false \(got "yes"\)/,
    );
  });

  it('names the variable or flag, never echoing a secret, when a value is invalid', () => {
    rejects({ env: { CHILLY_PORT: 'abc' } }, 'env', /^Invalid CHILLY_PORT="abc" \(environment\): expected an integer/);
    rejects({ env: { CHILLY_PORT: '70000' } }, 'env', /CHILLY_PORT="70000".*from 0 to 65535/);
    rejects({ env: { CHILLY_NETWORK: 'lan' } }, 'env', /CHILLY_NETWORK="lan".*"public" or "loopback"/);
    rejects({ env: { CHILLY_SEED_RATIO: '-1' } }, 'env', /CHILLY_SEED_RATIO="-1".*a number >= 0/);
    rejects({ env: { CHILLY_MAX_ACTIVE_DOWNLOADS: '0' } }, 'env', /from 1 to 100/);
    rejects({ env: { CHILLY_TMDB_BASE_URL: 'ftp://x' } }, 'env', /CHILLY_TMDB_BASE_URL="ftp:\/\/x".*http\(s\) URL/);
    rejects({ env: { CHILLY_TOKEN: 'too-short' } }, 'env', /^Invalid CHILLY_TOKEN="…" \(environment\)/);
    rejects({ flags: { port: '3.5' } }, 'flag', /^Invalid --port "3\.5": expected an integer/);
    rejects({ flags: { 'seeding.minutes': 'soon' } }, 'flag', /^Invalid --seed-minutes "soon": expected a number >= 0/);
  });

  it('refuses a config file with bad JSON, unknown keys or wrong types, naming the key and the file', async () => {
    const bad = async (value: unknown, message: RegExp): Promise<void> => {
      const file = await writeJson('bad.json', value);
      rejects(
        { configFile: file },
        'file',
        new RegExp(`^Invalid config file ${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: ${message.source}`),
      );
    };
    await bad('{ "port": 1,, }', /not valid JSON \(/);
    await bad('[1, 2]', /expected a JSON object/);
    await bad({ prot: 1 }, /unknown key "prot" \(did you mean "port"\?\)\. Known keys: host, port, /);
    await bad({ whatever: 1 }, /unknown key "whatever"\. Known keys:/);
    await bad({ tmdb: { key: 'x' } }, /unknown key "tmdb\.key"/);
    await bad({ seeding: 2 }, /"seeding" must be an object with "ratio", "minutes"/);
    await bad({ port: '3000' }, /"port" must be an integer from 0 to 65535 \(got "3000"\)/);
    await bad({ allowedHosts: 'a,b' }, /"allowedHosts" must be a list of names \(got "a,b"\)/);
    await bad({ network: true }, /"network" must be "public" or "loopback" \(got true\)/);
    await bad({ tmdb: { apiKey: 42 } }, /"tmdb\.apiKey" must be a non-empty string \(got "…"\)/);
    await bad({ dataDir: '' }, /"dataDir" must be a non-empty string/);
  });

  it('needs a named config file to exist, but not the default one', () => {
    rejects({ configFile: path.join(work.dir, 'nope.json') }, 'flag', /named by --config\) does not exist/);
    rejects(
      { env: { CHILLY_CONFIG: path.join(work.dir, 'nope.json') } },
      'env',
      /named by CHILLY_CONFIG\) does not exist/,
    );
    assert.equal(resolve({ env: { XDG_CONFIG_HOME: path.join(work.dir, 'empty') } }).file?.loaded, false);
  });

  it('allows "$schema" in the file and warns about variables that look like typos', async () => {
    const file = await writeJson('schema.json', { $schema: './schema.json', port: 1 });
    assert.equal(resolve({ configFile: file }).config.port, 1);
    const { warnings } = resolve({ env: { CHILLY_PROT: '1', CHILLY_TEST_CONCURRENCY: '2', TMDB_API_KYE: 'x' } });
    assert.deepEqual(warnings, [
      'Ignoring the environment variable CHILLY_PROT: did you mean CHILLY_PORT?',
      'Ignoring the environment variable TMDB_API_KYE: did you mean TMDB_API_KEY?',
    ]);
  });

  it('warns when a config file that holds a secret is readable by other users', async (t) => {
    if (process.platform === 'win32') return t.skip('no POSIX modes');
    const file = await writeJson('secret.json', { tmdb: { apiKey: 'a-key' }, port: 1 });
    await chmod(file, 0o644);
    assert.deepEqual(resolve({ configFile: file }).warnings, [
      `The config file ${file} holds tmdb.apiKey and other users can read it: run chmod 600 on it.`,
    ]);
    await chmod(file, 0o600);
    assert.deepEqual(resolve({ configFile: file }).warnings, []);
  });

  it('masks secrets for display, keeping unset ones as null', () => {
    const { config } = resolve({ env: { CHILLY_TOKEN: 'a-token-of-sixteen-chars', TMDB_API_KEY: 'tmdb-secret' } });
    const masked = maskedConfig(config) as { token: unknown; tmdb: Record<string, unknown> };
    assert.equal(masked.token, '********');
    assert.deepEqual(masked.tmdb, { apiKey: '********', readToken: null, baseUrl: 'https://api.themoviedb.org/3' });
    assert.equal(JSON.stringify(masked).includes('secret'), false);
    assert.equal(config.token, 'a-token-of-sixteen-chars', 'the config itself is untouched');
    for (const spec of SETTINGS)
      assert.ok(spec.flag === undefined || !('secret' in spec), `${spec.key}: no flag for secrets`);
  });

  it('loadConfig keeps its contract: environment and overrides, a file only when CHILLY_CONFIG names one', async () => {
    const config = loadConfig({ CHILLY_DATA_DIR: path.join(work.dir, 'd'), CHILLY_PORT: '0' }, { host: '::1' });
    assert.equal(config.dataDir, path.join(work.dir, 'd'));
    assert.equal(config.port, 0);
    assert.equal(config.host, '::1');
    const file = await writeJson('load.json', { maxActiveDownloads: 9 });
    assert.equal(loadConfig({ CHILLY_CONFIG: file }).maxActiveDownloads, 9);
  });
});
