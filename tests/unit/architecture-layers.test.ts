/**
 * The layers of src/ and who may import whom (README, "Architecture"): every relative import in
 * src/ is checked against this table, so that no import runs up the layers (a repository that
 * imports the metadata layer, a domain type that needs a driver, a browser client that needs Node).
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { REPO_ROOT } from '../helpers/cli-run.js';

const SRC = path.join(REPO_ROOT, 'src');

/** Each room of src/ (a folder, or a file at the root) and the rooms it may import from. */
const MAY_IMPORT: Record<string, readonly string[]> = {
  // Shapes, states and errors; no I/O.
  domain: [],
  // WebTorrent and its libraries, bundled with their patches.
  engine: [],
  // The typed HTTP client: runs in browsers, so it stands alone.
  client: [],
  retry: ['domain'],
  http: ['domain', 'retry'],
  config: ['domain'],
  torrent: ['domain', 'engine'],
  disk: ['domain'],
  storage: ['domain'],
  // Finding subtitles in a torrent and reading them as WebVTT; the library folder media servers read.
  subtitles: ['domain'],
  library: ['domain'],
  downloaders: ['domain', 'engine', 'torrent', 'disk', 'config', 'http', 'retry'],
  metadata: ['domain', 'http', 'retry', 'storage', 'config'],
  service: ['domain', 'storage', 'downloaders', 'metadata', 'disk', 'torrent', 'config', 'subtitles', 'library'],
  api: ['domain', 'service', 'metadata', 'config'],
  // The composition root: builds storage, engine, service, metadata and the HTTP app from the config.
  hooks: ['domain', 'retry'],
  app: ['domain', 'config', 'storage', 'downloaders', 'metadata', 'service', 'api', 'hooks'],
  cli: [
    'domain',
    'client',
    'app',
    'api',
    'config',
    'disk',
    'downloaders',
    'engine',
    'http',
    'service',
    'storage',
    'subtitles',
  ],
  // The package's entry points.
  index: ['*'],
  server: ['cli'],
};

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(full);
    return entry.name.endsWith('.ts') ? [full] : [];
  });
}

function roomOf(file: string): string {
  const [first = '', ...rest] = path.relative(SRC, file).split(path.sep);
  return rest.length === 0 ? first.replace(/\.(ts|js)$/, '') : first;
}

/** Relative imports of a file: static, `export … from`, `import type`, and `import()`. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)'(\.{1,2}\/[^']+)'/g)].map((match) =>
    path.resolve(path.dirname(file), match[1] ?? ''),
  );
}

describe('the layers of src/', () => {
  const files = sourceFiles(SRC);

  test('every room of src/ is in the table', () => {
    const rooms = new Set(files.map(roomOf));
    assert.deepEqual([...rooms].filter((room) => MAY_IMPORT[room] === undefined).sort(), []);
  });

  test('no import runs up the layers', () => {
    const wrong: string[] = [];
    for (const file of files) {
      const from = roomOf(file);
      const allowed = MAY_IMPORT[from] ?? [];
      for (const target of importsOf(file)) {
        const to = roomOf(target);
        if (to === from || allowed.includes('*') || allowed.includes(to)) continue;
        wrong.push(`${path.relative(SRC, file)} (${from}) imports ${path.relative(SRC, target)} (${to})`);
      }
    }
    assert.deepEqual(wrong, []);
  });

  test('the client imports nothing from Node (it runs in browsers)', () => {
    const nodeImports = files
      .filter((file) => roomOf(file) === 'client')
      .filter((file) => /from\s*'node:|\bBuffer\b/.test(readFileSync(file, 'utf8')));
    assert.deepEqual(nodeImports, []);
  });
});
