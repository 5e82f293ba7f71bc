/**
 * A real browser for the web app's tests: Debian's Chromium driven by playwright-core, headless,
 * kept off the network (it resolves no name but 127.0.0.1, and its background services are off).
 * Helpers collect console errors and warnings and page errors, run axe-core on a page, and save
 * screenshots to test-results/screenshots/<name>-<width>.png.
 */
import { execFileSync } from 'node:child_process';
import { accessSync, constants, readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Browser, type ConsoleMessage, chromium, type Page } from 'playwright-core';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

export const CHROMIUM_MISSING = 'Chromium is not installed (apt-get install chromium; .ci/run installs it)';
export const SCREENSHOT_DIR = path.join(root, 'test-results', 'screenshots');

/** Flags that keep Chromium from talking to anything but 127.0.0.1. */
export const OFFLINE_FLAGS = [
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-default-apps',
  '--disable-domain-reliability',
  '--metrics-recording-only',
  '--no-pings',
  '--disable-features=Translate,OptimizationHints,MediaRouter,DialMediaRouteProvider',
  '--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1',
];

function executable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Chromium's path: `CHILLY_CHROMIUM`, /usr/bin/chromium, or `chromium` on the PATH; null when there is none. */
export function findChromium(): string | null {
  const fromEnv = process.env.CHILLY_CHROMIUM;
  if (fromEnv !== undefined && fromEnv !== '') return executable(fromEnv) ? fromEnv : null;
  if (executable('/usr/bin/chromium')) return '/usr/bin/chromium';
  try {
    const found = execFileSync('which', ['chromium'], { encoding: 'utf8', timeout: 5_000 }).trim();
    return found !== '' && executable(found) ? found : null;
  } catch {
    return null;
  }
}

export async function launchBrowser(executablePath: string): Promise<Browser> {
  const args = [
    ...OFFLINE_FLAGS,
    // The player test calls play() itself, with no click to count as a gesture.
    '--autoplay-policy=no-user-gesture-required',
    '--mute-audio',
  ];
  // Chromium's sandbox refuses to run as root.
  if (process.getuid?.() === 0) args.push('--no-sandbox');
  return chromium.launch({ executablePath, headless: true, args, timeout: 30_000 });
}

export interface PageProblems {
  /** Console errors and warnings, and uncaught page errors, as text. */
  readonly messages: string[];
  /** Those not matched by an `expected` pattern. */
  unexpected(): string[];
  /** Console messages matching `pattern` are expected from now on (a 401 while signed out). */
  expect(pattern: RegExp): void;
}

/** Collects what a page logs at error or warning level, and its uncaught errors. */
export function watchProblems(page: Page): PageProblems {
  const messages: string[] = [];
  const expected: RegExp[] = [];
  page.on('console', (message: ConsoleMessage) => {
    const type = message.type();
    if (type !== 'error' && type !== 'warning') return;
    const where = message.location().url;
    messages.push(`console.${type}: ${message.text()}${where === '' ? '' : ` (${where})`}`);
  });
  page.on('pageerror', (error) => messages.push(`page error: ${error.message}`));
  return {
    messages,
    unexpected: () => messages.filter((text) => !expected.some((pattern) => pattern.test(text))),
    expect: (pattern) => {
      expected.push(pattern);
    },
  };
}

export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: Array<{ target: unknown; failureSummary?: string }>;
}

export interface AxeSummary {
  violations: AxeViolation[];
  /** Serious or critical: what the tests allow none of. */
  serious: AxeViolation[];
  /** Results axe could not decide (e.g. whether a video needs captions). */
  incomplete: string[];
}

/**
 * The browser globals that functions run inside the page use (this project is type-checked
 * without the DOM library; these names exist only in the page, where those functions run).
 */
interface PageElement {
  matches(selector: string): boolean;
}
declare const document: { activeElement: PageElement | null };
declare function getComputedStyle(element: PageElement): { outlineStyle: string; outlineWidth: string };

let axeSource: string | undefined;

/**
 * Runs axe-core in the page. The source is evaluated through the DevTools protocol, which the
 * page's Content-Security-Policy does not govern (a `<script>` tag would be refused, and
 * `bypassCSP` would change the page under test).
 */
export async function runAxe(page: Page): Promise<AxeSummary> {
  axeSource ??= readFileSync(path.join(root, 'node_modules', 'axe-core', 'axe.min.js'), 'utf8');
  const loaded = await page.evaluate(() => typeof (globalThis as { axe?: unknown }).axe !== 'undefined');
  if (!loaded) await page.evaluate(`${axeSource}\n;0`);
  const result = await page.evaluate(async () => {
    const axe = (
      globalThis as unknown as {
        axe: {
          run(
            context: unknown,
            options: unknown,
          ): Promise<{ violations: AxeViolation[]; incomplete: Array<{ id: string; impact: string | null }> }>;
        };
      }
    ).axe;
    const outcome = await axe.run(document, { resultTypes: ['violations', 'incomplete'] });
    return {
      violations: outcome.violations.map((violation) => ({
        id: violation.id,
        impact: violation.impact,
        help: violation.help,
        nodes: violation.nodes.map((node) => ({ target: node.target, failureSummary: node.failureSummary })),
      })),
      incomplete: outcome.incomplete.map((item) => `${item.id} (${item.impact ?? 'no impact'})`),
    };
  });
  return {
    ...result,
    serious: result.violations.filter((violation) => violation.impact === 'serious' || violation.impact === 'critical'),
  };
}

/** A readable list of violations for an assertion message. */
export function describeViolations(violations: AxeViolation[]): string {
  return violations
    .map(
      (violation) =>
        `${violation.id} (${violation.impact}): ${violation.help}\n${violation.nodes
          .map((node) => `  ${JSON.stringify(node.target)} ${node.failureSummary ?? ''}`)
          .join('\n')}`,
    )
    .join('\n');
}

/** Saves a full-page screenshot as test-results/screenshots/<name>-<width>.png; returns its path. */
export async function screenshot(page: Page, name: string): Promise<string> {
  await mkdir(SCREENSHOT_DIR, { recursive: true });
  const width = page.viewportSize()?.width ?? 0;
  const file = path.join(SCREENSHOT_DIR, `${name}-${width}.png`);
  await page.screenshot({ path: file, fullPage: true, animations: 'disabled', timeout: 15_000 });
  return file;
}

/**
 * Presses Tab until the focused element matches `selector` (at most `maxPresses` times): proof
 * that a control is reachable by keyboard. Returns whether the focus is visibly marked.
 */
export async function tabTo(page: Page, selector: string, maxPresses = 40): Promise<{ outlined: boolean }> {
  for (let press = 0; press < maxPresses; press += 1) {
    await page.keyboard.press('Tab');
    const state = await page.evaluate((wanted) => {
      const active = document.activeElement;
      if (active === null || !active.matches(wanted)) return undefined;
      const style = getComputedStyle(active);
      return { outlined: style.outlineStyle !== 'none' && Number.parseFloat(style.outlineWidth) > 0 };
    }, selector);
    if (state !== undefined) return state;
  }
  throw new Error(`${selector} was not reached with ${maxPresses} presses of Tab`);
}
