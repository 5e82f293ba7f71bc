/** The web app as the server serves it, for the browser tests: built from web/ and checked served. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';

const ROOT = path.resolve(import.meta.dirname, '..', '..');

/** dist/web, built from web/ as `npm run build` does (the server serves it from there). */
export function buildWebApp(): void {
  const build = spawnSync(process.execPath, [path.join(ROOT, 'scripts', 'build-web.mjs')], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 60_000,
  });
  assert.equal(build.status, 0, `scripts/build-web.mjs failed:\n${build.stdout}${build.stderr}`);
}

/**
 * The page and its two files, as the server sends them (it keeps them once read). A build that
 * empties dist/ meanwhile (another test's `npm run build`) is waited out by building again; a
 * server that does not serve the app fails here, at once, rather than as a timeout in every test.
 */
export async function assertWebAppServed(base: string): Promise<void> {
  const files = [
    ['/', 'text/html'],
    ['/app/app.js', 'javascript'],
    ['/app/app.css', 'text/css'],
  ] as const;
  for (let attempt = 1; ; attempt += 1) {
    const answers = await Promise.all(
      files.map(async ([file, type]) => {
        const response = await fetch(`${base}${file}`, { signal: AbortSignal.timeout(10_000) });
        const text = await response.text();
        const contentType = response.headers.get('content-type') ?? '';
        return response.status === 200 && contentType.includes(type)
          ? undefined
          : `GET ${file}: ${response.status} ${contentType} ${text.slice(0, 300)}`;
      }),
    );
    const failures = answers.filter((answer) => answer !== undefined);
    if (failures.length === 0) return;
    assert.ok(attempt < 3, `the server does not serve the web app:\n${failures.join('\n')}`);
    buildWebApp();
  }
}
