/**
 * A job's own seeding policy is read for every completed job in every list, so the repository
 * answers "none" without a query for jobs that never had one; what it answers must still be what
 * the table holds, through sets, clears, a deleted job (its row goes with it) and a new job that
 * takes the same id.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { emptyProgress, type Job } from '../../src/domain/job.js';
import { openDatabase, type SqliteDatabase } from '../../src/storage/database.js';
import { JobsRepository } from '../../src/storage/jobs-repository.js';
import { SeedingPoliciesRepository } from '../../src/storage/seeding-policies-repository.js';
import { tempDir } from '../helpers/wait.js';

describe('SeedingPoliciesRepository', () => {
  let work: Awaited<ReturnType<typeof tempDir>>;
  let db: SqliteDatabase;
  let jobs: JobsRepository;

  beforeEach(async () => {
    work = await tempDir('chilly-seeding-policies-');
    db = openDatabase(path.join(work.dir, 'chilly.db'));
    jobs = new JobsRepository(db);
  });
  afterEach(async () => {
    db.close();
    await work.cleanup();
  });

  let added = 0;
  function addJob(id: string): void {
    added += 1;
    const infoHash = added.toString(16).padStart(40, '0');
    const job: Job = {
      id,
      sourceType: 'torrent',
      sourceUrn: `magnet:?xt=urn:btih:${infoHash}`,
      infoHash,
      status: 'completed',
      savePath: path.join(work.dir, 'media', id),
      progress: emptyProgress(),
      sequential: true,
      createdAt: '2026-01-01T00:00:00.000Z',
      updatedAt: '2026-01-01T00:00:00.000Z',
    };
    jobs.insert(job, undefined, { folderCreated: false });
  }

  /** What the table holds for the job, read directly. */
  function row(id: string): unknown {
    return db.prepare('SELECT ratio, minutes FROM job_seeding_policies WHERE job_id = ?').get(id);
  }

  test('answers what the table holds: set, changed, cleared, gone with its job, and not inherited by a new job of that id', () => {
    addJob('night');
    addJob('metropolis');
    const policies = new SeedingPoliciesRepository(db);
    assert.equal(policies.get('night'), undefined);
    policies.set('night', { ratio: 2, minutes: null });
    assert.deepEqual(policies.get('night'), { ratio: 2, minutes: null });
    assert.deepEqual(row('night'), { ratio: 2, minutes: null });
    policies.set('night', { ratio: null, minutes: 30 });
    assert.deepEqual(policies.get('night'), { ratio: null, minutes: 30 });
    assert.equal(policies.get('metropolis'), undefined);

    policies.set('metropolis', { ratio: 1, minutes: 5 });
    policies.set('metropolis', { ratio: null, minutes: null });
    assert.equal(policies.get('metropolis'), undefined);
    assert.equal(row('metropolis'), undefined);

    jobs.delete('night');
    assert.equal(row('night'), undefined, 'the row went with its job');
    assert.equal(policies.get('night'), undefined);
    addJob('night');
    assert.equal(policies.get('night'), undefined, 'a new job of the same id has no policy of its own');
  });

  test('policies saved before it was made (an earlier run) are found', () => {
    addJob('night');
    new SeedingPoliciesRepository(db).set('night', { ratio: 3, minutes: 60 });
    assert.deepEqual(new SeedingPoliciesRepository(db).get('night'), { ratio: 3, minutes: 60 });
  });
});
