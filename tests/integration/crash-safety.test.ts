/**
 * Crash safety (issue 3, item 5): the real DownloadService runs in a child process
 * (tests/fixtures/service-process.ts) on a SQLite file, downloading three torrents from
 * rate-limited loopback swarms. The test SIGKILLs it at random moments (seeded: the seed is
 * logged, and CHILLY_CRASH_SEED=<seed> replays the same schedule; CHILLY_CRASH_DEBUG=1 also prints
 * every line the child wrote), restarts it every time, then lets it finish.
 *
 * Checked after every kill, on a copy of the database as the crash left it: integrity_check is
 * ok, no unknown or failed job. Checked on every restart: completed jobs are not started again,
 * a saved bitfield is handed to the engine (fast resume) and the job continues from it. Checked
 * at the end: integrity_check, exactly one row per job and no other, all completed, no leftover
 * resume data, every file byte for byte.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import type { ServiceLine, ServiceProcessConfig } from '../fixtures/service-process.js';
import { forEachJsonLine } from '../helpers/json-lines.js';
import { createLoopbackSwarm, type LoopbackSwarm, type SwarmFileSpec, sha256File } from '../helpers/loopback-swarm.js';
import { mulberry32 } from '../helpers/seeded-random.js';
import { tempDir } from '../helpers/wait.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const FIXTURE = fileURLToPath(new URL('../fixtures/service-process.ts', import.meta.url));

/**
 * Per seeder. A restarted leecher first gets a burst (the seeder's token bucket holds one second
 * of upload), then this rate: with 35 MiB in all, the kills come long before the end.
 */
const UPLOAD_LIMIT = 1 * MiB;
const RUN_TIMEOUT_MS = 30_000;
const FINAL_RUN_TIMEOUT_MS = 60_000;

interface JobSpec {
  id: string;
  name: string;
  files: SwarmFileSpec[];
  pieceLength: number;
  source: 'magnet' | 'torrent';
}

const JOBS: JobSpec[] = [
  {
    id: 'nosferatu',
    name: 'Nosferatu.1922.mkv',
    files: [{ path: 'Nosferatu.1922.mkv', size: 16 * MiB }],
    pieceLength: 256 * KiB,
    source: 'magnet',
  },
  {
    id: 'metropolis',
    name: 'Metropolis.1927',
    files: [
      { path: 'Metropolis.1927.mkv', size: 9 * MiB },
      { path: 'Metropolis.1927.en.srt', size: 48 * KiB + 123 },
      { path: 'Extras/Trailer.mkv', size: 2 * MiB },
    ],
    pieceLength: 128 * KiB,
    source: 'torrent',
  },
  {
    id: 'the-general',
    name: 'The.General.1926.mkv',
    files: [{ path: 'The.General.1926.mkv', size: 8 * MiB + 4321 }],
    pieceLength: 64 * KiB,
    source: 'magnet',
  },
];

const totalOf = (spec: JobSpec) => spec.files.reduce((sum, file) => sum + file.size, 0);
const GRAND_TOTAL = JOBS.reduce((sum, spec) => sum + totalOf(spec), 0);

interface KillPlan {
  label: string;
  delayMs: number;
  /** Sees every line of the run; the first line it accepts arms the kill, `delayMs` later. */
  trigger: (line: ServiceLine) => boolean;
}

/**
 * Seven kills: one around an add (on the fresh database), one in the first second after the
 * service opened, four mid-download at a random time after the run's first progress tick (one of
 * those waits at least 1 s, so resume data has been saved, every 500 ms, before that crash), and
 * one around the first job's completion.
 */
function planKills(random: () => number): KillPlan[] {
  const addIndex = Math.floor(random() * JOBS.length);
  const addId = JOBS[addIndex]?.id;
  const afterInsert = random() < 0.5;
  const plans: KillPlan[] = [
    {
      label: `during add of ${addId}, ${afterInsert ? 'just after its row was written' : 'just after add() was called'}`,
      delayMs: 0,
      trigger: (line) =>
        afterInsert
          ? line.t === 'event' && line.type === 'added' && line.id === addId
          : line.t === 'adding' && line.id === addId,
    },
    {
      label: 'in the first second after the service opened',
      delayMs: Math.floor(random() * 1_000),
      trigger: (line) => line.t === 'opened',
    },
  ];
  const dwells: Array<[number, number]> = [
    [100, 600],
    [1_000, 1_800],
    [200, 1_500],
    [200, 1_500],
  ];
  for (const [min, max] of dwells) {
    const delayMs = min + Math.floor(random() * (max - min));
    plans.push({
      label: `mid-download, ${delayMs} ms after the run's first progress tick`,
      delayMs,
      trigger: (line) => line.t === 'event' && line.type === 'progress',
    });
  }
  // The smallest job gets there first, long before the largest: the run is killed around that
  // job's completion (before or after, at random) while the others are still downloading.
  const nearEndDelayMs = Math.floor(random() * 600);
  plans.push({
    label: `${nearEndDelayMs} ms after a job reached 90%`,
    delayMs: nearEndDelayMs,
    trigger: (line) =>
      line.t === 'event' && line.type === 'progress' && line.total !== null && line.done >= 0.9 * line.total,
  });
  return plans;
}

interface RunResult {
  index: number;
  plan: KillPlan | undefined;
  lines: ServiceLine[];
  stderr: string;
  code: number | null;
  signal: NodeJS.Signals | null;
  killedByPlan: boolean;
  timedOut: boolean;
  killAfterMs: number | undefined;
  fractionAtKill: number | undefined;
  durationMs: number;
}

function describeRun(run: RunResult): string {
  const tail = run.lines
    .slice(-15)
    .map((line) => JSON.stringify(line))
    .join('\n');
  return `run ${run.index} (${run.plan?.label ?? 'final'}): code ${run.code}, signal ${run.signal}, timed out ${run.timedOut}\nlast lines:\n${tail}\nstderr:\n${run.stderr.slice(-3_000)}`;
}

function filesUnder(folder: string, prefix = ''): string[] {
  return readdirSync(folder, { withFileTypes: true }).flatMap((entry) => {
    const relative = prefix === '' ? entry.name : `${prefix}/${entry.name}`;
    return entry.isDirectory() ? filesUnder(path.join(folder, entry.name), relative) : [relative];
  });
}

test('crash safety: SIGKILL at random moments, restart, and nothing is lost, duplicated or corrupted', {
  timeout: 120_000,
}, async (t) => {
  const seed = Number(process.env.CHILLY_CRASH_SEED ?? Math.floor(Math.random() * 2 ** 32));
  assert.ok(Number.isInteger(seed), 'CHILLY_CRASH_SEED must be an integer');
  t.diagnostic(`crash schedule seed ${seed} (replay with CHILLY_CRASH_SEED=${seed})`);
  const random = mulberry32(seed);
  const started = Date.now();

  const work = await tempDir('chilly-crash-');
  const swarms = new Map<string, LoopbackSwarm>();
  let child: ChildProcess | undefined;
  let childClosed: Promise<void> | undefined;
  try {
    for (const spec of JOBS) {
      swarms.set(
        spec.id,
        await createLoopbackSwarm({
          name: spec.name,
          files: spec.files,
          pieceLength: spec.pieceLength,
          uploadLimit: UPLOAD_LIMIT,
          workDir: path.join(work.dir, 'swarms', spec.id),
        }),
      );
    }
    const swarmOf = (id: string): LoopbackSwarm => {
      const swarm = swarms.get(id);
      assert.ok(swarm !== undefined, `no swarm for ${id}`);
      return swarm;
    };
    const specOf = (id: string): JobSpec => {
      const spec = JOBS.find((job) => job.id === id);
      assert.ok(spec !== undefined, `unknown job ${id}`);
      return spec;
    };

    const dataDir = path.join(work.dir, 'data');
    mkdirSync(dataDir, { recursive: true });
    const databaseFile = path.join(dataDir, 'chilly.db');
    const mediaRoot = path.join(dataDir, 'media');
    const config: ServiceProcessConfig = {
      databaseFile,
      mediaRoot,
      persistIntervalMs: 500,
      maxActiveDownloads: 3,
      maxRunMs: FINAL_RUN_TIMEOUT_MS + 5_000,
      jobs: JOBS.map((spec) =>
        spec.source === 'magnet'
          ? { id: spec.id, magnetURI: swarmOf(spec.id).magnetURI }
          : { id: spec.id, torrentFileBase64: swarmOf(spec.id).torrentFile.toString('base64') },
      ),
    };
    const configPath = path.join(work.dir, 'service-process.json');
    writeFileSync(configPath, JSON.stringify(config));

    /** Latest bytes per job in the current run, to report how far each kill came. */
    const doneBytes = new Map<string, number>();
    const fraction = () => {
      let done = 0;
      for (const spec of JOBS) done += Math.min(totalOf(spec), doneBytes.get(spec.id) ?? 0);
      return done / GRAND_TOTAL;
    };
    /** Runs inside a stream listener: must not throw. */
    const observe = (line: ServiceLine) => {
      const total = (id: string) => {
        const spec = JOBS.find((job) => job.id === id);
        return spec === undefined ? 0 : totalOf(spec);
      };
      if (line.t === 'boot') {
        for (const s of line.stored) doneBytes.set(s.id, s.status === 'completed' ? total(s.id) : s.bytesDone);
      } else if (line.t === 'event') {
        doneBytes.set(line.id, line.status === 'completed' ? total(line.id) : line.done);
      }
    };

    const runChild = async (index: number, plan: KillPlan | undefined, timeoutMs: number): Promise<RunResult> => {
      doneBytes.clear();
      const spawnedAt = Date.now();
      const proc = spawn(process.execPath, ['--import', 'tsx', FIXTURE, configPath], {
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      child = proc;
      childClosed = new Promise<void>((resolve) => proc.once('close', () => resolve()));
      const result: RunResult = {
        index,
        plan,
        lines: [],
        stderr: '',
        code: null,
        signal: null,
        killedByPlan: false,
        timedOut: false,
        killAfterMs: undefined,
        fractionAtKill: undefined,
        durationMs: 0,
      };
      let killTimer: NodeJS.Timeout | undefined;
      proc.once('error', (error) => {
        result.stderr += `[spawn] ${String(error)}\n`;
      });
      proc.stderr?.on('data', (chunk: Buffer) => {
        if (result.stderr.length < 100_000) result.stderr += chunk.toString();
      });
      forEachJsonLine<ServiceLine>(
        proc.stdout,
        (line) => {
          result.lines.push(line);
          observe(line);
          if (plan !== undefined && killTimer === undefined && plan.trigger(line)) {
            killTimer = setTimeout(() => {
              if (proc.exitCode !== null || proc.signalCode !== null) return;
              result.killedByPlan = true;
              result.killAfterMs = Date.now() - spawnedAt;
              result.fractionAtKill = fraction();
              proc.kill('SIGKILL');
            }, plan.delayMs);
          }
        },
        (raw) => {
          result.stderr += `[stdout] ${raw}\n`;
        },
      );
      const timeout = setTimeout(() => {
        result.timedOut = true;
        proc.kill('SIGKILL');
      }, timeoutMs);
      const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
        proc.once('close', (c, s) => resolve([c, s])),
      );
      clearTimeout(timeout);
      clearTimeout(killTimer);
      child = undefined;
      result.code = code;
      result.signal = signal;
      result.durationMs = Date.now() - spawnedAt;
      return result;
    };

    /** integrity_check and the rows of a copy of the database exactly as the crash left it. */
    const checkCrashedDatabase = (run: RunResult) => {
      const snapshotDir = path.join(work.dir, `snapshot-${run.index}`);
      mkdirSync(snapshotDir);
      const copy = path.join(snapshotDir, 'chilly.db');
      copyFileSync(databaseFile, copy);
      // The WAL holds the commits not yet checkpointed; the -shm index is rebuilt from it.
      if (existsSync(`${databaseFile}-wal`)) copyFileSync(`${databaseFile}-wal`, `${copy}-wal`);
      const db = new Database(copy);
      try {
        assert.deepEqual(db.pragma('integrity_check'), [{ integrity_check: 'ok' }], describeRun(run));
        assert.deepEqual(db.pragma('foreign_key_check'), [], 'no resume data without its job');
        const rows = db.prepare<[], { id: string; status: string }>('SELECT id, status FROM jobs').all();
        for (const row of rows) {
          assert.ok(
            JOBS.some((spec) => spec.id === row.id),
            `unknown job ${row.id} after run ${run.index}`,
          );
          assert.ok(
            ['queued', 'verifying', 'downloading', 'completed'].includes(row.status),
            `job ${row.id} is ${row.status} after run ${run.index}`,
          );
        }
        return rows;
      } finally {
        db.close();
        rmSync(snapshotDir, { recursive: true, force: true });
      }
    };

    const plans = planKills(random);
    const runs: RunResult[] = [];
    for (const [index, plan] of [...plans, undefined].entries()) {
      const run = await runChild(index, plan, plan === undefined ? FINAL_RUN_TIMEOUT_MS : RUN_TIMEOUT_MS);
      runs.push(run);
      if (process.env.CHILLY_CRASH_DEBUG)
        for (const line of run.lines) t.diagnostic(`${index} ${JSON.stringify(line)}`);
      const fatal = run.lines.find((line) => line.t === 'fatal');
      assert.equal(fatal, undefined, describeRun(run));
      assert.equal(run.timedOut, false, `run ${index} timed out\n${describeRun(run)}`);
      if (plan === undefined) {
        assert.equal(run.code, 0, describeRun(run));
        assert.ok(
          run.lines.some((line) => line.t === 'all-completed'),
          describeRun(run),
        );
        t.diagnostic(`final run: every job completed after ${run.durationMs} ms`);
      } else {
        assert.ok(
          run.killedByPlan && run.signal === 'SIGKILL',
          `kill ${index} (${plan.label}) did not happen: the downloads ran out first?\n${describeRun(run)}`,
        );
        const rows = checkCrashedDatabase(run);
        t.diagnostic(
          `run ${index}: SIGKILL ${plan.label}: ${run.killAfterMs} ms after spawn, ` +
            `${Math.round((run.fractionAtKill ?? 0) * 100)}% in; rows then: ${rows.map((r) => `${r.id}=${r.status}`).join(', ') || 'none'}`,
        );
      }
    }
    assert.ok(runs.filter((run) => run.killedByPlan).length >= 5, 'at least 5 kills');

    // ---- what the runs reported --------------------------------------------------------------
    const createdCount = new Map<string, number>();
    const resumes: string[] = [];
    for (const run of runs) {
      const boot = run.lines.find((line) => line.t === 'boot');
      assert.ok(boot !== undefined && boot.t === 'boot', `run ${run.index} never booted\n${describeRun(run)}`);
      for (const line of run.lines) {
        if (line.t === 'added' && line.created) createdCount.set(line.id, (createdCount.get(line.id) ?? 0) + 1);
        if (line.t === 'warning') assert.fail(`run ${run.index}: service warning: ${line.message} ${line.cause ?? ''}`);
        if (line.t === 'event') {
          assert.ok(!['error', 'files_missing'].includes(line.type), `run ${run.index}: ${JSON.stringify(line)}`);
        }
      }
      for (const stored of boot.stored) {
        const starts = run.lines.filter((line) => line.t === 'engine-start' && line.id === stored.id);
        if (stored.status === 'completed') {
          // Finished movies are not downloaded (or checked) again.
          assert.deepEqual(starts, [], `run ${run.index}: completed job ${stored.id} was started again`);
          continue;
        }
        if (stored.resumePieces === 0) continue;
        // A saved bitfield must reach the engine as it was saved: fast resume, no full re-check.
        const start = starts[0];
        assert.ok(start !== undefined && start.t === 'engine-start', `run ${run.index}: ${stored.id} not restarted`);
        assert.equal(
          start.resumePieces,
          stored.resumePieces,
          `run ${run.index}: ${stored.id} was started without its saved bitfield (${stored.resumePieces} pieces)`,
        );
        // …and the job continues from it: its first progress already counts those pieces.
        const spec = specOf(stored.id);
        const first = run.lines.find((line) => line.t === 'event' && line.type === 'progress' && line.id === stored.id);
        if (first === undefined || first.t !== 'event') continue; // killed before its first progress tick
        const floor = (stored.resumePieces - spec.files.length) * spec.pieceLength;
        assert.ok(
          first.done >= floor,
          `run ${run.index}: ${stored.id} resumed at ${first.done} bytes, below its ${stored.resumePieces} saved pieces`,
        );
        resumes.push(
          `run ${run.index}: ${stored.id} resumed from ${stored.resumePieces} saved pieces, ` +
            `first progress ${(first.done / MiB).toFixed(1)} MiB at ${first.ms - start.ms} ms after the engine start`,
        );
      }
    }
    for (const line of resumes) t.diagnostic(line);
    assert.ok(resumes.length >= 1, 'at least one restart continued from a saved bitfield');
    for (const spec of JOBS) {
      assert.ok((createdCount.get(spec.id) ?? 0) <= 1, `job ${spec.id} was created ${createdCount.get(spec.id)} times`);
    }
    const finalAdds = runs.at(-1)?.lines.filter((line) => line.t === 'added') ?? [];
    assert.equal(finalAdds.length, JOBS.length);
    for (const line of finalAdds) assert.ok(line.t === 'added' && !line.created, 're-adding is idempotent');

    // ---- the end state, with the child gone ------------------------------------------------
    const db = new Database(databaseFile);
    try {
      assert.deepEqual(db.pragma('integrity_check'), [{ integrity_check: 'ok' }]);
      const rows = db
        .prepare<[], { id: string; status: string; info_hash: string; bytes_done: number; bytes_total: number }>(
          'SELECT id, status, info_hash, bytes_done, bytes_total FROM jobs ORDER BY id',
        )
        .all();
      assert.deepEqual(
        rows.map((row) => row.id),
        JOBS.map((spec) => spec.id).sort(),
        'exactly one row per job, and no other',
      );
      for (const row of rows) {
        const spec = specOf(row.id);
        assert.equal(row.status, 'completed', `job ${row.id}`);
        assert.equal(row.info_hash, swarmOf(row.id).infoHash, `job ${row.id} info-hash`);
        assert.equal(row.bytes_total, totalOf(spec), `job ${row.id} bytes_total`);
        assert.equal(row.bytes_done, totalOf(spec), `job ${row.id} bytes_done`);
      }
      const leftovers = db.prepare<[], { n: number }>('SELECT COUNT(*) AS n FROM job_resume').get();
      assert.equal(leftovers?.n, 0, 'completed jobs keep no resume data');
    } finally {
      db.close();
    }
    for (const spec of JOBS) {
      const swarm = swarmOf(spec.id);
      const folder = path.join(mediaRoot, spec.id);
      assert.deepEqual(filesUnder(folder).sort(), swarm.files.map((file) => file.path).sort(), `files of ${spec.id}`);
      for (const file of swarm.files) {
        assert.equal(await sha256File(path.join(folder, file.path)), file.sha256, `content of ${spec.id}/${file.path}`);
      }
    }
    t.diagnostic(`${runs.length} runs, ${runs.length - 1} kills, ${Date.now() - started} ms in all`);
  } catch (error) {
    if (error instanceof Error)
      error.message += `\n(crash schedule seed ${seed}: replay with CHILLY_CRASH_SEED=${seed})`;
    throw error;
  } finally {
    if (child !== undefined) {
      child.kill('SIGKILL');
      await childClosed;
    }
    for (const swarm of swarms.values()) await swarm.close();
    await work.cleanup();
  }
});
