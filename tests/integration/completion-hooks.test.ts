/**
 * Issue 17: on completion, a program of the user's runs (no shell: a torrent's name never becomes
 * a command) with the job in CHILLY_JOB_* variables, and a webhook gets the job as JSON, retried
 * with backoff (honouring Retry-After) until it answers; a webhook that never does is reported and
 * gives up, and no hook holds up a download.
 */
import assert from 'node:assert/strict';
import { chmod, readFile, writeFile } from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { test } from 'node:test';
import { startServer } from '../../src/app.js';
import { loadConfig } from '../../src/config/resolve-config.js';
import type { Job } from '../../src/domain/job.js';
import { MockDownloader } from '../../src/downloaders/mock-downloader.js';
import { CompletionHooks, jobEnvironment } from '../../src/hooks/completion-hooks.js';
import { tempDir, waitUntil } from '../helpers/wait.js';

const HOSTILE_NAME = 'Film $(touch pwned); `id` && echo "x" > pwned2';

async function webhookServer(failures: number) {
  const received: string[] = [];
  let answered = 0;
  const server = http.createServer((request, response) => {
    let body = '';
    request.on('data', (chunk) => {
      body += chunk;
    });
    request.on('end', () => {
      answered += 1;
      if (answered <= failures) {
        response.writeHead(503, { 'retry-after': '0' }).end();
        return;
      }
      received.push(body);
      response.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return {
    url: `http://127.0.0.1:${address.port}/hook?secret=s3cr3t`,
    received,
    attempts: () => answered,
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}

test('the command gets the job in its environment, with no shell; the webhook is retried until it answers', async () => {
  const work = await tempDir();
  const hook = await webhookServer(2);
  const script = path.join(work.dir, 'on-complete.sh');
  const out = path.join(work.dir, 'hook-env.txt');
  await writeFile(script, `#!/bin/sh\nenv | grep '^CHILLY_JOB_' | sort > '${out}'\n`);
  await chmod(script, 0o755);
  const config = loadConfig(
    {
      CHILLY_DATA_DIR: path.join(work.dir, 'data'),
      CHILLY_NETWORK: 'loopback',
      CHILLY_ON_COMPLETE_COMMAND: script,
      CHILLY_ON_COMPLETE_WEBHOOK: hook.url,
    },
    { host: '127.0.0.1', port: 0 },
  );
  const warnings: string[] = [];
  const server = await startServer({
    config,
    downloader: new MockDownloader({ mediaRoot: config.mediaRoot, totalBytes: 1024, tickMs: 10 }),
    logger: false,
    onWarning: (message) => warnings.push(message),
  });
  try {
    const magnet = `magnet:?xt=urn:btih:${'ab'.repeat(20)}&dn=${encodeURIComponent(HOSTILE_NAME)}`;
    await server.service.add({ id: 'done', sourceType: 'torrent', sourceUrn: magnet });
    await waitUntil(() => server.service.get('done').status === 'completed', { what: 'completed' });
    await waitUntil(async () => (await readFile(out, 'utf8').catch(() => '')).includes('CHILLY_JOB_ID=done'), {
      what: 'the command',
    });
    const environment = await readFile(out, 'utf8');
    assert.match(environment, /^CHILLY_JOB_STATUS=completed$/m);
    assert.match(environment, new RegExp(`^CHILLY_JOB_SAVE_PATH=${config.mediaRoot}/done$`, 'm'));
    assert.match(environment, /^CHILLY_JOB_INFO_HASH=abab/m);
    await waitUntil(() => hook.received.length === 1, { timeoutMs: 20_000, what: 'the webhook' });
    assert.equal(hook.attempts(), 3, 'two 503s, then delivered');
    const body = JSON.parse(hook.received[0] ?? '{}') as { event: string; job: Job };
    assert.equal(body.event, 'completed');
    assert.equal(body.job.id, 'done');
    assert.equal(warnings.filter((line) => line.includes('completion webhook')).length, 2);
    assert.ok(!warnings.join('\n').includes('s3cr3t'), 'the webhook query is not logged');
    const files = await import('node:fs').then((fs) => fs.readdirSync(work.dir));
    assert.ok(!files.includes('pwned') && !files.includes('pwned2'), 'the name was never run as a command');
  } finally {
    await server.close();
    await hook.close();
    await work.cleanup();
  }
});

test('a webhook that never answers gives up after its attempts; a missing command is reported', async () => {
  const warnings: string[] = [];
  const hooks = new CompletionHooks({
    command: '/nonexistent/chilly-hook',
    webhook: 'http://127.0.0.1:9/never',
    warn: (message) => warnings.push(message),
    webhookAttempts: 3,
    webhookMinDelayMs: 10,
  });
  const job = {
    id: 'x',
    sourceType: 'torrent',
    sourceUrn: 'x',
    status: 'completed',
    progress: {
      fraction: 1,
      bytesDone: 1,
      bytesTotal: 1,
      downloadSpeed: 0,
      uploadSpeed: 0,
      bytesUploaded: 0,
      peers: 0,
      etaSeconds: 0,
    },
    sequential: true,
    createdAt: '',
    updatedAt: '',
  } satisfies Job;
  hooks.completed(job);
  await hooks.idle();
  assert.equal(warnings.filter((line) => line.includes('completion webhook')).length, 3);
  assert.ok(warnings.some((line) => line.includes('did not start')));
  assert.equal(jobEnvironment(job).CHILLY_JOB_ID, 'x');

  // A program that cannot start leaves no timer behind (spawn's own `timeout` did, for 10 minutes,
  // which held this test's process open after it passed).
  const timers = () => process.getActiveResourcesInfo().filter((kind) => kind === 'Timeout').length;
  const before = timers();
  const commandOnly = new CompletionHooks({ command: '/nonexistent/chilly-hook', warn: () => undefined });
  commandOnly.completed(job);
  await commandOnly.idle();
  assert.equal(timers(), before);
});
