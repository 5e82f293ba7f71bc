/**
 * `chilly ls` reads `GET /downloads` page by page, and the API lists newest first: a job added
 * while `ls` reads shifts every later page by one. The real command, in-process, against a fake
 * API on 127.0.0.1 that adds a job between the pages: each job is listed once.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { emptyProgress, type Job } from '../../src/domain/job.js';
import { runCliInFakeTerminal } from '../helpers/fake-terminal.js';

function job(n: number): Job {
  const at = new Date(Date.UTC(2026, 0, 1) + n * 1000).toISOString();
  return {
    id: `job-${n}`,
    sourceType: 'torrent',
    sourceUrn: `magnet:?xt=urn:btih:${n.toString(16).padStart(40, '0')}`,
    status: 'paused',
    infoHash: n.toString(16).padStart(40, '0'),
    name: `Film ${n}`,
    progress: emptyProgress(),
    sequential: true,
    createdAt: at,
    updatedAt: at,
  };
}

describe('chilly ls over several pages of a list that grows meanwhile', () => {
  let api: http.Server;
  let port = 0;
  /** Newest first, as the API lists them. */
  const jobs = Array.from({ length: 600 }, (_, index) => job(600 - index));

  before(async () => {
    api = http.createServer((request, response) => {
      const url = new URL(request.url ?? '/', 'http://127.0.0.1');
      const json = (status: number, body: unknown): void => {
        response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      };
      if (url.pathname === '/health') return json(200, { ok: true, activeDownloads: 0, queued: 0 });
      if (url.pathname !== '/downloads') return json(404, { error: { code: 'not_found', message: 'no route' } });
      const limit = Number(url.searchParams.get('limit') ?? 50);
      const offset = Number(url.searchParams.get('offset') ?? 0);
      const page = { jobs: jobs.slice(offset, offset + limit), total: jobs.length, limit, offset };
      // Someone adds a film right after the first page went out: it goes on top.
      if (offset === 0) jobs.unshift(job(601));
      return json(200, page);
    });
    await new Promise<void>((resolve) => api.listen(0, '127.0.0.1', () => resolve()));
    port = (api.address() as AddressInfo).port;
  });

  after(async () => {
    api.closeAllConnections();
    await new Promise<void>((resolve) => api.close(() => resolve()));
  });

  it('lists every job it saw once, newest first', async () => {
    const env = { HOME: '/nonexistent-chilly-home', CHILLY_PORT: String(port), CHILLY_TOKEN: 'unit-test-token-0123' };
    const run = await runCliInFakeTerminal(['ls', '--json'], { env, cwd: process.cwd() });
    assert.equal(run.code, 0, run.stderr);
    const ids = (JSON.parse(run.stdout) as Job[]).map((listed) => listed.id);
    assert.equal(new Set(ids).size, ids.length, 'no job twice');
    assert.deepEqual(
      ids,
      Array.from({ length: 600 }, (_, index) => `job-${600 - index}`),
    );
  });
});
