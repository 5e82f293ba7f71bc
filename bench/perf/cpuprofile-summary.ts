/**
 * Where the time goes in a V8 .cpuprofile (node --cpu-prof): top functions by self time, the
 * same by package, and total (inclusive) time of the functions that matter most.
 *
 *   npx tsx bench/perf/cpuprofile-summary.ts <file.cpuprofile> [--top 25] [--callers writeBuffer]
 *
 * `--callers NAME` adds, for the functions whose name contains NAME, the call paths (up to 4
 * frames) that spent their self time.
 */
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
export interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** node_modules/<pkg> (scoped too), node:internal, or what V8 calls it. */
export function packageOf(frame: CallFrame): string {
  const { url, functionName } = frame;
  if (url === '') return functionName.startsWith('(') ? functionName : '(native / builtin)';
  if (url.startsWith('node:')) return 'node core';
  const match = /node_modules\/((?:@[^/]+\/)?[^/]+)\/(?!.*node_modules\/)/.exec(url);
  if (match?.[1] !== undefined) {
    return match[1] === '.cache' ? 'chilly (src + fixture, bundled)' : match[1];
  }
  if (url.includes('/dist/src/')) return 'chilly (dist)';
  return url.replace(/^file:\/\//, '');
}

function frameKey(frame: CallFrame): string {
  const file = frame.url.replace(/^file:\/\//, '').replace(/^.*node_modules\//, '');
  return `${frame.functionName || '(anonymous)'} ${file}${file === '' ? '' : `:${frame.lineNumber + 1}`}`;
}

function table(rows: [string, number][], totalUs: number, top: number, heading: string): string {
  const lines = [`| ${heading} | self ms | % |`, '|---|---|---|'];
  for (const [name, us] of rows.slice(0, top)) {
    lines.push(`| ${name.replace(/\|/g, '\\|')} | ${(us / 1000).toFixed(0)} | ${((us / totalUs) * 100).toFixed(1)} |`);
  }
  return lines.join('\n');
}

export function summariseProfile(profile: CpuProfile, top = 20): string {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);

  const selfByFunction = new Map<string, number>();
  const selfByPackage = new Map<string, number>();
  const totalByFunction = new Map<string, number>();
  let totalUs = 0;
  let idleUs = 0;
  profile.samples.forEach((id, index) => {
    const delta = profile.timeDeltas[index] ?? 0;
    const node = byId.get(id);
    if (node === undefined || delta <= 0) return;
    totalUs += delta;
    if (node.callFrame.functionName === '(idle)') {
      idleUs += delta;
      return;
    }
    const key = frameKey(node.callFrame);
    selfByFunction.set(key, (selfByFunction.get(key) ?? 0) + delta);
    const pkg = packageOf(node.callFrame);
    selfByPackage.set(pkg, (selfByPackage.get(pkg) ?? 0) + delta);
    // Inclusive: each function on the stack once per sample (recursion counted once).
    const seen = new Set<string>();
    for (let cursor: number | undefined = id, depth = 0; cursor !== undefined && depth < 1000; depth++) {
      const frame = byId.get(cursor)?.callFrame;
      if (frame !== undefined && frame.functionName !== '(root)') seen.add(frameKey(frame));
      cursor = parent.get(cursor);
    }
    for (const name of seen) totalByFunction.set(name, (totalByFunction.get(name) ?? 0) + delta);
  });
  const busyUs = totalUs - idleUs;
  const sorted = (map: Map<string, number>) => [...map.entries()].sort((a, b) => b[1] - a[1]);
  const wall = (profile.endTime - profile.startTime) / 1e6;
  return [
    `Profile: ${wall.toFixed(1)} s wall, main thread busy ${(busyUs / 1e6).toFixed(1)} s ` +
      `(${((busyUs / totalUs) * 100).toFixed(0)} %), idle ${(idleUs / 1e6).toFixed(1)} s. ` +
      'Percentages are of busy time.',
    '',
    table(sorted(selfByFunction), busyUs, top, 'function (self time)'),
    '',
    table(sorted(selfByPackage), busyUs, Math.min(top, 15), 'package (self time)'),
    '',
    table(sorted(totalByFunction), busyUs, top, 'function (total time: self + callees)'),
  ].join('\n');
}

/** Self time of functions named like `name`, by the call path (`depth` frames) that led to them. */
export function callersOf(profile: CpuProfile, name: string, top = 10, depth = 4): string {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const paths = new Map<string, number>();
  let total = 0;
  profile.samples.forEach((id, index) => {
    const delta = profile.timeDeltas[index] ?? 0;
    const node = byId.get(id);
    if (node === undefined || delta <= 0 || !node.callFrame.functionName.includes(name)) return;
    total += delta;
    const frames: string[] = [];
    for (let cursor = parent.get(id); cursor !== undefined && frames.length < depth; cursor = parent.get(cursor)) {
      const frame = byId.get(cursor)?.callFrame;
      if (frame !== undefined) frames.push(frameKey(frame));
    }
    const key = frames.join(' ← ');
    paths.set(key, (paths.get(key) ?? 0) + delta);
  });
  const lines = [`| call path to *${name}* (${(total / 1000).toFixed(0)} ms self) | ms |`, '|---|---|'];
  for (const [key, us] of [...paths.entries()].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    lines.push(`| ${key.replace(/\|/g, '\\|')} | ${(us / 1000).toFixed(0)} |`);
  }
  return lines.join('\n');
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { top: { type: 'string', default: '25' }, callers: { type: 'string', multiple: true } },
  });
  if (positionals.length === 0) {
    console.error('usage: npx tsx bench/perf/cpuprofile-summary.ts <file.cpuprofile>... [--top 25]');
    process.exit(2);
  }
  for (const file of positionals) {
    const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
    console.log(`## ${file}\n\n${summariseProfile(profile, Number(values.top))}\n`);
    for (const name of values.callers ?? []) console.log(`${callersOf(profile, name)}\n`);
  }
}
