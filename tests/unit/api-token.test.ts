import assert from 'node:assert/strict';
import { chmod, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { loadOrCreateToken, TOKEN_FILE_NAME } from '../../src/api/token.js';
import { ChillyError } from '../../src/domain/errors.js';

const posix = process.platform !== 'win32';

describe('loadOrCreateToken', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'chilly-token-'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('creates 32 random bytes as base64url in a 0600 file, then reads the same one back', async () => {
    const dataDir = path.join(dir, 'data');
    const first = await loadOrCreateToken(dataDir);
    assert.equal(first.source, 'created');
    assert.equal(first.file, path.join(dataDir, TOKEN_FILE_NAME));
    assert.match(first.token, /^[A-Za-z0-9_-]{43}$/);
    assert.equal(Buffer.from(first.token, 'base64url').length, 32);
    if (posix) {
      assert.equal((await stat(path.join(dataDir, TOKEN_FILE_NAME))).mode & 0o777, 0o600);
      assert.equal((await stat(dataDir)).mode & 0o077, 0, 'a new data folder is private too');
    }
    const second = await loadOrCreateToken(dataDir);
    assert.deepEqual(second, { ...first, source: 'file' });
    assert.deepEqual(await readdir(dataDir), [TOKEN_FILE_NAME], 'no temporary files are left');
  });

  it('gives every concurrent starter the same token', async () => {
    const results = await Promise.all(Array.from({ length: 8 }, () => loadOrCreateToken(dir)));
    assert.equal(new Set(results.map((result) => result.token)).size, 1);
    assert.equal(results.filter((result) => result.source === 'created').length, 1);
    assert.equal((await readFile(path.join(dir, TOKEN_FILE_NAME), 'utf8')).trim(), results[0]?.token);
  });

  it('uses the override (CHILLY_TOKEN) and writes nothing', async () => {
    const token = await loadOrCreateToken(dir, 'an-override-token-long-enough');
    assert.deepEqual(token, { token: 'an-override-token-long-enough', file: undefined, source: 'override' });
    assert.deepEqual(await readdir(dir), []);
    await assert.rejects(loadOrCreateToken(dir, 'short'), ChillyError);
  });

  it('refuses a token file that other users can read, and says how to fix it', { skip: !posix }, async () => {
    const file = path.join(dir, TOKEN_FILE_NAME);
    await writeFile(file, 'a-token-written-by-hand-0123456789');
    await chmod(file, 0o644);
    await assert.rejects(loadOrCreateToken(dir), /readable by other users \(mode 644\); run chmod 600/);
    await chmod(file, 0o600);
    assert.equal((await loadOrCreateToken(dir)).token, 'a-token-written-by-hand-0123456789');
  });

  it('refuses a symlink and an empty file', { skip: !posix }, async () => {
    const file = path.join(dir, TOKEN_FILE_NAME);
    await writeFile(path.join(dir, 'elsewhere'), 'x'.repeat(40), { mode: 0o600 });
    await symlink(path.join(dir, 'elsewhere'), file);
    await assert.rejects(loadOrCreateToken(dir), /not a regular file/);
    await rm(file);
    await writeFile(file, '\n', { mode: 0o600 });
    await assert.rejects(loadOrCreateToken(dir), /no usable token/);
  });
});
