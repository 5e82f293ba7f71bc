#!/usr/bin/env node
// The `chilly` command (package.json "bin"). Everything happens in run.ts.
import { runFromProcess } from './run.js';

runFromProcess(process.argv.slice(2));
