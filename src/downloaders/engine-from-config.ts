/**
 * The engine the configuration asks for, as a `Downloader`: the embedded WebTorrent, or a
 * qBittorrent or Transmission daemon reached over its API; and beside it the HTTP driver.
 */
import type { ChillyConfig } from '../config/chilly-config.js';
import { ChillyError, isChillyError } from '../domain/errors.js';
import type { Downloader } from './downloader.js';
import { HttpDownloader } from './http/http-downloader.js';
import { QBittorrentAdapter } from './qbittorrent/qbittorrent-adapter.js';
import type { EngineAdapter } from './remote/engine-adapter.js';
import { RemoteEngineDownloader } from './remote/remote-engine-downloader.js';
import { SourceRouter } from './source-router.js';
import { TransmissionAdapter } from './transmission/transmission-adapter.js';
import { WebTorrentDownloader } from './webtorrent/webtorrent-downloader.js';

export type EngineConfig = Pick<
  ChillyConfig,
  'engine' | 'mediaRoot' | 'network' | 'torrentPort' | 'qbittorrent' | 'transmission' | 'enginePathMap'
>;

/** The adapter for an external engine (undefined for the embedded one). */
export function engineAdapterFor(config: EngineConfig): EngineAdapter | undefined {
  const endpoint = (settings: ChillyConfig['qbittorrent']) => ({
    url: settings.url,
    ...(settings.username === undefined ? {} : { username: settings.username }),
    ...(settings.password === undefined ? {} : { password: settings.password }),
  });
  if (config.engine === 'qbittorrent') return new QBittorrentAdapter(endpoint(config.qbittorrent));
  if (config.engine === 'transmission') return new TransmissionAdapter(endpoint(config.transmission));
  return undefined;
}

/** Which settings hold an engine's credentials, for the message that says they were refused. */
const CREDENTIAL_SETTINGS: Record<ChillyConfig['engine'], string> = {
  webtorrent: '',
  qbittorrent: 'CHILLY_QBITTORRENT_USERNAME and CHILLY_QBITTORRENT_PASSWORD',
  transmission: 'CHILLY_TRANSMISSION_USERNAME and CHILLY_TRANSMISSION_PASSWORD',
};

/**
 * The downloader the server runs: the configured BitTorrent engine for torrents, and the HTTP
 * driver (into the media folder) for direct downloads.
 */
export async function downloaderFromConfig(
  config: EngineConfig,
  warn: (message: string, cause?: unknown) => void,
): Promise<Downloader> {
  const torrent = await engineFromConfig(config, warn);
  return new SourceRouter({ torrent, http: new HttpDownloader({ mediaRoot: config.mediaRoot }) });
}

/**
 * Builds the BitTorrent engine. An external one is asked to sign in at once: wrong credentials stop the
 * server with a clear error; an engine that does not answer yet is a warning (its jobs wait and
 * carry on once it does).
 */
export async function engineFromConfig(
  config: EngineConfig,
  warn: (message: string, cause?: unknown) => void,
): Promise<Downloader> {
  const adapter = engineAdapterFor(config);
  if (adapter === undefined) {
    return new WebTorrentDownloader({
      mediaRoot: config.mediaRoot,
      network: config.network,
      torrentPort: config.torrentPort,
      onWarning: (message) => warn(message),
    });
  }
  const downloader = new RemoteEngineDownloader({
    adapter,
    ...(config.enginePathMap === undefined ? {} : { pathMap: config.enginePathMap }),
    onWarning: warn,
  });
  try {
    await downloader.connect();
  } catch (error) {
    if (isChillyError(error, 'engine_auth_failed')) {
      await downloader.destroy();
      throw new ChillyError(
        'engine_auth_failed',
        `${adapter.engineName} refused the user name or password (${CREDENTIAL_SETTINGS[config.engine]}).`,
        { cause: error },
      );
    }
    // Not answering yet: the driver has said so (onWarning), and its jobs wait for it.
    if (!isChillyError(error, 'engine_unreachable')) {
      await downloader.destroy();
      throw error;
    }
  }
  return downloader;
}
