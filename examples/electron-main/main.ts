/**
 * What an Electron main process does with Chilly Movies, as a plain Node program (Electron itself
 * cannot be downloaded where this is type-checked; the Electron lines are in the comments).
 *
 * - The main process runs the backend in-process: `startServer()` on 127.0.0.1 with port 0 (a free
 *   port each time) and a token made for this run, so no other program on the machine can use it.
 * - It hands the renderer `{ baseUrl, token }` over IPC; the renderer uses `chilly-movies/client`
 *   (see ../browser-page/main.ts): with a page loaded from `file://` or `app://`, allow that origin
 *   with `allowedOrigins`.
 * - Native modules: better-sqlite3 and utp-native are built for Node's ABI by `npm install`;
 *   rebuild them for Electron's with `npx @electron/rebuild` (e.g. as the app's `postinstall`).
 * - Memory: `app.commandLine.appendSwitch('js-flags', '--max-semi-space-size=1')` and
 *   `MALLOC_ARENA_MAX=2` in the environment that starts the app (see the README).
 *
 * Type-checked by `npm run typecheck` (examples/tsconfig.json).
 */
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { loadConfig, type RunningServer, startServer } from 'chilly-movies';

export interface BackendAddress {
  baseUrl: string;
  token: string;
}

export async function startBackend(userDataDir: string): Promise<{ server: RunningServer; address: BackendAddress }> {
  const token = randomBytes(32).toString('base64url');
  const config = loadConfig(process.env, {
    host: '127.0.0.1',
    port: 0,
    token,
    dataDir: path.join(userDataDir, 'chilly'),
    mediaRoot: path.join(userDataDir, 'Films'),
    allowedOrigins: ['app://chilly'],
  });
  const server = await startServer({ config, logger: false });
  return { server, address: { baseUrl: server.url, token } };
}

// In Electron:
//   app.whenReady().then(async () => {
//     const { server, address } = await startBackend(app.getPath('userData'));
//     ipcMain.handle('chilly:address', () => address);        // renderer: await ipcRenderer.invoke('chilly:address')
//     app.on('before-quit', (event) => { event.preventDefault(); server.close().finally(() => app.exit(0)); });
//     new BrowserWindow({ webPreferences: { preload: path.join(__dirname, 'preload.js'), contextIsolation: true } }).loadURL('app://chilly/index.html');
//   });
// The stand-in: start, print the address the renderer would get, stop on Ctrl-C.
if (process.argv[1]?.endsWith('main.js') === true || process.argv[1]?.endsWith('main.ts') === true) {
  const { server, address } = await startBackend(process.argv[2] ?? path.resolve('example-user-data'));
  console.log(JSON.stringify(address));
  process.once('SIGINT', () => void server.close().then(() => process.exit(0)));
}
