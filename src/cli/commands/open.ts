/**
 * `chilly open`: signs the browser in to the web app without copying the token. It asks the
 * running server (with the token this machine has) for a single-use sign-in link, valid 60 s, and
 * opens it in the default browser; `--print` prints the link instead, one line, the URL only.
 */
import { spawn } from 'node:child_process';
import { connect } from '../api.js';
import type { CommandContext } from '../context.js';
import { EXIT, println } from '../io.js';

export interface OpenOptions {
  print?: boolean;
}

/** The command that opens a URL in the user's browser, per platform. */
export function browserCommand(platform: NodeJS.Platform, url: string): [string, string[]] {
  if (platform === 'darwin') return ['open', [url]];
  // `start` treats its first quoted argument as a window title: give it an empty one.
  if (platform === 'win32') return ['cmd', ['/c', 'start', '""', url.replace(/&/g, '^&')]];
  return ['xdg-open', [url]];
}

export async function runOpen(ctx: CommandContext, options: OpenOptions): Promise<number> {
  const api = await connect(ctx.config());
  const link = await api.call(api.client.POST('/auth/sign-in-codes'));
  if (options.print === true) {
    println(ctx.io.stdout, link.url);
    return EXIT.ok;
  }
  const [command, args] = browserCommand(process.platform, link.url);
  const opened = await new Promise<boolean>((resolve) => {
    const child = spawn(command, args, { stdio: 'ignore', detached: true });
    child.once('error', () => resolve(false));
    child.once('spawn', () => {
      child.unref();
      resolve(true);
    });
  });
  // The link works once and for 60 s; where no browser could be started, it is there to copy.
  println(
    ctx.io.stdout,
    opened
      ? 'Opened the web app in your browser (the sign-in link works once, for 60 s).'
      : `Could not start a browser (${command}); open this link within 60 s: ${link.url}`,
  );
  return EXIT.ok;
}
