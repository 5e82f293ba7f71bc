import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { TOKEN_FILE_NAME } from '../../src/api/token.js';
import { settingValue } from '../../src/config/masked-config.js';
import { resolveConfig } from '../../src/config/resolve-config.js';
import { describeDefault, SETTINGS } from '../../src/config/settings.js';
import { DOCUMENTED_FOLDERS } from '../../src/config/user-folders.js';

/** Nothing set: no file, no variable but HOME, no flag. */
const HOME = '/home/ana';
const resolvedDefaults = () => resolveConfig({ env: { HOME }, configFile: false, platform: 'linux', cwd: '/' });

describe('SETTINGS defaults', () => {
  it("says every setting's default as describeDefault formats its default value", () => {
    for (const spec of SETTINGS) assert.equal(spec.defaultText, describeDefault(spec.default), spec.key);
    assert.equal(describeDefault({ value: 3000 }), '3000');
    assert.equal(describeDefault({ value: true }), 'true');
    assert.equal(describeDefault({ value: 0, note: 'random' }), '0 (random)');
    assert.equal(describeDefault({ value: undefined }), '—');
    assert.equal(describeDefault({ value: [] }), '—');
    assert.equal(describeDefault({ value: ['a', 'b'] }), 'a,b');
    assert.equal(describeDefault({ computed: '<data dir>/media' }), '<data dir>/media');
  });

  it('resolves every fixed default to the value the catalogue documents', () => {
    const { config, sources } = resolvedDefaults();
    for (const spec of SETTINGS) {
      assert.deepEqual(sources[spec.key], { kind: 'default' }, spec.key);
      if ('value' in spec.default) assert.deepEqual(settingValue(config, spec.key), spec.default.value, spec.key);
    }
  });

  it('resolves every computed default the way its text says', () => {
    const { config } = resolvedDefaults();
    const computed = new Map<string, string>();
    for (const spec of SETTINGS) if ('computed' in spec.default) computed.set(spec.key, spec.default.computed);
    assert.deepEqual([...computed.keys()], ['dataDir', 'mediaRoot', 'token']);

    assert.equal(computed.get('dataDir'), `${DOCUMENTED_FOLDERS.dataDir} (XDG)`);
    assert.equal(config.dataDir, path.join(HOME, DOCUMENTED_FOLDERS.dataDir.slice('~/'.length)));

    const mediaRoot = computed.get('mediaRoot') ?? '';
    assert.match(mediaRoot, /^<data dir>\//);
    assert.equal(config.mediaRoot, path.join(config.dataDir, mediaRoot.slice('<data dir>/'.length)));

    // The server generates the token; the configuration leaves it unset.
    assert.equal(computed.get('token'), `generated into <data dir>/${TOKEN_FILE_NAME}`);
    assert.equal(config.token, undefined);
  });

  it("matches the README's table of settings: names, variables, flags and defaults", () => {
    const readme = readFileSync(path.join(import.meta.dirname, '../../README.md'), 'utf8');
    const lines = readme.split('\n');
    const header = lines.findIndex((line) => line.startsWith('| config file key |'));
    assert.ok(header >= 0, 'the README has the table of settings');
    const rows = new Map<string, string[]>();
    for (const line of lines.slice(header + 2)) {
      if (!line.startsWith('|')) break;
      const cells = line
        .split('|')
        .slice(1, 5)
        .map((cell) => cell.trim().replaceAll('`', ''));
      rows.set(cells[0] ?? '', cells);
    }
    assert.deepEqual(
      [...rows.keys()],
      SETTINGS.map((spec) => spec.key),
    );
    for (const spec of SETTINGS) {
      const flag = spec.flag === undefined ? '—' : `--${spec.flag}`;
      assert.deepEqual(rows.get(spec.key), [spec.key, spec.env, flag, spec.defaultText], spec.key);
    }
  });
});
