/**
 * Issue 18, the library folder on real files: hard links on the same file system, copies with
 * progress onto another (a real tmpfs mount), the layout of several films (versions, namesakes),
 * moving an entry when its film changes, removing only what is still Chilly's, planted symbolic
 * links, a crash in the middle of a copy (a child process killed), and safe titles fuzzed.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { lstat, mkdir, readdir, readFile, rename, stat, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { ChillyError } from '../../src/domain/errors.js';
import { type LibraryEntryInput, LibraryFolder, MANIFEST_NAME } from '../../src/library/library-folder.js';
import { isWindowsReservedName, MAX_TITLE_BYTES, safeTitle, utf8Length } from '../../src/library/library-names.js';
import { REPO_ROOT } from '../helpers/cli-run.js';
import { mountTmpfs, tmpfsUnavailableReason } from '../helpers/tmpfs.js';
import { tempDir } from '../helpers/wait.js';

const KiB = 1024;
const MiB = 1024 * KiB;

const tmpfsSkip = tmpfsUnavailableReason() ?? false;

const NOTLD = { title: 'Night of the Living Dead', year: 1968, tmdbId: 10331, imdbId: 'tt0063350' };
const NOTLD_DIR = 'Night of the Living Dead (1968)';

/** Deterministic bytes from a seed (a different film has different bytes). */
function bytesOf(seed: number, size: number): Buffer {
  const bytes = Buffer.alloc(size);
  let state = seed * 2654435761 || 1;
  for (let i = 0; i < size; i++) {
    state = (state * 1103515245 + 12345) >>> 0;
    bytes[i] = state >>> 24;
  }
  return bytes;
}

interface Work {
  dir: string;
  root: string;
  library: LibraryFolder;
  /** Writes a job's file under `<dir>/jobs/<jobId>/` and returns its absolute path. */
  jobFile(jobId: string, name: string, content: Uint8Array | string): Promise<string>;
}

async function withWork(run: (work: Work) => Promise<void>, root?: string): Promise<void> {
  const { dir, cleanup } = await tempDir('chilly-library-');
  try {
    const libraryRoot = root ?? path.join(dir, 'library');
    await run({
      dir,
      root: libraryRoot,
      library: new LibraryFolder({ root: libraryRoot }),
      async jobFile(jobId, name, content) {
        const folder = path.join(dir, 'jobs', jobId);
        await mkdir(folder, { recursive: true });
        const file = path.join(folder, name);
        await writeFile(file, content);
        return file;
      },
    });
  } finally {
    await cleanup();
  }
}

/** Every path under `dir`, folders ending with '/', sorted; symbolic links shown as `name -> target`. */
async function tree(dir: string, prefix = ''): Promise<string[]> {
  const lines: string[] = [];
  const entries = (await readdir(dir, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : 1));
  for (const entry of entries) {
    const relative = `${prefix}${entry.name}`;
    if (entry.isDirectory()) {
      lines.push(`${relative}/`, ...(await tree(path.join(dir, entry.name), `${relative}/`)));
    } else {
      lines.push(relative);
    }
  }
  return lines;
}

function partialsUnder(dir: string): string[] {
  const found: string[] = [];
  const walk = (folder: string): void => {
    for (const entry of readdirSync(folder, { withFileTypes: true })) {
      if (entry.name.endsWith('.chilly-partial')) found.push(path.join(folder, entry.name));
      if (entry.isDirectory()) walk(path.join(folder, entry.name));
    }
  };
  walk(dir);
  return found;
}

async function rejectsWith(promise: Promise<unknown>, code: string): Promise<ChillyError> {
  let caught: unknown;
  await assert.rejects(promise, (error: unknown) => {
    caught = error;
    return true;
  });
  assert.ok(caught instanceof ChillyError, `expected a ChillyError, got ${String(caught)}`);
  assert.equal(caught.code, code, caught.message);
  return caught;
}

async function fullEntry(work: Work, jobId: string): Promise<LibraryEntryInput> {
  const video = await work.jobFile(
    jobId,
    'Night.of.the.Living.Dead.1968.1080p.BluRay.x264-GRP.mkv',
    bytesOf(1, 64 * KiB),
  );
  const sub = (name: string, text: string) => work.jobFile(jobId, name, `1\n00:00:01,000 --> 00:00:02,000\n${text}\n`);
  return {
    jobId,
    movie: { ...NOTLD, plot: 'They are coming to get you, Barbara.', runtimeMinutes: 96, genres: ['Horror'] },
    quality: '1080p',
    video: { path: video },
    subtitles: [
      { path: await sub('en.srt', 'English'), language: 'en', format: 'srt' },
      { path: await sub('en-forced.srt', 'Forced'), language: 'en', forced: true, format: 'srt' },
      { path: await sub('en-sdh.srt', '[door creaks]'), language: 'en', sdh: true, format: 'srt' },
      { path: await sub('en-2.srt', 'English again'), language: 'eng', format: 'subrip' },
      { path: await sub('en-3.srt', 'English, a third'), language: 'eng', format: 'srt' },
      { path: await sub('unknown.ass', 'Unknown language'), language: null, format: 'ass' },
      { path: await sub('unknown2.vtt', 'Unknown again'), language: 'not a language', format: 'webvtt' },
    ],
    poster: bytesOf(7, 2 * KiB),
  };
}

describe('placing a film on the same file system: a hard link', () => {
  test('Title (Year)/Title (Year).mkv is the job file itself (same inode, two links), with subtitles, poster, movie.nfo and the manifest', async () => {
    await withWork(async (work) => {
      const input = await fullEntry(work, 'job-a');
      const progress: [number, number][] = [];
      const placement = await work.library.place(input, { onProgress: (done, total) => progress.push([done, total]) });

      assert.equal(placement.jobId, 'job-a');
      assert.equal(placement.folder, NOTLD_DIR);
      assert.deepEqual(
        placement.files.map((file) => [file.role, file.name, file.linked]),
        [
          ['video', `${NOTLD_DIR}.mkv`, true],
          ['subtitle', `${NOTLD_DIR}.en.srt`, false],
          ['subtitle', `${NOTLD_DIR}.en.forced.srt`, false],
          ['subtitle', `${NOTLD_DIR}.en.sdh.srt`, false],
          ['subtitle', `${NOTLD_DIR}.eng.srt`, false],
          ['subtitle', `${NOTLD_DIR}.eng.2.srt`, false],
          ['subtitle', `${NOTLD_DIR}.ass`, false],
          ['subtitle', `${NOTLD_DIR}.vtt`, false],
          ['poster', 'poster.jpg', false],
          ['nfo', 'movie.nfo', false],
        ],
      );
      assert.deepEqual(progress, [[64 * KiB, 64 * KiB]]);

      const job = await stat(input.video.path);
      const placed = await stat(path.join(work.root, NOTLD_DIR, `${NOTLD_DIR}.mkv`));
      assert.equal(placed.ino, job.ino);
      assert.equal(placed.dev, job.dev);
      assert.equal(placed.nlink, 2);
      assert.deepEqual(placement.files[0], {
        role: 'video',
        name: `${NOTLD_DIR}.mkv`,
        dev: job.dev,
        ino: job.ino,
        size: 64 * KiB,
        linked: true,
      });

      const folder = path.join(work.root, NOTLD_DIR);
      assert.equal((await stat(folder)).mode & 0o777, 0o755);
      assert.equal((await stat(work.root)).mode & 0o777, 0o755);
      for (const file of placement.files.slice(1)) {
        const stats = await lstat(path.join(folder, file.name));
        assert.equal(stats.mode & 0o777, 0o644, file.name);
        assert.equal(stats.ino, file.ino, file.name);
        assert.equal(stats.size, file.size, file.name);
      }
      assert.equal(
        await readFile(path.join(folder, `${NOTLD_DIR}.en.forced.srt`), 'utf8'),
        await readFile(input.subtitles[1]?.path ?? '', 'utf8'),
      );
      assert.deepEqual(await readFile(path.join(folder, 'poster.jpg')), Buffer.from(input.poster ?? []));
      const nfo = await readFile(path.join(folder, 'movie.nfo'), 'utf8');
      assert.match(nfo, /<title>Night of the Living Dead<\/title>/);
      assert.match(nfo, /<uniqueid type="tmdb" default="true">10331<\/uniqueid>/);
      assert.match(nfo, /<tmdbid>10331<\/tmdbid>/);

      const manifest = JSON.parse(await readFile(path.join(folder, MANIFEST_NAME), 'utf8'));
      assert.equal(manifest.entries.length, 1);
      assert.equal(manifest.entries[0].jobId, 'job-a');
      assert.deepEqual(manifest.entries[0].files, placement.files);
      assert.deepEqual(partialsUnder(work.root), []);
    });
  });

  test('placing the same input again returns the same placement and writes nothing', async () => {
    await withWork(async (work) => {
      const input = await fullEntry(work, 'job-a');
      const first = await work.library.place(input);
      const folder = path.join(work.root, NOTLD_DIR);
      const before = await Promise.all(
        [MANIFEST_NAME, ...first.files.map((file) => file.name)].map(async (name) => {
          const stats = await lstat(path.join(folder, name));
          return [name, stats.ino, stats.mtimeMs, stats.ctimeMs];
        }),
      );
      const folderBefore = await lstat(folder);

      assert.deepEqual(await work.library.place(input), first);
      assert.deepEqual(await work.library.place({ ...input, existing: first }), first);
      // A JSON round trip (what SQLite gives back) is as good.
      assert.deepEqual(await work.library.place({ ...input, existing: JSON.parse(JSON.stringify(first)) }), first);

      const after = await Promise.all(
        [MANIFEST_NAME, ...first.files.map((file) => file.name)].map(async (name) => {
          const stats = await lstat(path.join(folder, name));
          return [name, stats.ino, stats.mtimeMs, stats.ctimeMs];
        }),
      );
      assert.deepEqual(after, before);
      assert.equal((await lstat(folder)).mtimeMs, folderBefore.mtimeMs);
      assert.equal((await stat(input.video.path)).nlink, 2);
    });
  });

  test('a changed subtitle is rewritten, a poster edited by the user is theirs from then on', async () => {
    await withWork(async (work) => {
      const input = await fullEntry(work, 'job-a');
      const first = await work.library.place(input);
      const folder = path.join(work.root, NOTLD_DIR);
      await writeFile(input.subtitles[0]?.path ?? '', '1\n00:00:01,000 --> 00:00:02,000\nFixed timing\n');
      await writeFile(path.join(folder, 'poster.jpg'), 'my own poster');
      const second = await work.library.place({ ...input, existing: first });
      assert.match(await readFile(path.join(folder, `${NOTLD_DIR}.en.srt`), 'utf8'), /Fixed timing/);
      assert.equal(await readFile(path.join(folder, 'poster.jpg'), 'utf8'), 'my own poster');
      assert.ok(!second.files.some((file) => file.role === 'poster'));
    });
  });
});

describe('refused before anything is written', () => {
  test('a missing subtitle or video is files_missing, and no empty folder is left behind', async () => {
    await withWork(async (work) => {
      const video = await work.jobFile('job-a', 'film.mkv', bytesOf(1, KiB));
      await rejectsWith(
        work.library.place({
          jobId: 'job-a',
          movie: NOTLD,
          video: { path: video },
          subtitles: [{ path: path.join(work.dir, 'gone.srt'), language: 'en', format: 'srt' }],
        }),
        'files_missing',
      );
      await rejectsWith(
        work.library.place({ jobId: 'job-a', movie: NOTLD, video: { path: `${video}.gone` }, subtitles: [] }),
        'files_missing',
      );
      assert.deepEqual(await tree(work.root), []);
      assert.equal((await stat(video)).nlink, 1);
    });
  });
});

describe('placing a film on another file system: a copy', { skip: tmpfsSkip }, () => {
  test('copied in chunks with progress, byte for byte, on its own device; never visible half-written', async () => {
    const tmpfs = mountTmpfs(16 * MiB, 'chilly-library-tmpfs-');
    try {
      await withWork(
        async (work) => {
          const content = bytesOf(3, 3 * MiB + 123);
          const video = await work.jobFile('job-copy', 'film.mp4', content);
          const progress: [number, number][] = [];
          const finalPath = path.join(tmpfs.dir, 'library', NOTLD_DIR, `${NOTLD_DIR}.mp4`);
          let seenHalfWritten = false;
          const placement = await work.library.place(
            { jobId: 'job-copy', movie: NOTLD, video: { path: video }, subtitles: [] },
            {
              onProgress: (done, total) => {
                progress.push([done, total]);
                if (done < total && readdirSync(path.dirname(finalPath)).includes(path.basename(finalPath))) {
                  seenHalfWritten = true;
                }
              },
            },
          );
          assert.equal(seenHalfWritten, false);
          const video0 = placement.files[0];
          assert.equal(video0?.name, `${NOTLD_DIR}.mp4`);
          assert.equal(video0?.linked, false);
          const job = await stat(video);
          const copy = await stat(finalPath);
          assert.notEqual(copy.dev, job.dev);
          assert.equal(job.nlink, 1);
          assert.equal(copy.mode & 0o777, 0o644);
          assert.deepEqual(await readFile(finalPath), content);
          assert.deepEqual(progress[0], [0, content.length]);
          assert.deepEqual(progress.at(-1), [content.length, content.length]);
          assert.ok(progress.length >= 4, `${progress.length} progress reports`);
          for (let i = 1; i < progress.length; i++) assert.ok((progress[i]?.[0] ?? 0) > (progress[i - 1]?.[0] ?? 0));
          assert.deepEqual(partialsUnder(tmpfs.dir), []);
          // Again: nothing copied a second time.
          const again: number[] = [];
          assert.deepEqual(
            await work.library.place(
              { jobId: 'job-copy', movie: NOTLD, video: { path: video }, subtitles: [], existing: placement },
              { onProgress: (done) => again.push(done) },
            ),
            placement,
          );
          assert.deepEqual(again, []);
        },
        path.join(tmpfs.dir, 'library'),
      );
    } finally {
      tmpfs.unmount();
    }
  });

  test('an aborted copy leaves nothing: no partial file, no final name, no new folder', async () => {
    const tmpfs = mountTmpfs(16 * MiB, 'chilly-library-tmpfs-');
    try {
      await withWork(
        async (work) => {
          const video = await work.jobFile('job-abort', 'film.mkv', bytesOf(4, 4 * MiB));
          const controller = new AbortController();
          await assert.rejects(
            work.library.place(
              { jobId: 'job-abort', movie: NOTLD, video: { path: video }, subtitles: [] },
              { signal: controller.signal, onProgress: (done) => done > 0 && controller.abort() },
            ),
            { name: 'AbortError' },
          );
          assert.deepEqual(await tree(work.root), []);
        },
        path.join(tmpfs.dir, 'library'),
      );
    } finally {
      tmpfs.unmount();
    }
  });

  test('a full library disk is disk_full, and leaves nothing behind', async () => {
    const tmpfs = mountTmpfs(1 * MiB, 'chilly-library-tmpfs-');
    try {
      await withWork(
        async (work) => {
          const video = await work.jobFile('job-full', 'film.mkv', bytesOf(5, 3 * MiB));
          await rejectsWith(
            work.library.place({ jobId: 'job-full', movie: NOTLD, video: { path: video }, subtitles: [] }),
            'disk_full',
          );
          assert.deepEqual(await tree(work.root), []);
        },
        path.join(tmpfs.dir, 'library'),
      );
    } finally {
      tmpfs.unmount();
    }
  });
});

describe('several films in one library', () => {
  test('a second version joins the film folder with a quality suffix; namesakes get folders of their own', async () => {
    await withWork(async (work) => {
      const place = async (jobId: string, movie: LibraryEntryInput['movie'], quality: string, withSub = true) => {
        const video = await work.jobFile(jobId, `${jobId}.mkv`, bytesOf(jobId.length * 13 + quality.length, 8 * KiB));
        const subtitle = await work.jobFile(jobId, `${jobId}.srt`, `subtitle of ${jobId}\n`);
        return work.library.place({
          jobId,
          movie,
          quality,
          video: { path: video },
          subtitles: withSub ? [{ path: subtitle, language: 'en', format: 'srt' }] : [],
          poster: Buffer.from(`poster of ${jobId}`),
        });
      };
      const a = await place('job-a', NOTLD, '1080p');
      const b = await place('job-b', NOTLD, '720p');
      const hamlet = await place('job-c', { title: 'Hamlet', year: 1990, tmdbId: 10264 }, '1080p', false);
      const otherHamlet = await place('job-d', { title: 'Hamlet', year: 1990, tmdbId: 99999 }, '1080p', false);
      const unknownHamlet = await place('job-e', { title: 'Hamlet', year: 1990 }, '480p', false);
      const anotherUnknown = await place('job-f', { title: 'Hamlet', year: 1990 }, '480p', false);

      assert.deepEqual(await tree(work.root), [
        'Hamlet (1990)/',
        'Hamlet (1990)/.chilly-library.json',
        'Hamlet (1990)/Hamlet (1990).mkv',
        'Hamlet (1990)/movie.nfo',
        'Hamlet (1990)/poster.jpg',
        'Hamlet (1990) (2)/',
        'Hamlet (1990) (2)/.chilly-library.json',
        'Hamlet (1990) (2)/Hamlet (1990) (2).mkv',
        'Hamlet (1990) (2)/movie.nfo',
        'Hamlet (1990) (2)/poster.jpg',
        'Hamlet (1990) (3)/',
        'Hamlet (1990) (3)/.chilly-library.json',
        'Hamlet (1990) (3)/Hamlet (1990) (3).mkv',
        'Hamlet (1990) (3)/movie.nfo',
        'Hamlet (1990) (3)/poster.jpg',
        'Hamlet (1990) [tmdbid-99999]/',
        'Hamlet (1990) [tmdbid-99999]/.chilly-library.json',
        'Hamlet (1990) [tmdbid-99999]/Hamlet (1990) [tmdbid-99999].mkv',
        'Hamlet (1990) [tmdbid-99999]/movie.nfo',
        'Hamlet (1990) [tmdbid-99999]/poster.jpg',
        `${NOTLD_DIR}/`,
        `${NOTLD_DIR}/.chilly-library.json`,
        `${NOTLD_DIR}/${NOTLD_DIR} - 720p.en.srt`,
        `${NOTLD_DIR}/${NOTLD_DIR} - 720p.mkv`,
        `${NOTLD_DIR}/${NOTLD_DIR}.en.srt`,
        `${NOTLD_DIR}/${NOTLD_DIR}.mkv`,
        `${NOTLD_DIR}/movie.nfo`,
        `${NOTLD_DIR}/poster.jpg`,
      ]);
      assert.equal(a.folder, NOTLD_DIR);
      assert.equal(b.folder, NOTLD_DIR);
      assert.equal(hamlet.folder, 'Hamlet (1990)');
      assert.equal(otherHamlet.folder, 'Hamlet (1990) [tmdbid-99999]');
      assert.equal(unknownHamlet.folder, 'Hamlet (1990) (2)');
      assert.equal(anotherUnknown.folder, 'Hamlet (1990) (3)');
      // The second version shares the first one's poster and movie.nfo (the first job's poster stays).
      assert.equal(await readFile(path.join(work.root, NOTLD_DIR, 'poster.jpg'), 'utf8'), 'poster of job-a');
      assert.deepEqual(
        b.files.map((file) => [file.role, file.name]),
        [
          ['video', `${NOTLD_DIR} - 720p.mkv`],
          ['subtitle', `${NOTLD_DIR} - 720p.en.srt`],
          ['poster', 'poster.jpg'],
          ['nfo', 'movie.nfo'],
        ],
      );

      const listing = await work.library.list();
      assert.deepEqual(
        listing.map((folder) => [folder.folder, folder.jobIds, folder.movie.tmdbId]),
        [
          ['Hamlet (1990)', ['job-c'], 10264],
          ['Hamlet (1990) (2)', ['job-e'], null],
          ['Hamlet (1990) (3)', ['job-f'], null],
          ['Hamlet (1990) [tmdbid-99999]', ['job-d'], 99999],
          [NOTLD_DIR, ['job-a', 'job-b'], 10331],
        ],
      );
      const notld = listing.at(-1);
      assert.ok(notld?.files.every((file) => file.state === 'ok'));
      assert.deepEqual(
        notld?.files.filter((file) => file.jobId === 'job-b').map((file) => file.name),
        b.files.map((file) => file.name),
      );

      // Removing the first version keeps what the second still uses; removing the second empties the folder.
      const removedA = await work.library.remove(a);
      assert.deepEqual(removedA.removed.sort(), [`${NOTLD_DIR}/${NOTLD_DIR}.en.srt`, `${NOTLD_DIR}/${NOTLD_DIR}.mkv`]);
      assert.deepEqual(removedA.kept.sort(), [`${NOTLD_DIR}/movie.nfo`, `${NOTLD_DIR}/poster.jpg`]);
      assert.deepEqual((await work.library.list()).at(-1)?.jobIds, ['job-b']);
      const removedB = await work.library.remove(b);
      assert.equal(removedB.removed.length, 4);
      assert.deepEqual(removedB.kept, []);
      assert.ok(!(await tree(work.root)).includes(`${NOTLD_DIR}/`));
    });
  });

  test('a folder or file the user made under the film name is never overwritten', async () => {
    await withWork(async (work) => {
      // The user's own folder for the film (no manifest): Chilly takes the next name.
      await mkdir(path.join(work.root, NOTLD_DIR), { recursive: true });
      await writeFile(path.join(work.root, NOTLD_DIR, `${NOTLD_DIR}.mkv`), 'the user’s own copy');
      const video = await work.jobFile('job-a', 'film.mkv', bytesOf(1, 4 * KiB));
      const placement = await work.library.place({
        jobId: 'job-a',
        movie: NOTLD,
        video: { path: video },
        subtitles: [],
      });
      assert.equal(placement.folder, `${NOTLD_DIR} [tmdbid-10331]`);
      assert.equal(await readFile(path.join(work.root, NOTLD_DIR, `${NOTLD_DIR}.mkv`), 'utf8'), 'the user’s own copy');

      // A file of the user's inside Chilly's folder under the next version's name: the next name.
      const folder = path.join(work.root, placement.folder);
      await writeFile(path.join(folder, `${placement.folder} - 720p.mkv`), 'user file');
      const video2 = await work.jobFile('job-b', 'film.mkv', bytesOf(2, 4 * KiB));
      const second = await work.library.place({
        jobId: 'job-b',
        movie: NOTLD,
        quality: '720p',
        video: { path: video2 },
        subtitles: [],
      });
      assert.equal(second.folder, placement.folder);
      assert.equal(second.files[0]?.name, `${placement.folder} - 720p (2).mkv`);
      assert.equal(await readFile(path.join(folder, `${placement.folder} - 720p.mkv`), 'utf8'), 'user file');

      // This job's own film replaced by the user: library_conflict, and the user's file stays.
      const own = path.join(folder, `${placement.folder}.mkv`);
      await writeFile(`${own}.new`, 'replaced by the user');
      await rename(`${own}.new`, own);
      await rejectsWith(
        work.library.place({
          jobId: 'job-a',
          movie: NOTLD,
          video: { path: video },
          subtitles: [],
          existing: placement,
        }),
        'library_conflict',
      );
      assert.equal(await readFile(own, 'utf8'), 'replaced by the user');
    });
  });
});

describe('moving an entry when its film changes', () => {
  test('wrongly matched, then corrected: the folder and files are renamed, the film keeps its inode, the old folder goes', async () => {
    await withWork(async (work) => {
      const input = await fullEntry(work, 'job-a');
      const wrong = { title: 'Night of the Living Dead', year: 1990, tmdbId: 23069 };
      const first = await work.library.place({ ...input, movie: wrong });
      assert.equal(first.folder, 'Night of the Living Dead (1990)');
      const inode = first.files[0]?.ino;
      const progress: number[] = [];
      const moved = await work.library.place(
        { ...input, existing: first },
        { onProgress: (done) => progress.push(done) },
      );
      assert.equal(moved.folder, NOTLD_DIR);
      assert.equal(moved.files[0]?.name, `${NOTLD_DIR}.mkv`);
      assert.equal(moved.files[0]?.ino, inode);
      assert.equal((await stat(input.video.path)).nlink, 2);
      assert.deepEqual(
        (await tree(work.root)).filter((line) => line.endsWith('/')),
        [`${NOTLD_DIR}/`],
      );
      assert.match(await readFile(path.join(work.root, NOTLD_DIR, 'movie.nfo'), 'utf8'), /<year>1968<\/year>/);
      assert.deepEqual(await readFile(path.join(work.root, NOTLD_DIR, 'poster.jpg')), Buffer.from(input.poster ?? []));
      assert.deepEqual(progress, [64 * KiB]);
      // And idempotent from there.
      assert.deepEqual(await work.library.place({ ...input, existing: moved }), moved);
    });
  });

  test('in a folder shared with another version, only this job’s files move', async () => {
    await withWork(async (work) => {
      const videoA = await work.jobFile('job-a', 'a.mkv', bytesOf(1, 4 * KiB));
      const videoB = await work.jobFile('job-b', 'b.mkv', bytesOf(2, 4 * KiB));
      const subB = await work.jobFile('job-b', 'b.srt', 'subtitle b\n');
      const a = await work.library.place({ jobId: 'job-a', movie: NOTLD, video: { path: videoA }, subtitles: [] });
      const inputB: LibraryEntryInput = {
        jobId: 'job-b',
        movie: NOTLD,
        quality: '720p',
        video: { path: videoB },
        subtitles: [{ path: subB, language: 'fr', format: 'srt' }],
      };
      const b = await work.library.place(inputB);
      assert.equal(b.files[0]?.name, `${NOTLD_DIR} - 720p.mkv`);
      const movedB = await work.library.place({
        ...inputB,
        movie: { title: 'Dawn of the Dead', year: 1978, tmdbId: 923 },
        existing: b,
      });
      assert.deepEqual(await tree(work.root), [
        'Dawn of the Dead (1978)/',
        'Dawn of the Dead (1978)/.chilly-library.json',
        'Dawn of the Dead (1978)/Dawn of the Dead (1978).fr.srt',
        'Dawn of the Dead (1978)/Dawn of the Dead (1978).mkv',
        'Dawn of the Dead (1978)/movie.nfo',
        `${NOTLD_DIR}/`,
        `${NOTLD_DIR}/.chilly-library.json`,
        `${NOTLD_DIR}/${NOTLD_DIR}.mkv`,
        `${NOTLD_DIR}/movie.nfo`,
      ]);
      assert.equal(movedB.files[0]?.ino, b.files[0]?.ino);
      const listing = await work.library.list();
      assert.deepEqual(
        listing.map((folder) => [folder.folder, folder.jobIds]),
        [
          ['Dawn of the Dead (1978)', ['job-b']],
          [NOTLD_DIR, ['job-a']],
        ],
      );
      assert.ok(listing.every((folder) => folder.files.every((file) => file.state === 'ok')));
      assert.equal((await work.library.remove(a)).removed.length, 2);
    });
  });
});

describe('removing', () => {
  test('only what is still Chilly’s: a subtitle the user replaced (new inode) or edited stays', async () => {
    await withWork(async (work) => {
      const input = await fullEntry(work, 'job-a');
      const placement = await work.library.place(input);
      const folder = path.join(work.root, NOTLD_DIR);
      const replaced = path.join(folder, `${NOTLD_DIR}.en.srt`);
      await writeFile(`${replaced}.tmp`, 'the user’s better subtitle');
      await rename(`${replaced}.tmp`, replaced);
      await writeFile(path.join(folder, `${NOTLD_DIR}.en.sdh.srt`), 'edited in place, longer than before');
      await writeFile(path.join(folder, 'notes.txt'), 'the user’s notes');

      const result = await work.library.remove(placement);
      assert.deepEqual(result.kept.sort(), [
        `${NOTLD_DIR}/${NOTLD_DIR}.en.sdh.srt`,
        `${NOTLD_DIR}/${NOTLD_DIR}.en.srt`,
      ]);
      assert.equal(result.removed.length, placement.files.length - 2);
      assert.ok(result.removed.includes(`${NOTLD_DIR}/${NOTLD_DIR}.mkv`));
      assert.deepEqual(await tree(work.root), [
        `${NOTLD_DIR}/`,
        `${NOTLD_DIR}/${NOTLD_DIR}.en.sdh.srt`,
        `${NOTLD_DIR}/${NOTLD_DIR}.en.srt`,
        `${NOTLD_DIR}/notes.txt`,
      ]);
      assert.equal(await readFile(replaced, 'utf8'), 'the user’s better subtitle');
      // The job's own file is untouched: one link again.
      const job = await stat(input.video.path);
      assert.equal(job.nlink, 1);
      assert.deepEqual(await work.library.list(), []);
      // Removing again is harmless.
      assert.deepEqual(await work.library.remove(placement), {
        removed: [],
        kept: [`${NOTLD_DIR}/${NOTLD_DIR}.en.srt`, `${NOTLD_DIR}/${NOTLD_DIR}.en.sdh.srt`],
      });
    });
  });

  test('a placement that names a path outside the library is refused', async () => {
    await withWork(async (work) => {
      await mkdir(work.root, { recursive: true });
      for (const folder of ['..', '.', '../jobs', 'a/b', '']) {
        await rejectsWith(work.library.remove({ jobId: 'job-a', folder, files: [] }), 'unsafe_path');
      }
      await rejectsWith(
        work.library.remove({
          jobId: 'job-a',
          folder: NOTLD_DIR,
          files: [{ role: 'video', name: '../../jobs/job-a/film.mkv', dev: 0, ino: 0, size: 0, linked: true }],
        }),
        'unsafe_path',
      );
    });
  });
});

describe('symbolic links planted in the library', () => {
  test('a link under the film folder name is never followed: another name is chosen, nothing is written outside', async () => {
    await withWork(async (work) => {
      const outside = path.join(work.dir, 'outside');
      await mkdir(outside);
      await mkdir(work.root, { recursive: true });
      await symlink(outside, path.join(work.root, NOTLD_DIR));
      await symlink(outside, path.join(work.root, `${NOTLD_DIR} [tmdbid-10331]`));
      const input = await fullEntry(work, 'job-a');
      const placement = await work.library.place(input);
      assert.equal(placement.folder, `${NOTLD_DIR} (2)`);
      assert.deepEqual(await readdir(outside), []);
      assert.ok((await lstat(path.join(work.root, NOTLD_DIR))).isSymbolicLink());

      // A placement pointing at the link: removing refuses rather than deleting through it.
      await rejectsWith(work.library.remove({ ...placement, folder: NOTLD_DIR }), 'unsafe_path');
      // An `existing` placement naming the link is not used either.
      assert.deepEqual(
        await work.library.place({ ...input, existing: { ...placement, folder: NOTLD_DIR } }),
        placement,
      );
      assert.deepEqual(await readdir(outside), []);
    });
  });

  test('links planted as file names inside Chilly’s folder are not written through', async () => {
    await withWork(async (work) => {
      const outside = path.join(work.dir, 'outside');
      await mkdir(outside);
      const victim = path.join(outside, 'victim.txt');
      await writeFile(victim, 'precious');
      const input = await fullEntry(work, 'job-a');
      const placement = await work.library.place(input);
      const folder = path.join(work.root, NOTLD_DIR);
      // movie.nfo swapped for a link: it is no longer Chilly's, left alone.
      await rename(path.join(folder, 'movie.nfo'), path.join(work.dir, 'moved-away.nfo'));
      await symlink(victim, path.join(folder, 'movie.nfo'));
      // A subtitle name a new subtitle would take, planted as a link.
      await symlink(victim, path.join(folder, `${NOTLD_DIR}.de.srt`));
      const german = await work.jobFile('job-a', 'de.srt', 'Deutsch\n');
      const again = await work.library.place({
        ...input,
        movie: { ...input.movie, plot: 'A changed plot, so movie.nfo would be rewritten.' },
        subtitles: [...input.subtitles, { path: german, language: 'de', format: 'srt' }],
        existing: placement,
      });
      assert.equal(await readFile(victim, 'utf8'), 'precious');
      assert.ok(!again.files.some((file) => file.role === 'nfo'));
      assert.equal(again.files.find((file) => file.name.includes('.de.'))?.name, `${NOTLD_DIR}.de.2.srt`);
      assert.equal(await readFile(path.join(folder, `${NOTLD_DIR}.de.2.srt`), 'utf8'), 'Deutsch\n');
      const result = await work.library.remove(again);
      assert.equal(await readFile(victim, 'utf8'), 'precious');
      assert.ok((await lstat(path.join(folder, 'movie.nfo'))).isSymbolicLink());
      assert.ok(!result.removed.includes(`${NOTLD_DIR}/movie.nfo`));
    });
  });

  test('a video given as a symbolic link is refused', async () => {
    await withWork(async (work) => {
      const real = await work.jobFile('job-a', 'real.mkv', bytesOf(1, KiB));
      const linked = path.join(path.dirname(real), 'link.mkv');
      await symlink(real, linked);
      await rejectsWith(
        work.library.place({ jobId: 'job-a', movie: NOTLD, video: { path: linked }, subtitles: [] }),
        'unsafe_path',
      );
      await rejectsWith(
        work.library.place({ jobId: 'job-a', movie: NOTLD, video: { path: 'relative.mkv' }, subtitles: [] }),
        'validation_failed',
      );
    });
  });
});

describe('a crash in the middle of a copy', { skip: tmpfsSkip }, () => {
  test('the killed process leaves only a .chilly-partial file, never the final name; recover() deletes it; placing again finishes', async () => {
    const tmpfs = mountTmpfs(32 * MiB, 'chilly-library-tmpfs-');
    try {
      await withWork(
        async (work) => {
          const content = bytesOf(9, 5 * MiB);
          const video = await work.jobFile('job-crash', 'film.mkv', content);
          const script = path.join(work.dir, 'crash.mjs');
          const moduleUrl = new URL(`file://${path.join(REPO_ROOT, 'src/library/library-folder.ts')}`).href;
          await writeFile(
            script,
            `import { LibraryFolder } from ${JSON.stringify(moduleUrl)};
const [root, video] = process.argv.slice(2);
const block = new Int32Array(new SharedArrayBuffer(4));
await new LibraryFolder({ root }).place(
  { jobId: 'job-crash', movie: ${JSON.stringify(NOTLD)}, video: { path: video }, subtitles: [] },
  {
    onProgress(done, total) {
      if (done > 0 && done < total) {
        process.stdout.write('copying\\n');
        Atomics.wait(block, 0, 0, 20000); // stuck mid-copy until killed (bounded)
      }
    },
  },
);
process.stdout.write('finished\\n');
`,
          );
          const child = spawn(process.execPath, ['--import', 'tsx', script, work.root, video], {
            cwd: REPO_ROOT,
            stdio: ['ignore', 'pipe', 'pipe'],
          });
          let stderr = '';
          child.stderr.on('data', (chunk) => {
            stderr += String(chunk);
          });
          const exited = new Promise<NodeJS.Signals | number | null>((resolve) => {
            child.once('exit', (code, signal) => resolve(signal ?? code));
          });
          try {
            await new Promise<void>((resolve, reject) => {
              const timer = setTimeout(() => reject(new Error(`no copy progress within 20 s: ${stderr}`)), 20_000);
              let stdout = '';
              child.stdout.on('data', (chunk) => {
                stdout += String(chunk);
                if (stdout.includes('copying')) {
                  clearTimeout(timer);
                  resolve();
                }
              });
              child.once('exit', () => {
                clearTimeout(timer);
                reject(new Error(`the child ended before copying: ${stderr}`));
              });
            });
          } finally {
            child.kill('SIGKILL');
          }
          assert.equal(await exited, 'SIGKILL');

          const folder = path.join(work.root, NOTLD_DIR);
          const names = await readdir(folder);
          assert.ok(!names.includes(`${NOTLD_DIR}.mkv`), names.join(', '));
          const partials = partialsUnder(work.root);
          assert.equal(partials.length, 1);
          assert.ok(path.basename(partials[0] ?? '').startsWith(`.${NOTLD_DIR}.mkv.`));
          assert.deepEqual(
            (await work.library.list()).map((listing) => listing.files.map((file) => [file.name, file.state])),
            [
              [
                [`${NOTLD_DIR}.mkv`, 'pending'],
                ['movie.nfo', 'pending'],
              ],
            ],
          );

          await work.library.recover();
          assert.deepEqual(partialsUnder(work.root), []);
          assert.ok(!(await readdir(folder)).includes(`${NOTLD_DIR}.mkv`));

          const placement = await work.library.place({
            jobId: 'job-crash',
            movie: NOTLD,
            video: { path: video },
            subtitles: [],
          });
          assert.equal(placement.folder, NOTLD_DIR);
          assert.deepEqual(await readFile(path.join(folder, `${NOTLD_DIR}.mkv`)), content);
          assert.deepEqual(partialsUnder(work.root), []);
        },
        path.join(tmpfs.dir, 'library'),
      );
    } finally {
      tmpfs.unmount();
    }
  });

  test('recover() deletes partial files only, and never through a symbolic link', async () => {
    await withWork(async (work) => {
      const outside = path.join(work.dir, 'outside');
      await mkdir(outside);
      await writeFile(path.join(outside, '.x.chilly-partial'), 'not ours');
      await writeFile(path.join(outside, 'victim.chilly-partial'), 'not ours');
      await mkdir(path.join(work.root, 'Film (2000)'), { recursive: true });
      await writeFile(path.join(work.root, 'Film (2000)', '.Film (2000).mkv.0a1b2c3d.chilly-partial'), 'half');
      await writeFile(path.join(work.root, 'Film (2000)', 'Film (2000).mkv'), 'the user’s');
      await writeFile(path.join(work.root, '.stray.chilly-partial'), 'half');
      await symlink(outside, path.join(work.root, 'Linked (2001)'));
      await symlink(path.join(outside, 'victim.chilly-partial'), path.join(work.root, '.link.chilly-partial'));
      await work.library.recover();
      assert.deepEqual(await tree(work.root), [
        '.link.chilly-partial',
        'Film (2000)/',
        'Film (2000)/Film (2000).mkv',
        'Linked (2001)',
      ]);
      assert.deepEqual((await readdir(outside)).sort(), ['.x.chilly-partial', 'victim.chilly-partial']);
    });
  });
});

describe('safeTitle, fuzzed (fast-check, fixed seed)', () => {
  test('any string gives a non-empty name of bounded length, valid on Windows, macOS and Linux', () => {
    const anyCodeUnit = fc.integer({ min: 0, max: 0xffff }).map((code) => String.fromCharCode(code));
    const tricky = fc.constantFrom(
      '.',
      ' ',
      '..',
      'CON',
      'com1',
      ':',
      '/',
      '\\',
      '?',
      '*',
      '\u202e',
      '😀',
      'e\u0301',
      '\u0000',
    );
    const title = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 300 }),
      fc.string({ unit: anyCodeUnit, maxLength: 200 }),
      fc.array(tricky, { maxLength: 40 }).map((parts) => parts.join('')),
    );
    fc.assert(
      fc.property(title, (raw) => {
        const name = safeTitle(raw);
        assert.ok(name.length > 0);
        assert.ok(utf8Length(name) <= MAX_TITLE_BYTES, name);
        assert.ok(name !== '.' && name !== '..');
        // biome-ignore lint/suspicious/noControlCharactersInRegex: the test looks for them
        assert.doesNotMatch(name, /[<>:"/\\|?*\u0000-\u001f\u007f-\u009f]/);
        assert.doesNotMatch(name, /^[ .]|[ .]$/);
        assert.equal(isWindowsReservedName(name), false, name);
        assert.equal(name, name.normalize('NFC'));
        assert.equal(Buffer.from(name, 'utf8').toString('utf8'), name); // no lone surrogates
        assert.equal(safeTitle(name), name); // already safe: unchanged
      }),
      { seed: 18, numRuns: 200 },
    );
  });
});
