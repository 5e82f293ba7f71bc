/**
 * Moving a job's folder (src/disk/folder-move.ts): a rename on one file system; across two (a real
 * tmpfs), a copy that is verified, reports progress, leaves the source whole for the caller to
 * delete, continues after a crash without copying again what was verified, and never writes
 * through a symbolic link.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, stat, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { abandonCopy, type FolderMoveProgress, moveFolder, temporaryFolderFor } from '../../src/disk/folder-move.js';
import { mountTmpfs, type Tmpfs, tmpfsUnavailableReason } from '../helpers/tmpfs.js';
import { tempDir } from '../helpers/wait.js';

const MiB = 1024 * 1024;
const MODE = { file: 0o600, dir: 0o700 };

function bytes(size: number, seed: number): Buffer {
  const buffer = Buffer.alloc(size);
  for (let i = 0; i < size; i++) buffer[i] = (i * 31 + seed) & 0xff;
  return buffer;
}

async function jobFolder(root: string, name: string): Promise<{ folder: string; files: string[] }> {
  const folder = path.join(root, name);
  await mkdir(path.join(folder, 'Subs'), { recursive: true });
  await writeFile(path.join(folder, 'film.mkv'), bytes(3 * MiB + 17, 1));
  await writeFile(path.join(folder, 'Subs', 'en.srt'), bytes(1000, 2));
  return { folder, files: ['film.mkv', 'Subs/en.srt', 'never-written.nfo'] };
}

describe('moving a job folder', () => {
  let work: Awaited<ReturnType<typeof tempDir>>;
  let tmpfs: Tmpfs;
  before(async () => {
    const reason = tmpfsUnavailableReason();
    assert.equal(reason, null, `these tests need a tmpfs mount: ${reason}`);
    work = await tempDir();
    tmpfs = mountTmpfs(64 * MiB, 'chilly-move-');
  });
  after(async () => {
    tmpfs.unmount();
    await work.cleanup();
  });

  test('on one file system the folder is renamed: same inode, nothing copied', async () => {
    const { folder, files } = await jobFolder(work.dir, 'one-fs');
    const inode = (await stat(path.join(folder, 'film.mkv'))).ino;
    const to = path.join(work.dir, 'elsewhere', 'one-fs');
    await mkdir(path.dirname(to));
    const result = await moveFolder({ from: folder, to, files, mode: MODE });
    assert.deepEqual(result, { how: 'renamed', bytesCopied: 0 });
    assert.equal((await stat(path.join(to, 'film.mkv'))).ino, inode);
    assert.equal(existsSync(folder), false);
  });

  test('across file systems every file is copied and verified, with progress; the source stays whole', async () => {
    const { folder, files } = await jobFolder(work.dir, 'two-fs');
    const to = path.join(tmpfs.dir, 'two-fs');
    const seen: FolderMoveProgress[] = [];
    const result = await moveFolder({ from: folder, to, files, mode: MODE, onProgress: (p) => seen.push(p) });
    assert.equal(result.how, 'copied');
    assert.equal(result.bytesCopied, 3 * MiB + 17 + 1000);
    assert.deepEqual(await readFile(path.join(to, 'film.mkv')), bytes(3 * MiB + 17, 1));
    assert.deepEqual(await readFile(path.join(to, 'Subs', 'en.srt')), bytes(1000, 2));
    assert.ok(existsSync(path.join(folder, 'film.mkv')), 'the caller deletes the source once the move is recorded');
    assert.equal(existsSync(temporaryFolderFor(to)), false);
    assert.deepEqual(seen.at(-1), { bytesDone: 3 * MiB + 1017, bytesTotal: 3 * MiB + 1017 });
    assert.ok(seen.length >= 4, 'progress comes in steps');
    assert.equal(((await stat(to)).mode & 0o777).toString(8), '700');
  });

  test('a copy cut short continues: a verified file is kept as it is, a partial one is copied again', async () => {
    const { folder, files } = await jobFolder(work.dir, 'resumed');
    const to = path.join(tmpfs.dir, 'resumed');
    const temporary = temporaryFolderFor(to);
    await mkdir(path.join(temporary, 'Subs'), { recursive: true });
    await writeFile(path.join(temporary, 'Subs', 'en.srt'), bytes(1000, 2));
    await writeFile(path.join(temporary, 'film.mkv.chilly-partial'), bytes(5 * MiB, 9));
    const keptInode = (await stat(path.join(temporary, 'Subs', 'en.srt'))).ino;
    const result = await moveFolder({ from: folder, to, files, mode: MODE });
    assert.equal(result.bytesCopied, 3 * MiB + 17, 'only the unfinished file was copied');
    assert.equal((await stat(path.join(to, 'Subs', 'en.srt'))).ino, keptInode);
    assert.deepEqual(await readFile(path.join(to, 'film.mkv')), bytes(3 * MiB + 17, 1));
    assert.deepEqual((await readdir(to)).sort(), ['Subs', 'film.mkv']);
  });

  test('an existing destination is refused, and an abandoned copy is deleted', async () => {
    const { folder, files } = await jobFolder(work.dir, 'taken');
    const to = path.join(tmpfs.dir, 'taken');
    await mkdir(to);
    await assert.rejects(moveFolder({ from: folder, to, files, mode: MODE }), { code: 'invalid_destination' });
    await mkdir(temporaryFolderFor(path.join(tmpfs.dir, 'gone')));
    await abandonCopy(path.join(tmpfs.dir, 'gone'));
    assert.equal(existsSync(temporaryFolderFor(path.join(tmpfs.dir, 'gone'))), false);
  });

  test('a symbolic link in the job folder is refused, not followed; nothing appears at the destination', async () => {
    const { folder } = await jobFolder(work.dir, 'linked');
    const secret = path.join(work.dir, 'secret.txt');
    await writeFile(secret, 'not the job’s');
    await symlink(secret, path.join(folder, 'link.mkv'));
    const to = path.join(tmpfs.dir, 'linked');
    await assert.rejects(moveFolder({ from: folder, to, files: ['link.mkv', 'film.mkv'], mode: MODE }), {
      code: 'unsafe_path',
    });
    assert.equal(existsSync(to), false);
    const nothing = await moveFolder({ from: folder, to, files: ['../secret.txt'], mode: MODE }).catch(
      (error: unknown) => error,
    );
    assert.equal((nothing as { code?: string }).code, 'unsafe_path');
    assert.equal(existsSync(to), false);
  });
});
