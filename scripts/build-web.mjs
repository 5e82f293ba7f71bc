#!/usr/bin/env node
/**
 * Builds the web app (web/: Preact + TypeScript, hand-written CSS) into dist/web/: index.html,
 * app.js and app.css, which the server sends at `/`, `/app/app.js` and `/app/app.css` under a
 * Content-Security-Policy that allows no inline script or style and nothing from elsewhere. So:
 * one script file, one style sheet, no inline code, no CDN, no remote font.
 *
 * Prints the gzipped size of app.js + app.css and fails above 200 KiB (the app aims well under
 * 60 KiB). Files are written beside their final names and renamed into place, so a server (or a
 * test) reading dist/web meanwhile sees the old file or the new one, never half of one.
 *
 * Usage: node scripts/build-web.mjs
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';
import { bundledLicences } from './bundled-licences.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const outDir = path.join(root, 'dist', 'web');
const BUDGET_BYTES = 200 * 1024;

const common = {
  absWorkingDir: root,
  bundle: true,
  minify: true,
  target: 'es2020',
  legalComments: 'none',
  write: false,
  metafile: true,
  logLevel: 'warning',
};

const [script, styles] = await Promise.all([
  build({
    ...common,
    entryPoints: ['web/src/main.tsx'],
    outfile: 'dist/web/app.js',
    format: 'esm',
    platform: 'browser',
    jsx: 'automatic',
    jsxImportSource: 'preact',
    tsconfig: 'web/tsconfig.json',
    define: { 'process.env.NODE_ENV': '"production"' },
  }),
  build({
    ...common,
    entryPoints: ['web/styles.css'],
    outfile: 'dist/web/app.css',
    // Everything the style sheet needs is in it: a url() to anywhere else would be refused by the CSP.
    external: [],
  }),
]);

const js = script.outputFiles.find((file) => file.path.endsWith('app.js'));
const css = styles.outputFiles.find((file) => file.path.endsWith('app.css'));
if (js === undefined || css === undefined) throw new Error('esbuild produced no app.js or app.css');

const html = readFileSync(path.join(root, 'web', 'index.html'), 'utf8');
if (/<script(?![^>]*\ssrc=)[^>]*>|<style[\s>]|\sstyle=|\son[a-z]+=/i.test(html)) {
  throw new Error('web/index.html has an inline script, style or event handler: the CSP refuses them');
}
for (const asset of ['/app/app.js', '/app/app.css']) {
  if (!html.includes(`"${asset}"`)) throw new Error(`web/index.html does not load ${asset}`);
}

const gzipped = gzipSync(js.contents, { level: 9 }).length + gzipSync(css.contents, { level: 9 }).length;
const kib = (bytes) => `${(bytes / 1024).toFixed(1)} KiB`;
// Checked before anything is written: an app over budget does not replace the one in dist/web.
if (gzipped > BUDGET_BYTES) {
  console.error(`web app: ${kib(gzipped)} gzipped is over the ${kib(BUDGET_BYTES)} budget`);
  process.exit(1);
}

mkdirSync(outDir, { recursive: true });
const files = {
  'index.html': html,
  'app.js': js.contents,
  'app.css': css.contents,
  'THIRD-PARTY-LICENSES.txt': `dist/web/app.js bundles these packages:\n\n${bundledLicences(root, Object.keys(script.metafile.inputs)).text}`,
};
for (const [name, contents] of Object.entries(files)) {
  const target = path.join(outDir, name);
  const temporary = `${target}.${process.pid}.tmp`;
  writeFileSync(temporary, contents);
  renameSync(temporary, target);
}

console.log(
  `web app: ${path.relative(root, outDir)}/ app.js ${kib(js.contents.length)}, app.css ${kib(css.contents.length)}; ` +
    `gzipped JS+CSS ${kib(gzipped)} (budget ${kib(BUDGET_BYTES)})`,
);
