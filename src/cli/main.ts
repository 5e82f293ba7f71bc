#!/usr/bin/env -S MALLOC_ARENA_MAX=2 node --max-semi-space-size=1
// The `chilly` command (package.json "bin"). Everything happens in run.ts.
// How node runs it, for memory (bench/perf, issue 8): a download allocates a stream of short-lived
// buffers. --max-semi-space-size=1 (MiB; V8's default is 16) collects them sooner, and
// MALLOC_ARENA_MAX=2 (glibc's default is 8 per core) keeps their freed memory in fewer arenas:
// peak RSS for a 1 GiB download ~170 → ~145 MiB, at about the same speed. Both are read at start
// only, so they sit here, in `npm start` and in `npm run chilly` (see README, "The engine and memory").
import { runFromProcess } from './run.js';

runFromProcess(process.argv.slice(2));
