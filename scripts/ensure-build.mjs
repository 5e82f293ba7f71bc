#!/usr/bin/env node
/**
 * Builds dist/ (`npm run build`) only when what it is built from changed since the last build:
 * `npm start` (scripts/start.mjs) and `npm pack` use this instead of compiling every time, so a
 * restart is as fast as the server itself. The fingerprint of the inputs (their paths, sizes and
 * modification times: a few milliseconds to take) is kept in dist/.build-fingerprint, written by
 * scripts/build.mjs once a build succeeded.
 *
 *   node scripts/ensure-build.mjs           build if needed
 *   node scripts/ensure-build.mjs --check   exit 1 if a build is needed, without building
 *   node scripts/ensure-build.mjs --record  note that dist/ is built from the sources as they are
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const INPUT_FOLDERS = ['src', 'types', 'patches', 'contracts', 'web'];
const INPUT_FILES = [
  'package.json',
  'package-lock.json',
  'tsconfig.json',
  'tsconfig.build.json',
  'scripts/build.mjs',
  'scripts/bundle-engine.mjs',
  'scripts/build-web.mjs',
  'scripts/bundled-licences.mjs',
];
const FINGERPRINT_FILE = path.join(root, 'dist', '.build-fingerprint');
/** What a build must have produced for the fingerprint to count. */
const OUTPUTS = [
  'dist/src/index.js',
  'dist/src/cli/main.js',
  'dist/src/engine/bittorrent-engine.js',
  'dist/web/index.html',
];

function filesUnder(folder) {
  const found = [];
  for (const entry of readdirSync(path.join(root, folder), { withFileTypes: true })) {
    const relative = `${folder}/${entry.name}`;
    if (entry.isDirectory()) found.push(...filesUnder(relative));
    else if (entry.isFile()) found.push(relative);
  }
  return found;
}

export function sourceFingerprint() {
  const hash = createHash('sha256');
  const files = [...INPUT_FOLDERS.flatMap((folder) => filesUnder(folder)), ...INPUT_FILES].sort();
  for (const file of files) {
    const stats = statSync(path.join(root, file));
    hash.update(`${file}\0${stats.size}\0${stats.mtimeMs}\n`);
  }
  return hash.digest('hex');
}

export function isBuildCurrent() {
  const built = existsSync(FINGERPRINT_FILE) ? readFileSync(FINGERPRINT_FILE, 'utf8').trim() : '';
  return built === sourceFingerprint() && OUTPUTS.every((output) => existsSync(path.join(root, output)));
}

export function recordBuild() {
  writeFileSync(FINGERPRINT_FILE, `${sourceFingerprint()}\n`);
}

/** Builds if needed; exits the process with the build's status if the build fails. */
export function ensureBuild() {
  if (isBuildCurrent()) return;
  console.error('Building (the sources changed since the last build)…');
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const build = spawnSync(npm, ['run', '--silent', 'build'], { cwd: root, stdio: 'inherit' });
  if (build.status !== 0) process.exit(build.status ?? 1);
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  if (process.argv.includes('--record')) recordBuild();
  else if (process.argv.includes('--check')) {
    if (!isBuildCurrent()) {
      console.error('dist/ is out of date with the sources: run `npm run build`');
      process.exit(1);
    }
  } else ensureBuild();
}
