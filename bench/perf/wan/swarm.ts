/**
 * The emulated WAN swarm of wan-swarm.ts as processes: the python3-libtorrent seeders (one
 * process, lt_seeders.py) and their relays (one node process, relay.ts bundled), each driven
 * through JSON lines with bounded waits. The seeders listen on `seederPort(i)`, the relays on
 * `relayPort(i)`; the tracker names only the relays.
 */
import { writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type JsonEvent, jsonEvent } from '../clients.js';
import { Managed } from '../spawn.js';
import type { RelayConfig, RelayReport } from './relay.js';
import type { PlannedSeeder } from './swarm-plan.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const PYTHON = '/usr/bin/python3'; // python3-libtorrent imports only there (DESIGN.md)
const LT_SEEDERS = path.join(HERE, 'lt_seeders.py');

/**
 * A child speaking JSON lines: `next(event)` waits (bounded) for the next line of that event,
 * failing early if the child reports `error` or exits.
 */
export class JsonLineChild {
  readonly managed: Managed;
  private readonly waiters: { event: string; resolve: (e: JsonEvent) => void; reject: (e: Error) => void }[] = [];
  private failure: Error | undefined;

  constructor(name: string, command: string, args: readonly string[], env?: NodeJS.ProcessEnv) {
    this.managed = new Managed(name, command, args, {
      ...(env === undefined ? {} : { env }),
      onLine: (line) => this.onLine(line),
    });
    void this.managed.exited.then(() => this.fail(new Error(`${name} exited (${this.managed.exitStatus})`)));
  }

  private onLine(line: string): void {
    const event = jsonEvent(line);
    if (event === undefined) return;
    if (event.event === 'error') {
      this.fail(new Error(`${this.managed.name}: ${String(event.message)}`));
      return;
    }
    const index = this.waiters.findIndex((w) => w.event === event.event);
    if (index >= 0) this.waiters.splice(index, 1)[0]?.resolve(event);
  }

  private fail(error: Error): void {
    this.failure ??= error;
    for (const waiter of this.waiters.splice(0)) waiter.reject(error);
  }

  next(event: string, timeoutMs: number): Promise<JsonEvent> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    return new Promise<JsonEvent>((resolve, reject) => {
      const timer = setTimeout(() => {
        const index = this.waiters.indexOf(waiter);
        if (index >= 0) this.waiters.splice(index, 1);
        reject(new Error(`${this.managed.name}: no "${event}" within ${Math.round(timeoutMs / 1000)} s`));
      }, timeoutMs);
      const waiter = {
        event,
        resolve: (e: JsonEvent) => {
          clearTimeout(timer);
          resolve(e);
        },
        reject: (e: Error) => {
          clearTimeout(timer);
          reject(e);
        },
      };
      this.waiters.push(waiter);
    });
  }

  /** Sends a command line and waits for the event that answers it. */
  request(command: string, event: string, timeoutMs: number): Promise<JsonEvent> {
    const answer = this.next(event, timeoutMs);
    this.managed.send(command);
    return answer;
  }
}

/** Throws unless every port is free on 127.0.0.1 (the swarm's fixed ports). */
export async function checkPortsFree(ports: readonly number[]): Promise<void> {
  for (const port of ports) {
    await new Promise<void>((resolve, reject) => {
      const probe = net.createServer();
      probe.once('error', (error) => reject(new Error(`127.0.0.1:${port} is taken (${error.message})`)));
      probe.listen(port, '127.0.0.1', () => probe.close(() => resolve()));
    });
  }
}

export interface SwarmLayout {
  plan: readonly PlannedSeeder[];
  /** Where seeder i listens, and where its relay listens (127.0.0.1). */
  seederPorts: readonly number[];
  relayPorts: readonly number[];
  /** Torrent without announce URL, for the seeders. */
  seederTorrent: string;
  /** save_path of healthy seeders, and of the corrupt one. */
  seedDir: string;
  corruptDir: string;
  workDir: string;
  seed: number;
  dropAfterBytes: number;
  maxSeconds: number;
}

/** The seeders' process: started fresh for every leecher's run, on the same ports. */
export class Seeders {
  private child: JsonLineChild | undefined;

  constructor(private readonly layout: SwarmLayout) {}

  get process(): Managed | undefined {
    return this.child?.managed;
  }

  async start(readyTimeoutMs: number): Promise<void> {
    await this.stop();
    const config = {
      torrent: this.layout.seederTorrent,
      max_seconds: this.layout.maxSeconds,
      seeders: this.layout.plan.map((seeder, i) => ({
        port: this.layout.seederPorts[i],
        save_path: seeder.fault === 'corrupt' ? this.layout.corruptDir : this.layout.seedDir,
        upload_rate: seeder.uploadRate,
      })),
    };
    const file = path.join(this.layout.workDir, 'seeders.json');
    await writeFile(file, `${JSON.stringify(config, null, 2)}\n`);
    const child = new JsonLineChild('seeders', PYTHON, [LT_SEEDERS, file]);
    this.child = child;
    try {
      await child.next('ready', readyTimeoutMs);
    } catch (error) {
      await this.stop();
      throw new Error(`${(error as Error).message}\n${child.managed.log().slice(-3000)}`);
    }
  }

  /** Payload bytes each seeder has uploaded since it started, by seeder index. */
  async uploaded(timeoutMs = 10_000): Promise<number[]> {
    if (this.child === undefined) throw new Error('seeders not running');
    const stats = await this.child.request('stats', 'stats', timeoutMs);
    const byPort = (stats.uploaded ?? {}) as Record<string, number>;
    return this.layout.seederPorts.map((port) => Number(byPort[String(port)] ?? 0));
  }

  async stop(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    await child?.managed.stop({ quitFirstMs: 5_000 });
  }
}

/** The relays' process: started once, `reset` between leechers. */
export class Relays {
  private constructor(private readonly child: JsonLineChild) {}

  get process(): Managed {
    return this.child.managed;
  }

  static async start(layout: SwarmLayout, bundle: string, opaqueStallBytes: number): Promise<Relays> {
    const config: RelayConfig = {
      seed: layout.seed,
      relays: layout.plan.map((seeder, i) => ({
        index: i,
        listenPort: layout.relayPorts[i] as number,
        targetPort: layout.seederPorts[i] as number,
        delayMs: seeder.delayMs,
        jitterMs: seeder.jitterMs,
        fault: seeder.fault,
      })),
      dropAfterBytes: layout.dropAfterBytes,
      opaqueStallBytes,
      maxSeconds: layout.maxSeconds,
    };
    const file = path.join(layout.workDir, 'relays.json');
    await writeFile(file, `${JSON.stringify(config, null, 2)}\n`);
    const child = new JsonLineChild('relays', process.execPath, [bundle, file]);
    try {
      await child.next('ready', 20_000);
    } catch (error) {
      await child.managed.stop();
      throw new Error(`${(error as Error).message}\n${child.managed.log().slice(-3000)}`);
    }
    return new Relays(child);
  }

  async reset(): Promise<void> {
    await this.child.request('reset', 'reset', 10_000);
  }

  /**
   * The counters, with their times moved to this process's clock (by the report's own `t` and the
   * moment it arrived): the relay's wall-clock origin and ours may differ by a clock step.
   */
  async report(): Promise<RelayReport> {
    const event = await this.child.request('report', 'report', 10_000);
    const report = event as unknown as RelayReport;
    const shift = event.receivedAt - report.t;
    return {
      ...report,
      t: event.receivedAt,
      firstPieceAt: report.firstPieceAt === null ? null : report.firstPieceAt + shift,
      firstPieceAtPerRelay: report.firstPieceAtPerRelay.map((at) => (at === null ? null : at + shift)),
      cutAt: report.cutAt === null ? null : report.cutAt + shift,
    };
  }

  stop(): Promise<void> {
    return this.child.managed.stop({ quitFirstMs: 3_000 });
  }
}
