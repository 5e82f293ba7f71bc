/**
 * Issue 17 in the web app: the everyday controls on a real browser (Debian's Chromium, headless)
 * against a real server (startServer: SQLite, the WebTorrent engine, one download at a time) and
 * a loopback swarm. The speed limits saved in Settings are the server's (GET /settings/limits) and
 * hold a download back; a queued download moves to the top of the queue; a running download's
 * trackers table shows the loopback tracker working, a tracker added in the form is announced to
 * and can be removed; its peers table shows the seeder; once complete, Stop seeding changes the
 * seeding line; Move data refuses a folder outside the allowed ones in plain words and moves the
 * data into a folder inside the media root (`savePath` follows); Check data again checks it and
 * completes it again. The job and settings screens: axe-core (no serious or critical violation,
 * light and dark) at 360 and 1440 px, no sideways scrolling, no console error or warning, a
 * screenshot in test-results/screenshots/controls-<screen>-<width>.png.
 */
import assert from 'node:assert/strict';
import { existsSync, realpathSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it, type TestContext } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { type RunningServer, startServer } from '../../src/app.js';
import { loadConfig } from '../../src/config/resolve-config.js';
import type { Job } from '../../src/domain/job.js';
import {
  CHROMIUM_MISSING,
  describeViolations,
  findChromium,
  launchBrowser,
  type PageProblems,
  runAxe,
  screenshot,
  watchProblems,
} from '../helpers/browser.js';
import {
  createLoopbackSwarm,
  type LoopbackSwarm,
  type LoopbackTracker,
  sha256File,
  startLoopbackTracker,
} from '../helpers/loopback-swarm.js';
import { tempDir, waitUntil } from '../helpers/wait.js';
import { assertWebAppServed, buildWebApp } from '../helpers/web-app-build.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const TOKEN = 'web-app-controls-test-token-0123456789-abcdef';
const WIDTHS = [360, 1440] as const;
/** The download limit that keeps the film downloading while its peers and trackers are looked at (8 MiB: ~2 min). */
const HELD_BACK_KIB = 64;
/** Chromium logs every 4xx/5xx answer a script receives; these are the ones a test provokes on purpose. */
const STATUS_LOGGED = (status: number) => new RegExp(`the server responded with a status of ${status}\\b`);

/** The browser globals that functions run inside the page use (this project is type-checked without the DOM library). */
declare const document: { documentElement: { scrollWidth: number }; activeElement: { id: string } | null };
declare const window: { innerWidth: number };

const chromium = findChromium();

/** A magnet no peer and no tracker will ever answer: it waits in the queue. */
function nowhereMagnet(seed: string): string {
  return `magnet:?xt=urn:btih:${seed.repeat(40).slice(0, 40)}&dn=${seed}`;
}

describe('the web app’s download controls in a real browser', {
  skip: chromium === null ? CHROMIUM_MISSING : false,
}, () => {
  let work: Awaited<ReturnType<typeof tempDir>>;
  let server: RunningServer;
  let browser: Browser;
  let swarm: LoopbackSwarm;
  let extra: LoopbackTracker;
  let context: BrowserContext;
  let page: Page;
  let problems: PageProblems;
  let mediaRoot: string;

  const api = async (method: string, route: string, body?: unknown) => {
    const response = await fetch(`${server.url}${route}`, {
      method,
      headers: {
        authorization: `Bearer ${TOKEN}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(15_000),
    });
    const text = await response.text();
    return { status: response.status, body: text === '' ? undefined : (JSON.parse(text) as unknown) };
  };
  const jobOf = (id: string): Job | undefined => server.service.list({ limit: 500 }).jobs.find((job) => job.id === id);
  const waitForJob = (id: string, ok: (job: Job) => boolean, what: string, timeoutMs = 30_000) =>
    waitUntil(
      () => {
        const job = jobOf(id);
        return job !== undefined && ok(job);
      },
      { timeoutMs, what: `${id}: ${what}` },
    );

  /** Loads a screen by its address (a fresh page load) and waits for its heading. */
  async function show(hash: string, heading: string | RegExp): Promise<void> {
    await page.goto(`${server.url}/${hash}`);
    await page.getByRole('heading', { level: 1, name: heading }).waitFor();
  }

  function assertNoProblems(where: string): void {
    assert.deepEqual(problems.unexpected(), [], `console errors or warnings on ${where}`);
  }

  /**
   * A screenshot, axe-core and no sideways scrolling at 360 and 1440 px; axe again in the dark
   * scheme. What axe finds below serious, or cannot decide, is reported, not failed.
   */
  async function checkScreen(t: TestContext, name: string): Promise<void> {
    const notes = new Set<string>();
    for (const width of WIDTHS) {
      await page.setViewportSize({ width, height: 900 });
      await screenshot(page, `controls-${name}`);
      const axe = await runAxe(page);
      assert.deepEqual(axe.serious, [], `axe on ${name} at ${width} px:\n${describeViolations(axe.serious)}`);
      for (const violation of axe.violations) notes.add(`${violation.id} (${violation.impact}, violation)`);
      for (const item of axe.incomplete) notes.add(`${item}, to review`);
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      assert.ok(overflow <= 0, `${name} at ${width} px scrolls sideways by ${overflow} px`);
    }
    await page.setViewportSize({ width: 1440, height: 900 });
    await page.emulateMedia({ colorScheme: 'dark' });
    const dark = await runAxe(page);
    await page.emulateMedia({ colorScheme: 'light' });
    assert.deepEqual(dark.serious, [], `axe on ${name}, dark:\n${describeViolations(dark.serious)}`);
    t.diagnostic(`axe on ${name}: ${notes.size === 0 ? 'nothing' : [...notes].join('; ')}`);
  }

  /** Types KiB/s into the Settings form and saves; resolves with what GET /settings/limits then says. */
  async function saveLimits(downloadKiB: number, uploadKiB: number): Promise<unknown> {
    await show('#/settings', 'Settings');
    await page.getByLabel('Download limit (KiB/s)').fill(String(downloadKiB));
    await page.getByLabel('Upload limit (KiB/s)').fill(String(uploadKiB));
    await page.getByRole('button', { name: 'Save speed limits' }).click();
    await page
      .getByRole('status')
      .filter({ hasText: /^Saved: / })
      .waitFor();
    return (await api('GET', '/settings/limits')).body;
  }

  before(
    async () => {
      buildWebApp();
      work = await tempDir('chilly-web-controls-');
      swarm = await createLoopbackSwarm({
        name: 'The.General.1926.720p.mkv',
        files: [{ path: 'The.General.1926.720p.mkv', size: 8 * MiB }],
        pieceLength: 64 * KiB,
      });
      extra = await startLoopbackTracker();
      const dataDir = path.join(work.dir, 'data');
      mediaRoot = path.join(dataDir, 'media');
      const config = loadConfig(
        {
          CHILLY_DATA_DIR: dataDir,
          CHILLY_NETWORK: 'loopback',
          CHILLY_TOKEN: TOKEN,
          CHILLY_MAX_ACTIVE_DOWNLOADS: '1',
        },
        { host: '127.0.0.1', port: 0 },
      );
      server = await startServer({ config, logger: false });
      await assertWebAppServed(server.url);
      browser = await launchBrowser(chromium ?? '');
      context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
      context.setDefaultTimeout(15_000);
      page = await context.newPage();
      problems = watchProblems(page);
      const link = await api('POST', '/auth/sign-in-codes');
      assert.equal(link.status, 201, JSON.stringify(link.body));
      await page.goto((link.body as { url: string }).url);
      await page.getByRole('heading', { level: 1, name: 'Downloads' }).waitFor();
    },
    { timeout: 120_000 },
  );

  after(async () => {
    await browser?.close().catch(() => undefined);
    await server?.close();
    await Promise.all([swarm?.close(), extra?.close()]);
    await work?.cleanup();
  });

  it('speed limits saved in Settings are the server’s (GET /settings/limits)', { timeout: 60_000 }, async (t) => {
    assert.deepEqual(await saveLimits(HELD_BACK_KIB, 0), {
      downloadBytesPerSecond: HELD_BACK_KIB * KiB,
      uploadBytesPerSecond: 0,
    });
    await page.getByText(new RegExp(`Now: downloads ${HELD_BACK_KIB}(\\.0)? KiB/s, uploads no limit`)).waitFor();
    // Not a number: said in words, nothing sent.
    await page.getByLabel('Upload limit (KiB/s)').fill('');
    await page.getByRole('button', { name: 'Save speed limits' }).click();
    await page.getByRole('alert').filter({ hasText: 'Upload limit: give a whole number of KiB/s' }).waitFor();
    assert.equal(
      await page.evaluate(() => document.activeElement?.id),
      'limit-upload',
      'the focus on the field to fix',
    );
    await page.getByLabel('Upload limit (KiB/s)').fill('0');
    await checkScreen(t, 'settings');
    assertNoProblems('the settings screen');
  });

  it('a queued download moves to the top of the queue', { timeout: 60_000 }, async (t) => {
    assert.equal(
      (await api('POST', '/download/start', { id: 'general', sourceType: 'torrent', sourceUrn: swarm.magnetURI }))
        .status,
      201,
    );
    await waitForJob('general', (job) => job.status === 'downloading', 'downloading');
    for (const [id, seed] of [
      ['nowhere-one', 'a'],
      ['nowhere-two', 'b'],
    ] as const) {
      const added = await api('POST', '/download/start', { id, sourceType: 'torrent', sourceUrn: nowhereMagnet(seed) });
      assert.equal(added.status, 201, JSON.stringify(added.body));
    }
    await waitForJob('nowhere-two', (job) => job.queuePosition === 2, 'second in the queue');

    await show('#/jobs/nowhere-two', /nowhere-two|^b$/);
    await page.locator('p.status', { hasText: 'Queued (number 2)' }).waitFor();
    const queue = page.getByRole('region', { name: 'Place in the queue' });
    await queue.getByText('Number 2 of 2').waitFor();
    await checkScreen(t, 'job-queued');
    await queue.getByRole('button', { name: 'Move to the top' }).click();
    await page.locator('p.status', { hasText: 'Queued (number 1)' }).waitFor();
    await waitForJob('nowhere-two', (job) => job.queuePosition === 1, 'first in the queue');
    assert.equal(jobOf('nowhere-one')?.queuePosition, 2);
    // Already first: the button says so and does nothing.
    assert.equal(await queue.getByRole('button', { name: 'Move up' }).getAttribute('aria-disabled'), 'true');

    for (const id of ['nowhere-one', 'nowhere-two']) {
      assert.equal((await api('POST', '/download/cancel', { id, keepData: false })).status, 200);
    }
    assert.ok((jobOf('general')?.progress.fraction ?? 1) < 1, 'the film is still downloading');
    assertNoProblems('the queue controls');
  });

  it('a running download: its trackers (working, one added and removed) and its peers (the seeder)', {
    timeout: 90_000,
  }, async (t) => {
    await show('#/jobs/general', swarm.name);
    const trackers = page.getByRole('region', { name: 'Tracker table' });
    const loopback = trackers.locator('tr', { hasText: swarm.announceUrl });
    await loopback.getByText('Working').waitFor({ timeout: 30_000 });
    await loopback.getByText('from the torrent').waitFor();

    const peers = page.getByRole('region', { name: 'Peer table' });
    const seeder = peers.locator('tbody tr', { hasText: /127\.0\.0\.1:\d+/ }).first();
    await seeder.waitFor({ timeout: 30_000 });
    await seeder.getByText(/^WebTorrent/).waitFor();
    await seeder.getByText(/· has 100 %/).waitFor();
    await seeder.getByText(/we connected to it.*we want its pieces/).waitFor();

    // Added in the form: shown at once, announced to while the download runs.
    await page.getByLabel('Tracker address').fill(extra.announceUrl);
    await page.getByLabel('Tracker address').press('Enter');
    const added = trackers.locator('tr', { hasText: extra.announceUrl });
    await added.getByText('added by you').waitFor();
    assert.equal(await page.getByLabel('Tracker address').inputValue(), '', 'the field is emptied');
    await added.getByText('Working').waitFor({ timeout: 30_000 });
    const listed = (await api('GET', '/download/trackers/general')).body as { trackers: Array<{ url: string }> };
    assert.ok(
      listed.trackers.some((tracker) => tracker.url === extra.announceUrl),
      'the server has it',
    );
    assert.ok((jobOf('general')?.progress.fraction ?? 1) < 1, 'still downloading: the limit holds it back');
    await checkScreen(t, 'job-running');

    // A refused address is said in words.
    problems.expect(STATUS_LOGGED(400));
    await page.getByLabel('Tracker address').fill('wss://tracker.example.org');
    await page.getByRole('button', { name: 'Add tracker' }).click();
    await page
      .getByRole('alert')
      .filter({ hasText: /^validation_failed: / })
      .waitFor();

    await added.getByRole('button', { name: `Remove ${extra.announceUrl}` }).click();
    await added.waitFor({ state: 'detached' });
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'trackers-heading', 'focus on the heading');
    const after = (await api('GET', '/download/trackers/general')).body as { trackers: Array<{ url: string }> };
    assert.deepEqual(
      after.trackers.map((tracker) => tracker.url),
      [swarm.announceUrl],
    );
    assertNoProblems('the peers and trackers');
  });

  it('with no limit it completes and seeds; Stop seeding changes the seeding line', { timeout: 90_000 }, async (t) => {
    assert.deepEqual(await saveLimits(0, 0), { downloadBytesPerSecond: 0, uploadBytesPerSecond: 0 });
    await show('#/jobs/general', swarm.name);
    await page.locator('p.status', { hasText: 'Completed, seeding' }).waitFor({ timeout: 60_000 });
    const line = page.locator('.seeding-line');
    await line.filter({ hasText: /^Seeding: ratio \d+\.\d\d of 1\.00, ends at .+ at the latest$/ }).waitFor();
    // The peers of a seeding job are still asked for: the section stays.
    await page.getByRole('heading', { level: 2, name: 'Peers' }).waitFor();

    await page.getByRole('button', { name: 'Stop seeding' }).click();
    await line.filter({ hasText: /^Not seeding: ratio \d+\.\d\d of 1\.00$/ }).waitFor();
    await page.getByRole('button', { name: 'Seed again' }).waitFor();
    await page.locator('p.status', { hasText: /^Completed$/ }).waitFor();
    await waitForJob('general', (job) => job.seeding?.active === false, 'not seeding');
    // Not running: the trackers say so, and no peers are listed.
    await page.getByText('No peers: the download is not running.').waitFor({ timeout: 10_000 });
    await page
      .getByRole('region', { name: 'Tracker table' })
      .getByText('Stopped (the download is not running)')
      .waitFor({ timeout: 10_000 });
    await checkScreen(t, 'job-completed');
    assertNoProblems('the seeding controls');
  });

  it('Move data: refused outside the allowed folders, in words; inside the media root it moves savePath', {
    timeout: 60_000,
  }, async (t) => {
    const before = jobOf('general')?.savePath;
    assert.ok(before !== undefined && existsSync(before));
    await show('#/jobs/general', swarm.name);
    await page.getByRole('button', { name: 'Move data…' }).click();
    const field = page.getByLabel('Folder to move the data into (on the server)');
    assert.equal(await field.inputValue(), path.dirname(before), 'the folder it is in, to edit');
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'move-destination', 'focus on the field');

    const outside = path.join(work.dir, 'elsewhere');
    await field.fill(outside);
    await page.getByRole('button', { name: 'Move the data' }).click();
    await page.getByRole('alert').filter({ hasText: 'The data cannot go to that folder.' }).waitFor();
    await page.getByRole('alert').filter({ hasText: 'is not inside a folder data may be moved to' }).waitFor();
    await checkScreen(t, 'job-move-refused');
    assert.equal(jobOf('general')?.savePath, before, 'nothing moved');

    const destination = path.join(mediaRoot, 'silent films');
    await field.fill(destination);
    await page.getByRole('button', { name: 'Move the data' }).click();
    const moved = path.join(realpathSync(mediaRoot), 'silent films', path.basename(before));
    await waitForJob('general', (job) => job.savePath === moved, `moved to ${moved}`);
    await page
      .getByRole('status')
      .filter({ hasText: `Moved to ${moved}.` })
      .waitFor();
    await page.locator('code.path', { hasText: moved }).first().waitFor();
    assert.equal(await field.isVisible(), false, 'the form closes');
    assert.equal(existsSync(before), false, 'the old folder is gone');
    for (const file of swarm.files) {
      assert.equal(await sha256File(path.join(moved, file.path)), file.sha256, 'byte for byte');
    }
    assertNoProblems('moving the data');
  });

  it('Check data again checks the data in its new place and completes it again', { timeout: 60_000 }, async () => {
    await show('#/jobs/general', swarm.name);
    const updatedBefore = jobOf('general')?.updatedAt ?? '';
    await page.getByRole('button', { name: 'Check data again' }).click();
    // The answer (the job back in the queue) is said out loud.
    await page.getByRole('status').filter({ hasText: 'checking the data again' }).waitFor();
    await waitForJob(
      'general',
      (job) => job.updatedAt > updatedBefore && job.status === 'completed' && job.progress.fraction === 1,
      'checked and complete again',
    );
    await page.locator('p.status', { hasText: /^Completed/ }).waitFor({ timeout: 15_000 });
    assertNoProblems('checking the data again');
  });
});
