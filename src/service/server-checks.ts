/**
 * What the web app's settings page shows about the running server, checked where the server runs
 * (the CLI's `chilly doctor` checks the machine it runs on): the engine, the media folder's free
 * space, movie metadata and the network mode.
 */
import type { ChillyConfig } from '../config/chilly-config.js';
import { freeBytes } from '../downloaders/disk-space.js';
import type { EngineInfo } from './download-service-api.js';

export interface ServerCheck {
  check: string;
  level: 'ok' | 'warn' | 'fail';
  detail: string;
}

/** Below this, a single film will not fit. */
const LOW_DISK_BYTES = 2 * 1024 ** 3;

function gib(bytes: number): string {
  return `${(bytes / 1024 ** 3).toFixed(1)} GiB`;
}

export function serverChecks(options: {
  engine: EngineInfo;
  config: Pick<ChillyConfig, 'mediaRoot' | 'network'>;
  metadataConfigured: boolean;
}): ServerCheck[] {
  const { engine, config } = options;
  const { status } = engine;
  const checks: ServerCheck[] = [
    status === undefined
      ? { check: 'engine', level: 'ok', detail: `${engine.name} (embedded)` }
      : { check: 'engine', level: status.ok ? 'ok' : 'fail', detail: status.detail },
  ];
  try {
    const free = freeBytes(config.mediaRoot);
    checks.push({
      check: 'media folder',
      level: free < LOW_DISK_BYTES ? 'warn' : 'ok',
      detail: `${config.mediaRoot}: ${gib(free)} free`,
    });
  } catch (error) {
    checks.push({
      check: 'media folder',
      level: 'fail',
      detail: `${config.mediaRoot}: ${error instanceof Error ? error.message : String(error)}`,
    });
  }
  checks.push(
    options.metadataConfigured
      ? { check: 'movie metadata', level: 'ok', detail: 'TMDB key set: titles, years and posters' }
      : { check: 'movie metadata', level: 'warn', detail: 'no TMDB key: release names only (set TMDB_API_KEY)' },
  );
  checks.push({
    check: 'network',
    level: 'ok',
    detail:
      config.network === 'loopback'
        ? 'loopback: DHT, local peer discovery, UPnP/NAT-PMP and web seeds off'
        : 'public: DHT, local peer discovery, UPnP/NAT-PMP and web seeds on',
  });
  return checks;
}
