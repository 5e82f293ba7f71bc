/**
 * `JobSubtitleReader.all` remembers each job's subtitle files with the file list they came from
 * (every list row and progress event needs them): it must give what `jobSubtitles` gives for the
 * list as it is now, also after the list changed or a remembered answer was modified by a caller.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { emptyProgress, type Job, type JobFile } from '../../src/domain/job.js';
import { JobSubtitleReader, jobSubtitles } from '../../src/service/job-subtitles.js';

function job(files: JobFile[]): Job {
  return {
    id: 'film',
    sourceType: 'torrent',
    sourceUrn: `magnet:?xt=urn:btih:${'a'.repeat(40)}`,
    status: 'downloading',
    files,
    progress: emptyProgress(),
    sequential: false,
    createdAt: '2026-12-02T00:00:00.000Z',
    updatedAt: '2026-12-02T00:00:00.000Z',
  };
}

test('the remembered subtitles follow the job’s file list', () => {
  const reader = new JobSubtitleReader({
    get: () => assert.fail('not read'),
    openFile: () => assert.fail('not read'),
    localPath: () => undefined,
    changed: () => undefined,
  });
  const english = [
    { path: 'Film.2001.mkv', length: 1000 },
    { path: 'Film.2001.en.srt', length: 10 },
  ];
  const first = reader.all(job(english));
  assert.deepEqual(first, jobSubtitles(english));
  assert.equal(first[0]?.language?.code, 'en');
  first.pop(); // a caller's change to its answer is its own
  assert.deepEqual(reader.all(job(english.map((file) => ({ ...file })))), jobSubtitles(english));

  const french = [english[0] as JobFile, { path: 'Film.2001.fr.srt', length: 10 }];
  assert.equal(reader.all(job(french))[0]?.language?.code, 'fr', 'another path: worked out again');
  const tooLarge = [english[0] as JobFile, { path: 'Film.2001.fr.srt', length: 11 * 1024 * 1024 }];
  assert.deepEqual(reader.all(job(tooLarge)), [], 'another length: worked out again');
  assert.deepEqual(reader.all(job([])), []);
});
