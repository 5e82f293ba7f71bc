#!/usr/bin/env node
/**
 * Bundles the BitTorrent engine (src/engine/bittorrent-engine.ts: WebTorrent and the libraries
 * around it, as patched in node_modules by patches/*.patch) and src/engine/torrent-codec.ts (the
 * torrent and magnet readers) into dist/src/engine/, replacing what tsc emitted there, with the
 * code both use in one shared chunk. Run by `npm run build`, after tsc.
 *
 * Why a bundle: npm `overrides` and patch-package act only in this repository's own install. A
 * project that installs chilly-movies as a dependency would get the unpatched engine, uint8-util
 * 2.3 (every add fails), ip-set 3 (its preinstall aborts npm) and a native WebRTC binding. The
 * bundle carries the patched code itself, so the package needs none of those packages at all.
 * Native modules stay outside (utp-native is an optional dependency; ws's bufferutil and
 * utf-8-validate are optional speed-ups it loads when present).
 *
 * Before bundling, every patch is checked to be applied to node_modules (`git apply --reverse
 * --check`): a bundle is never built from unpatched sources. Licences of the bundled packages are
 * written beside the bundle.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { bundledLicences } from './bundled-licences.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const outDir = path.join(root, 'dist', 'src', 'engine');
const ENTRIES = ['bittorrent-engine', 'torrent-codec'];
const NATIVE_OR_OPTIONAL = ['utp-native', 'bufferutil', 'utf-8-validate'];
const NEVER_BUNDLED = ['@roamhq/wrtc', 'node-datachannel', 'wrtc'];

function checkPatchesApplied() {
  const patches = readdirSync(path.join(root, 'patches')).filter((name) => name.endsWith('.patch'));
  for (const patch of patches) {
    try {
      execFileSync('git', ['apply', '--reverse', '--check', path.join('patches', patch)], { cwd: root, stdio: 'pipe' });
    } catch (error) {
      const detail = String(error.stderr ?? error.message).trim();
      throw new Error(`patches/${patch} is not applied to node_modules (run \`npx patch-package\`):\n${detail}`);
    }
  }
  return patches;
}

const patches = checkPatchesApplied();
const result = await build({
  absWorkingDir: root,
  entryPoints: ENTRIES.map((name) => `src/engine/${name}.ts`),
  outdir: outDir,
  // The torrent readers are loaded without the engine; what both use is one shared chunk.
  splitting: true,
  chunkNames: 'engine-shared-[hash]',
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  external: NATIVE_OR_OPTIONAL,
  define: { __CHILLY_ENGINE_BUNDLED__: 'true' },
  // CommonJS modules in the bundle call require() for Node's built-ins and the native modules above.
  banner: {
    js: "import { createRequire as __chillyCreateRequire } from 'node:module';\nconst require = __chillyCreateRequire(import.meta.url);",
  },
  legalComments: 'none',
  sourcemap: 'linked',
  sourcesContent: false,
  metafile: true,
  logLevel: 'warning',
});

const inputs = Object.keys(result.metafile.inputs);
const forbidden = inputs.filter((input) => NEVER_BUNDLED.some((name) => input.includes(`node_modules/${name}/`)));
if (forbidden.length > 0) throw new Error(`the engine bundle must not contain ${forbidden.join(', ')}`);

const licences = bundledLicences(root, inputs);
writeFileSync(
  path.join(outDir, 'THIRD-PARTY-LICENSES.txt'),
  [
    `dist/src/engine/ bundles these ${licences.count} packages, with the patches in this package's`,
    `patches/ folder applied (${patches.join(', ')}).`,
    '',
    licences.text,
  ].join('\n'),
);

// tsc's output for the modules the bundle now contains would import the unpatched packages.
for (const name of ['engine-modules.js', 'engine-modules.js.map']) {
  rmSync(path.join(outDir, name), { force: true });
}

const bytes = Object.entries(result.metafile.outputs)
  .filter(([file]) => file.endsWith('.js'))
  .reduce((sum, [, output]) => sum + output.bytes, 0);
console.log(
  `engine bundle: ${Object.keys(result.metafile.outputs).filter((file) => file.endsWith('.js')).length} files in ${path.relative(root, outDir)}, ${(bytes / 1024).toFixed(0)} KiB, ${licences.count} packages, ${patches.length} patches checked`,
);
