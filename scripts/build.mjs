#!/usr/bin/env node
/**
 * `npm run build`: a clean dist/ (no output of deleted sources is left to be packed), tsc, the
 * engine bundle (scripts/bundle-engine.mjs), the web app (scripts/build-web.mjs), the contract as JSON, then the sources' fingerprint, so that
 * scripts/ensure-build.mjs knows this build is current.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

function run(command, args) {
  const result = spawnSync(command, args, { cwd: root, stdio: 'inherit' });
  if (result.status !== 0) process.exit(result.status ?? 1);
}

rmSync(path.join(root, 'dist'), { recursive: true, force: true });
run(process.execPath, [path.join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json']);
run(process.execPath, [path.join(root, 'scripts', 'bundle-engine.mjs')]);
// The web app (web/ → dist/web), served at `/`.
run(process.execPath, [path.join(root, 'scripts', 'build-web.mjs')]);
// The contract as JSON beside src/api/contract.js, which reads it instead of parsing the YAML.
const contract = parse(readFileSync(path.join(root, 'contracts', 'openapi.downloads.yaml'), 'utf8'));
writeFileSync(path.join(root, 'dist', 'src', 'api', 'openapi.downloads.json'), JSON.stringify(contract));
run(process.execPath, [path.join(root, 'scripts', 'ensure-build.mjs'), '--record']);
