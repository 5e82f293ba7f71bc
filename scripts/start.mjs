#!/usr/bin/env node
/**
 * `npm start`: builds dist/ only if the sources changed since the last build
 * (scripts/ensure-build.mjs), then runs the CLI in this same process (`chilly serve`, with the
 * arguments given), so a restart costs one Node start-up, not two and a compile.
 */
import { ensureBuild } from './ensure-build.mjs';

ensureBuild();
await import('../dist/src/cli/main.js');
