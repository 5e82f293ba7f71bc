/**
 * The web app at `/` in a real browser (Debian's Chromium, headless, resolving nothing but
 * 127.0.0.1) against a real server (startServer: SQLite, the WebTorrent engine, loopback only) and
 * loopback swarms: signing in through a `#signin=` link (once), the pasted token, signing out,
 * adding a magnet by keyboard until 100 % (byte for byte), a .torrent dropped or picked, pause and
 * resume, live updates across a dropped connection, the cancel dialog (delete), the piece order,
 * watching a real video while it downloads (seek to the middle), a page on another site that tries
 * to use the cookie, the Movies screen with and without TMDB (a fake one), and every screen at 360
 * and 1440 px: axe-core (no serious or critical violation, light and dark), no sideways scrolling,
 * no console error or warning, a screenshot in test-results/screenshots/<screen>-<width>.png.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { type RunningServer, startServer } from '../../src/app.js';
import { loadConfig } from '../../src/config/resolve-config.js';
import type { Job } from '../../src/domain/job.js';
import { MockDownloader } from '../../src/downloaders/mock-downloader.js';
import {
  CHROMIUM_MISSING,
  describeViolations,
  findChromium,
  launchBrowser,
  type PageProblems,
  runAxe,
  screenshot,
  tabTo,
  watchProblems,
} from '../helpers/browser.js';
import { type FakeTmdbServer, startFakeTmdbServer } from '../helpers/fake-tmdb-server.js';
import { createLoopbackSwarm, type LoopbackSwarm, sha256File } from '../helpers/loopback-swarm.js';
import {
  ffmpegUnavailableReason,
  killMediaTools,
  makeTestVideo,
  type SeededSwarm,
  seedFiles,
} from '../helpers/video-fixture.js';
import { tempDir, waitUntil } from '../helpers/wait.js';
import { assertWebAppServed, buildWebApp } from '../helpers/web-app-build.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const TOKEN = 'web-app-test-token-0123456789-abcdefghij';
const WIDTHS = [360, 1440] as const;
/** Chromium logs every 4xx/5xx answer a script receives; these are the ones a test provokes on purpose. */
const STATUS_LOGGED = (status: number) => new RegExp(`the server responded with a status of ${status}\\b`);

/**
 * The browser globals that functions run inside the page use (this project is type-checked
 * without the DOM library; these names exist only in the page, where those functions run).
 */
interface VideoElement {
  readyState: number;
  duration: number;
  currentTime: number;
  paused: boolean;
  seeking: boolean;
  play(): Promise<void>;
  pause(): void;
}
interface ImageElement {
  complete: boolean;
  naturalWidth: number;
}
declare const document: {
  activeElement: { textContent: string | null; tagName: string } | null;
  cookie: string;
  documentElement: { scrollWidth: number };
  body: { textContent: string | null; dataset: Record<string, string | undefined> };
  querySelector(selector: 'video'): VideoElement | null;
  querySelector(selector: 'img.poster'): ImageElement | null;
  getElementById(id: string): { submit(): void } | null;
  querySelectorAll(selector: string): Iterable<ClickableElement>;
};
interface ClickableElement {
  textContent: string | null;
  click(): void;
}
declare const window: { innerWidth: number };
declare function requestAnimationFrame(callback: () => void): number;

declare const DataTransfer: new () => { items: { add(file: unknown): void } };
declare const File: new (parts: unknown[], name: string, options: { type: string }) => unknown;

const chromium = findChromium();
const ffmpegMissing = ffmpegUnavailableReason();

interface Tab {
  context: BrowserContext;
  page: Page;
  problems: PageProblems;
}

describe('the web app in a real browser', { skip: chromium === null ? CHROMIUM_MISSING : false }, () => {
  let work: Awaited<ReturnType<typeof tempDir>>;
  let server: RunningServer;
  let browser: Browser;
  let night: LoopbackSwarm;
  let slow: LoopbackSwarm;
  let film: SeededSwarm | undefined;
  let crossSite: http.Server | undefined;
  /** The browser signed in through the link; the tests go on in it. */
  let main: Tab;
  const others: BrowserContext[] = [];
  /** What axe found below serious, or could not decide, by screen: reported, not failed. */
  const axeNotes = new Map<string, Set<string>>();

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

  async function openTab(): Promise<Tab> {
    const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
    context.setDefaultTimeout(15_000);
    const page = await context.newPage();
    return { context, page, problems: watchProblems(page) };
  }

  /** Loads a screen of the app by its address (a fresh page load) and waits for its heading. */
  async function show(tab: Tab, hash: string, heading: string | RegExp): Promise<void> {
    await tab.page.goto(`${server.url}/${hash}`);
    await tab.page.getByRole('heading', { level: 1, name: heading }).waitFor();
  }

  function assertNoProblems(tab: Tab, where: string): void {
    assert.deepEqual(tab.problems.unexpected(), [], `console errors or warnings on ${where}`);
  }

  /**
   * A screenshot, axe-core (no serious or critical violation) and no sideways scrolling at 360 and
   * 1440 px; axe again in the dark colour scheme.
   */
  async function checkScreen(tab: Tab, name: string): Promise<void> {
    const before = tab.page.viewportSize() ?? { width: 1440, height: 900 };
    for (const width of WIDTHS) {
      await tab.page.setViewportSize({ width, height: 900 });
      await screenshot(tab.page, name);
      const axe = await runAxe(tab.page);
      assert.deepEqual(axe.serious, [], `axe on ${name} at ${width} px:\n${describeViolations(axe.serious)}`);
      const notes = axeNotes.get(name) ?? new Set<string>();
      for (const violation of axe.violations) notes.add(`${violation.id} (${violation.impact}, violation)`);
      for (const item of axe.incomplete) notes.add(`${item}, to review`);
      axeNotes.set(name, notes);
      const overflow = await tab.page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      assert.ok(overflow <= 0, `${name} at ${width} px scrolls sideways by ${overflow} px`);
    }
    await tab.page.setViewportSize(before);
    // The dark colour scheme has colours of its own to check.
    await tab.page.emulateMedia({ colorScheme: 'dark' });
    const dark = await runAxe(tab.page);
    await tab.page.emulateMedia({ colorScheme: 'light' });
    assert.deepEqual(dark.serious, [], `axe on ${name}, dark:\n${describeViolations(dark.serious)}`);
  }

  before(
    async () => {
      buildWebApp();

      work = await tempDir('chilly-web-app-');
      night = await createLoopbackSwarm({
        name: 'Night.of.the.Living.Dead.1968.720p.BluRay.x264-GRP.mkv',
        files: [{ path: 'Night.of.the.Living.Dead.1968.720p.BluRay.x264-GRP.mkv', size: 4 * MiB }],
        pieceLength: 64 * KiB,
      });
      // Slow on purpose: still downloading while it is paused, resumed and cancelled.
      slow = await createLoopbackSwarm({
        name: 'The.Slow.Film.2001.mkv',
        files: [{ path: 'The.Slow.Film.2001.mkv', size: 3 * MiB }],
        pieceLength: 32 * KiB,
        uploadLimit: 64 * KiB,
      });
      if (ffmpegMissing === null) {
        const mp4 = path.join(work.dir, 'video', 'Big.Buck.Test.2008.mp4');
        // ~5 MiB of H.264 + AAC, 48 s; the seeder's 192 KiB/s keeps it downloading for ~28 s.
        await makeTestVideo({ file: mp4, seconds: 48, size: '640x360', videoKbps: 800 });
        film = await seedFiles({
          name: 'Big.Buck.Test.2008',
          files: [{ path: 'Big.Buck.Test.2008.mp4', source: mp4 }],
          pieceLength: 64 * KiB,
          uploadLimit: 192 * KiB,
        });
      }
      const config = loadConfig(
        { CHILLY_DATA_DIR: path.join(work.dir, 'data'), CHILLY_NETWORK: 'loopback', CHILLY_TOKEN: TOKEN },
        { host: '127.0.0.1', port: 0 },
      );
      server = await startServer({ config, logger: false });
      await assertWebAppServed(server.url);
      browser = await launchBrowser(chromium ?? '');
    },
    { timeout: 120_000 },
  );

  after(async () => {
    killMediaTools();
    await browser?.close().catch(() => undefined);
    await new Promise<void>((resolve) => (crossSite === undefined ? resolve() : crossSite.close(() => resolve())));
    await server?.close();
    await Promise.all([night?.close(), slow?.close(), film?.close()]);
    await work?.cleanup();
  });

  it('a sign-in link signs the browser in, and the code leaves the address bar', { timeout: 60_000 }, async () => {
    const answer = await api('POST', '/auth/sign-in-codes');
    assert.equal(answer.status, 201, JSON.stringify(answer.body));
    const link = answer.body as { code: string; url: string };
    assert.equal(link.url, `${server.url}/#signin=${link.code}`);

    main = await openTab();
    const requested: string[] = [];
    main.page.on('request', (request) => requested.push(request.url()));
    const page = await main.page.goto(link.url);
    const csp = page?.headers()['content-security-policy'] ?? '';
    assert.match(csp, /default-src 'none'/, `the page's CSP: ${csp}`);
    assert.match(csp, /script-src 'self'/);
    await main.page.getByRole('heading', { level: 1, name: 'Downloads' }).waitFor();
    assert.ok(!main.page.url().includes('signin'), `the code is gone from ${main.page.url()}`);
    assert.ok(!main.page.url().includes(link.code));
    await main.page.getByText('No downloads yet').waitFor();
    const cookies = await main.context.cookies();
    const session = cookies.find((cookie) => cookie.name === 'chilly_session');
    assert.ok(session !== undefined, 'a session cookie');
    assert.equal(session.httpOnly, true);
    assert.equal(session.sameSite, 'Strict');
    assert.ok(
      (await main.page.evaluate(() => document.cookie)).includes('chilly_session') === false,
      'scripts cannot read it',
    );
    await checkScreen(main, 'downloads-empty');
    const elsewhere = requested.filter((url) => !url.startsWith(`${server.url}/`) && !url.startsWith('data:'));
    assert.deepEqual(elsewhere, [], 'the app asks nothing of any other server (no CDN, no remote font)');
    assert.ok(requested.includes(`${server.url}/app/app.js`) && requested.includes(`${server.url}/app/app.css`));
    assertNoProblems(main, 'the downloads screen');
  });

  it('the same link is refused the second time: another browser gets the sign-in screen', {
    timeout: 60_000,
  }, async () => {
    const answer = await api('POST', '/auth/sign-in-codes');
    const link = answer.body as { url: string };
    const first = await openTab();
    others.push(first.context);
    await first.page.goto(link.url);
    await first.page.getByRole('heading', { level: 1, name: 'Downloads' }).waitFor();

    const second = await openTab();
    others.push(second.context);
    second.problems.expect(STATUS_LOGGED(401));
    await second.page.goto(link.url);
    await second.page.getByRole('heading', { level: 1, name: 'Sign in' }).waitFor();
    await second.page.getByRole('alert').filter({ hasText: 'unauthorized' }).waitFor();
    assert.ok(!second.page.url().includes('signin'), 'the used code is gone from the address bar too');
    await second.page.getByText('chilly open').first().waitFor();
    await checkScreen(second, 'sign-in');
    assertNoProblems(second, 'the sign-in screen');
  });

  it('the pasted API token signs in; Sign out ends the session on the server', { timeout: 60_000 }, async () => {
    const tab = await openTab();
    others.push(tab.context);
    tab.problems.expect(STATUS_LOGGED(401));
    await show(tab, '', 'Sign in');
    await tab.page.getByLabel('API token', { exact: true }).fill('not-the-token');
    await tab.page.getByLabel('API token', { exact: true }).press('Enter');
    await tab.page.getByRole('alert').filter({ hasText: 'unauthorized' }).waitFor();
    await tab.page.getByLabel('API token', { exact: true }).fill(TOKEN);
    await tab.page.getByRole('button', { name: 'Sign in' }).click();
    await tab.page.getByRole('heading', { level: 1, name: 'Downloads' }).waitFor();
    assert.equal(await tab.page.evaluate(() => document.activeElement?.tagName), 'H1', 'focus on the new screen');
    const cookie = (await tab.context.cookies()).find((each) => each.name === 'chilly_session');
    assert.ok(cookie !== undefined);

    await tab.page.getByRole('button', { name: 'Sign out' }).click();
    await tab.page.getByRole('heading', { level: 1, name: 'Sign in' }).waitFor();
    await tab.page.getByText('Signed out.').waitFor();
    const after = await fetch(`${server.url}/auth/session`, { headers: { cookie: `chilly_session=${cookie.value}` } });
    assert.equal(after.status, 401, 'the session is over on the server, not only in this browser');
    assertNoProblems(tab, 'signing in and out');
  });

  it('a magnet added on the Add screen, by keyboard alone, downloads to 100 %', { timeout: 60_000 }, async () => {
    const { page } = main;
    await show(main, '#/', 'Downloads');
    const navAdd = await tabTo(page, 'nav a[href="#/add"]');
    assert.ok(navAdd.outlined, 'the focused link is outlined');
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { level: 1, name: 'Add a download' }).waitFor();
    const field = await tabTo(page, '#source');
    assert.ok(field.outlined, 'the focused field is outlined');
    await page.keyboard.type(night.magnetURI);
    await page.keyboard.press('Enter');

    await page.waitForURL(/#\/jobs\//);
    const id = decodeURIComponent(new URL(page.url()).hash.replace('#/jobs/', ''));
    assert.equal(id, 'night-of-the-living-dead-1968-720p-bluray-x264-grp', 'the id made from the torrent name');
    await page.getByRole('heading', { level: 1, name: night.name }).waitFor();
    await page.locator('.percent', { hasText: '100 %' }).waitFor({ timeout: 30_000 });
    await page.locator('p.status', { hasText: 'Completed' }).waitFor();
    await waitForJob(id, (job) => job.status === 'completed', 'completed');
    const job = jobOf(id);
    assert.ok(job?.savePath !== undefined);
    for (const file of night.files) {
      assert.equal(await sha256File(path.join(job.savePath, file.path)), file.sha256, 'byte for byte');
    }
    await page.getByText(job.savePath).waitFor();

    await show(main, '#/', 'Downloads');
    const card = page.locator('.job-card', { hasText: night.name });
    await card.locator('.percent', { hasText: '100 %' }).waitFor();
    await card.getByText('Ratio').waitFor();
    assertNoProblems(main, 'adding a magnet');
  });

  it('pause and resume from the list, live; the job id typed on the Add screen', { timeout: 60_000 }, async () => {
    const { page } = main;
    await show(main, '#/add', 'Add a download');
    await page.getByLabel('Magnet link or info-hash').fill(slow.magnetURI);
    await page.getByLabel('Job id (optional)').fill('slow-film');
    await page.getByRole('button', { name: 'Add download' }).click();
    await page.waitForURL(/#\/jobs\/slow-film$/);
    await waitForJob('slow-film', (job) => job.progress.bytesDone > 0, 'some data', 30_000);

    await show(main, '#/', 'Downloads');
    const card = page.locator('.job-card', { hasText: slow.name });
    await card.getByRole('button', { name: /^Pause/ }).click();
    await card.locator('p.status', { hasText: 'Paused' }).waitFor();
    await waitForJob('slow-film', (job) => job.status === 'paused', 'paused');
    await checkScreen(main, 'downloads');

    await card.getByRole('button', { name: /^Resume/ }).click();
    await waitForJob('slow-film', (job) => job.status !== 'paused', 'resumed');
    await card.locator('p.status', { hasText: /Downloading|Queued|Stalled|Checking/ }).waitFor();

    // A change made elsewhere (the CLI, another browser) shows up here over the event stream.
    const paused = await api('POST', '/download/pause', { id: 'slow-film' });
    assert.equal(paused.status, 200);
    await card.locator('p.status', { hasText: 'Paused' }).waitFor();
    // Every connection cut (the event stream too): the app reconnects with the last event id, and
    // what happens meanwhile still arrives.
    main.problems.expect(/ERR_INCOMPLETE_CHUNKED_ENCODING \(http:\/\/127\.0\.0\.1:\d+\/events\)/);
    server.app.server.closeAllConnections();
    // This process's own pooled connection was cut too: the first request after it may fail.
    await waitUntil(
      () =>
        fetch(`${server.url}/health`).then(
          () => true,
          () => false,
        ),
      { timeoutMs: 10_000, what: 'the server to answer again' },
    );
    assert.equal((await api('POST', '/download/resume', { id: 'slow-film' })).status, 200);
    await card.locator('p.status', { hasText: /Downloading|Queued|Stalled|Checking/ }).waitFor();
    assert.ok((jobOf('slow-film')?.progress.fraction ?? 1) < 1, 'still downloading');
    assertNoProblems(main, 'pause and resume');
  });

  it('cancel asks keep or delete in a dialog (keyboard, Escape); delete removes the data', {
    timeout: 60_000,
  }, async () => {
    const { page } = main;
    await show(main, '#/jobs/slow-film', slow.name);
    const savePath = jobOf('slow-film')?.savePath;
    assert.ok(savePath !== undefined && existsSync(savePath), 'the job has data on disk');
    const cancel = page.getByRole('button', { name: /^Cancel/ });
    await cancel.focus();
    await page.keyboard.press('Enter');
    const dialog = page.getByRole('dialog', { name: /Cancel “/ });
    await dialog.waitFor();
    assert.equal(
      await page.evaluate(() => document.activeElement?.textContent),
      'Back',
      'the harmless choice has focus',
    );
    await checkScreen(main, 'cancel-dialog');
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'hidden' });
    assert.ok(await cancel.evaluate((element) => element === document.activeElement), 'focus back on Cancel');
    assert.ok(jobOf('slow-film') !== undefined, 'Escape cancels nothing');

    // Back, then Cancel again at once (a quick hand, or a busy machine): the browser sends the closed
    // dialog's `close` event only with the next frame, after the second click. The dialog opens all the same.
    await page.keyboard.press('Enter');
    await dialog.waitFor();
    await page.evaluate(() => {
      const back = [...document.querySelectorAll('dialog button')].find((button) => button.textContent === 'Back');
      const actions = [...document.querySelectorAll('.job-actions .buttons button')];
      const cancelAgain = actions.find((button) => button.textContent?.startsWith('Cancel') === true);
      if (back === undefined || cancelAgain === undefined) throw new Error('no Back or Cancel button');
      back.click();
      cancelAgain.click();
    });
    await page.evaluate(
      () => new Promise<void>((resolve) => requestAnimationFrame(() => requestAnimationFrame(() => resolve()))),
    );
    assert.ok(await dialog.isVisible(), 'the dialog asked for again is open after the old one closed');
    await tabTo(page, 'dialog button.danger', 5);
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { level: 1, name: 'Downloads' }).waitFor();
    assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'Downloads', 'focus on the list');
    await page.locator('.job-card', { hasText: slow.name }).waitFor({ state: 'detached' });
    await waitUntil(() => jobOf('slow-film') === undefined, { timeoutMs: 10_000, what: 'the job gone' });
    await waitUntil(() => !existsSync(savePath), { timeoutMs: 10_000, what: `${savePath} deleted` });
    assertNoProblems(main, 'cancelling');
  });

  it('a .torrent file, dropped or picked, adds a download; its piece order is changed on its page', {
    timeout: 60_000,
  }, async () => {
    const { page } = main;
    await show(main, '#/add', 'Add a download');
    const transfer = await page.evaluateHandle(
      ({ bytes, name }) => {
        const data = new DataTransfer();
        data.items.add(new File([new Uint8Array(bytes)], name, { type: 'application/x-bittorrent' }));
        return data;
      },
      { bytes: [...slow.torrentFile], name: 'The.Slow.Film.2001.torrent' },
    );
    for (const type of ['dragenter', 'dragover', 'drop']) {
      await page.locator('.drop-zone').dispatchEvent(type, { dataTransfer: transfer });
    }
    await page.locator('.chosen', { hasText: 'The.Slow.Film.2001.torrent' }).waitFor();
    await page.getByLabel('Job id (optional)').fill('slow-again');
    await page.getByRole('button', { name: 'Add download' }).click();
    await page.waitForURL(/#\/jobs\/slow-again$/);
    await page.getByRole('heading', { level: 1, name: slow.name }).waitFor();
    assert.equal(jobOf('slow-again')?.infoHash, slow.infoHash);

    // POST /download/files: the order of the pieces.
    await page.getByRole('checkbox', { name: slow.name }).waitFor();
    await page.getByLabel('Download in order (best for watching while it downloads)').uncheck();
    await page.getByRole('button', { name: 'Save file choices' }).click();
    await page.getByText('Saved.').waitFor();
    await waitForJob('slow-again', (job) => job.sequential === false, 'rarest first');

    // The same torrent again, from the file picker: the server answers its existing job.
    await show(main, '#/add', 'Add a download');
    await page.getByLabel('Or a .torrent file').setInputFiles({
      name: 'night.torrent',
      mimeType: 'application/x-bittorrent',
      buffer: night.torrentFile,
    });
    await page.getByRole('button', { name: 'Add download' }).click();
    await page.waitForURL(/#\/jobs\/night-of-the-living-dead/);
    await page.getByRole('heading', { level: 1, name: night.name }).waitFor();
    assertNoProblems(main, 'adding .torrent files');
  });

  it('play: the video plays, and a seek to the middle plays while the film is still downloading', {
    skip: ffmpegMissing ?? false,
    timeout: 90_000,
  }, async () => {
    assert.ok(film !== undefined);
    const { page } = main;
    await show(main, '#/', 'Downloads');
    // Added elsewhere: the list shows it without a reload.
    assert.equal(
      (await api('POST', '/download/start', { id: 'big-buck', sourceType: 'torrent', sourceUrn: film.magnetURI }))
        .status,
      201,
    );
    const card = page.locator('.job-card', { hasText: /Big\.Buck\.Test\.2008|big-buck/ });
    await card.waitFor();
    await card.getByRole('link', { name: /^Play/ }).click();
    await page.getByRole('heading', { level: 1, name: /^Watch / }).waitFor();

    const video = page.locator('video');
    await page.waitForFunction(() => (document.querySelector('video')?.readyState ?? 0) >= 1, undefined, {
      timeout: 30_000,
    });
    const duration = await video.evaluate((element: VideoElement) => element.duration);
    assert.ok(Math.abs(duration - 48) < 1, `a 48 s film, not ${duration} s`);
    await video.evaluate((element: VideoElement) => element.play());
    await page.waitForFunction(() => (document.querySelector('video')?.currentTime ?? 0) > 1, undefined, {
      timeout: 30_000,
    });
    assert.ok((jobOf('big-buck')?.progress.fraction ?? 1) < 1, 'played before the download ended');

    const middle = duration / 2;
    await video.evaluate((element: VideoElement, at: number) => {
      element.currentTime = at;
    }, middle);
    await page.waitForFunction(
      (at) => {
        const element = document.querySelector('video');
        return element !== null && !element.seeking && !element.paused && element.currentTime > at + 1;
      },
      middle,
      { timeout: 45_000 },
    );
    const fraction = jobOf('big-buck')?.progress.fraction ?? 1;
    assert.ok(fraction < 1, `the seek played while the film was downloading (${(fraction * 100).toFixed(0)} %)`);
    assert.ok((await page.locator('svg.buffer-bar rect.buffer-range').count()) >= 1, 'what is buffered is drawn');
    await video.evaluate((element: VideoElement) => element.pause());
    await checkScreen(main, 'player');
    assertNoProblems(main, 'the player');
  });

  it('the player says why it cannot play: a paused download, then a file that is no video', {
    timeout: 60_000,
  }, async () => {
    const { page } = main;
    main.problems.expect(STATUS_LOGGED(409));
    assert.equal((await api('POST', '/download/pause', { id: 'slow-again' })).status, 200);
    await show(main, '#/play/slow-again', /^Watch /);
    await page.getByRole('alert').filter({ hasText: 'stream_unavailable' }).waitFor();
    await page.getByRole('button', { name: 'Resume the download' }).click();
    await waitForJob('slow-again', (job) => job.status !== 'paused', 'resumed from the player');
    await page.getByRole('alert').filter({ hasText: 'stream_unavailable' }).waitFor({ state: 'detached' });

    // Random bytes named .mkv (on disk, complete): the browser cannot decode them, and the page says so.
    await show(main, '#/play/night-of-the-living-dead-1968-720p-bluray-x264-grp', /^Watch /);
    await page.getByRole('alert').filter({ hasText: 'cannot play this file' }).waitFor({ timeout: 30_000 });
    assertNoProblems(main, 'the player with nothing to play');
  });

  it('a page on another site cannot start a download with the cookie', { timeout: 60_000 }, async () => {
    const evil = 'magnet:?xt=urn:btih:cccccccccccccccccccccccccccccccccccccccc&dn=evil';
    crossSite = http.createServer((request, response) => {
      if (request.url === '/attack.js') {
        response.setHeader('content-type', 'text/javascript');
        response.end(attackScript(server.url, evil));
        return;
      }
      response.setHeader('content-type', 'text/html; charset=utf-8');
      response.end(`<!doctype html><html lang="en"><title>elsewhere</title>
        <form id="attack" method="POST" action="${server.url}/download/start" enctype="text/plain">
          <input name='{"sourceType":"torrent","id":"evil-form","sourceUrn":"${evil}","x":"' value='"}'>
        </form>
        <script src="/attack.js"></script>`);
    });
    await new Promise<void>((resolve) => crossSite?.listen(0, '127.0.0.1', () => resolve()));
    const address = crossSite.address();
    assert.ok(address !== null && typeof address === 'object');
    const elsewhere = `http://127.0.0.1:${address.port}/`;

    // The signed-in browser: its cookie is for 127.0.0.1, which the other port shares (same site).
    const page = await main.context.newPage();
    await page.goto(elsewhere);
    await page.waitForFunction(() => document.body.dataset.outcome !== undefined, undefined, { timeout: 15_000 });
    const attempts = JSON.parse((await page.evaluate(() => document.body.dataset.outcome)) ?? '{}') as Record<
      string,
      string
    >;
    assert.ok(!/HTTP 2\d\d/.test(attempts.simple ?? ''), `simple request: ${attempts.simple}`);
    assert.ok(attempts.preflighted?.startsWith('refused'), `preflighted request: ${attempts.preflighted}`);

    const navigation = page.waitForEvent('load');
    await page.evaluate(() => document.getElementById('attack')?.submit());
    await navigation;
    const answer = await page.evaluate(() => document.body.textContent ?? '');
    assert.match(answer, /origin_not_allowed|cross_site_request|unsupported_media_type/, answer);
    await page.close();

    // And on the app's own origin, a change without X-Requested-By is refused too.
    main.problems.expect(STATUS_LOGGED(403));
    await show(main, '#/', 'Downloads');
    const sameOrigin = await main.page.evaluate(async (magnet) => {
      const response = await fetch('/download/start', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ sourceType: 'torrent', sourceUrn: magnet, id: 'evil-same-origin' }),
      });
      return { status: response.status, body: await response.text() };
    }, evil);
    assert.equal(sameOrigin.status, 403, sameOrigin.body);
    assert.match(sameOrigin.body, /cross_site_request/);

    const evilJobs = server.service
      .list({ limit: 500 })
      .jobs.filter((job) => job.id.startsWith('evil') || job.sourceUrn.includes('cccccccc'));
    assert.deepEqual(
      evilJobs.map((job) => job.id),
      [],
      `no download was started: ${JSON.stringify(attempts)}`,
    );
  });

  it('every screen at 360 and 1440 px: no serious axe violation, no console error, screenshots', {
    timeout: 90_000,
  }, async (t) => {
    const { page } = main;
    await show(main, '#/', 'Downloads');
    await checkScreen(main, 'downloads-live');

    await show(main, '#/add', 'Add a download');
    await checkScreen(main, 'add');

    const nightId = 'night-of-the-living-dead-1968-720p-bluray-x264-grp';
    await show(main, `#/jobs/${nightId}`, night.name);
    await page.getByRole('checkbox', { name: night.name }).waitFor();
    await page.getByText('Night of the Living Dead (1968) · 720p · BluRay').waitFor();
    await checkScreen(main, 'job');

    // Without a TMDB key the search says so in words; the name's own reading is still shown.
    main.problems.expect(STATUS_LOGGED(503));
    await show(main, '#/movies', 'Movies');
    const item = page.locator('.movie-card', { hasText: night.name });
    await item.getByText('From its name: Night of the Living Dead (1968)').waitFor();
    await item.getByRole('button', { name: /^Find the film/ }).click();
    await item.getByLabel('Film title').waitFor();
    assert.equal(await item.getByLabel('Film title').inputValue(), 'Night of the Living Dead');
    assert.equal(await item.getByLabel('Year').inputValue(), '1968');
    await item.getByRole('button', { name: 'Search TMDB' }).click();
    await item.getByRole('alert').filter({ hasText: 'tmdb_not_configured' }).waitFor();
    await checkScreen(main, 'movies');

    await show(main, '#/settings', 'Settings');
    await page.getByText('media folder').first().waitFor();
    await page.getByRole('cell', { name: '********' }).waitFor();
    await checkScreen(main, 'settings');

    await show(main, '#/nowhere', 'Nothing here');
    await checkScreen(main, 'not-found');
    assertNoProblems(main, 'the screens');
    await Promise.all(others.map((context) => context.close()));
    for (const [screen, notes] of axeNotes) {
      t.diagnostic(`axe on ${screen}: ${notes.size === 0 ? 'nothing' : [...notes].join('; ')}`);
    }
  });
});

describe('the Movies screen with TMDB (a fake TMDB on 127.0.0.1)', {
  skip: chromium === null ? CHROMIUM_MISSING : false,
}, () => {
  let work: Awaited<ReturnType<typeof tempDir>>;
  let fake: FakeTmdbServer;
  let server: RunningServer;
  let browser: Browser;

  before(
    async () => {
      buildWebApp();
      work = await tempDir('chilly-web-movies-');
      fake = await startFakeTmdbServer();
      const config = loadConfig(
        {
          CHILLY_DATA_DIR: path.join(work.dir, 'data'),
          CHILLY_NETWORK: 'loopback',
          CHILLY_TOKEN: TOKEN,
          CHILLY_TMDB_BASE_URL: fake.baseUrl,
          TMDB_API_KEY: fake.apiKey,
        },
        { host: '127.0.0.1', port: 0 },
      );
      // The mock engine finishes a download in a moment: this is about films, not bytes.
      server = await startServer({
        config,
        downloader: new MockDownloader({ mediaRoot: config.mediaRoot, totalBytes: 2 * MiB, tickMs: 20 }),
        logger: false,
        metadata: { client: { timeoutMs: 5_000, retry: { maxAttempts: 1 } }, linker: { retryDelaysMs: [] } },
      });
      await assertWebAppServed(server.url);
      browser = await launchBrowser(chromium ?? '');
    },
    { timeout: 120_000 },
  );

  after(async () => {
    await browser?.close().catch(() => undefined);
    await server?.close();
    await fake?.close();
    await work?.cleanup();
  });

  it('shows a recognised film with its poster, and links the download to another film', {
    timeout: 60_000,
  }, async () => {
    const magnet = 'magnet:?xt=urn:btih:dddddddddddddddddddddddddddddddddddddddd&dn=Heat.1995.1080p.BluRay.x264-GRP';
    const started = await fetch(`${server.url}/download/start`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ id: 'heat', sourceType: 'torrent', sourceUrn: magnet }),
    });
    assert.equal(started.status, 201, await started.text());
    await waitUntil(
      () => {
        const job = server.service.get('heat');
        return job.status === 'completed' && job.movie?.tmdbId === 949;
      },
      { timeoutMs: 20_000, what: 'heat completed and recognised as Heat (1995)' },
    );

    const code = (await (
      await fetch(`${server.url}/auth/sign-in-codes`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` } })
    ).json()) as { url: string };
    const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
    context.setDefaultTimeout(15_000);
    const page = await context.newPage();
    const problems = watchProblems(page);
    await page.goto(code.url);
    await page.getByRole('heading', { level: 1, name: 'Downloads' }).waitFor();
    await page.goto(`${server.url}/#/movies`);
    const card = page.locator('.movie-card', { hasText: 'Heat.1995' });
    await card.getByRole('heading', { name: 'Heat (1995)' }).waitFor();
    await card.getByText('recognised from its name').waitFor();
    // The poster comes from this server (its cache of TMDB's image), with the session cookie.
    const poster = card.locator('img.poster');
    assert.equal(await poster.getAttribute('src'), '/metadata/posters/949');
    await page.waitForFunction(
      () => {
        const image = document.querySelector('img.poster');
        return image?.complete === true && image.naturalWidth > 0;
      },
      undefined,
      { timeout: 15_000 },
    );

    await card.getByRole('button', { name: /^Change the film/ }).click();
    assert.equal(await card.getByLabel('Film title').inputValue(), 'Heat');
    await card.getByLabel('Year').fill('');
    await card.getByRole('button', { name: 'Search TMDB' }).click();
    await card.getByRole('button', { name: /^This is the film\W+Heat \(1986\)$/ }).click();
    await waitUntil(() => server.service.get('heat').movie?.tmdbId === 32059, {
      timeoutMs: 10_000,
      what: 'the job linked to Heat (1986)',
    });
    await card.getByRole('heading', { name: 'Heat (1986)' }).waitFor();
    await card.getByText('your choice').waitFor();
    const axe = await runAxe(page);
    assert.deepEqual(axe.serious, [], describeViolations(axe.serious));
    await screenshot(page, 'movies-tmdb');
    assert.deepEqual(problems.unexpected(), [], 'console errors or warnings on the Movies screen');
    await context.close();
  });
});

/** What a page on another site runs against the server, with the browser's cookie (`credentials: 'include'`). */
function attackScript(target: string, magnet: string): string {
  return `
    const outcome = {};
    const body = (id) => JSON.stringify({ sourceType: 'torrent', sourceUrn: ${JSON.stringify(magnet)}, id });
    async function attempt(name, init) {
      try {
        const response = await fetch(${JSON.stringify(`${target}/download/start`)}, { method: 'POST', credentials: 'include', ...init });
        outcome[name] = 'HTTP ' + response.status;
      } catch (error) {
        outcome[name] = 'refused: ' + error.message;
      }
    }
    (async () => {
      // A "simple" request (no preflight), as a form would send it, readable or not.
      await attempt('simple', { headers: { 'content-type': 'text/plain' }, body: body('evil-simple') });
      await attempt('no-cors', { mode: 'no-cors', headers: { 'content-type': 'text/plain' }, body: body('evil-no-cors') });
      // The app's own header and JSON: the browser asks first (a preflight), and is told no.
      await attempt('preflighted', {
        headers: { 'content-type': 'application/json', 'x-requested-by': 'chilly' },
        body: body('evil-json'),
      });
      document.body.dataset.outcome = JSON.stringify(outcome);
    })();
  `;
}

if (chromium === null) {
  it(`SKIPPED web app browser tests: ${CHROMIUM_MISSING}`, { skip: CHROMIUM_MISSING }, () => undefined);
}
