/** `chilly token` (for scripts: `curl -H "Authorization: Bearer $(chilly token)"`) and `chilly config`. */
import { describeSource } from '../../config/config-source.js';
import { maskedConfig, settingValue } from '../../config/masked-config.js';
import { SETTINGS } from '../../config/settings.js';
import { readClientToken, tokenFilePath } from '../api.js';
import type { CommandContext } from '../context.js';
import { renderTable } from '../format.js';
import { CliError, EXIT, printJson, println } from '../io.js';

export async function runToken(ctx: CommandContext): Promise<number> {
  const config = ctx.config();
  const token = await readClientToken(config);
  if (token === undefined) {
    throw new CliError(
      `No API token at ${tokenFilePath(config)}: \`chilly serve\` writes it on its first start. ` +
        'If the server uses another data folder, pass --data-dir (or set CHILLY_DATA_DIR).',
    );
  }
  if (ctx.json) printJson(ctx.io.stdout, { token: token.token, file: token.file ?? null });
  else println(ctx.io.stdout, token.token);
  return EXIT.ok;
}

export function runConfig(ctx: CommandContext): number {
  const { config, sources, file } = ctx.resolved();
  const masked = maskedConfig(config);
  const fileInfo = file === undefined ? null : { path: file.path, loaded: file.loaded, namedBy: file.origin };
  if (ctx.json) {
    const origins = Object.fromEntries(SETTINGS.map((spec) => [spec.key, describeSource(sources[spec.key])]));
    printJson(ctx.io.stdout, { file: fileInfo, config: masked, sources: origins });
    return EXIT.ok;
  }
  const fileLine =
    file === undefined
      ? 'Config file: none'
      : file.loaded
        ? `Config file: ${file.path}`
        : `Config file: none (${file.path} does not exist)`;
  println(ctx.io.stdout, fileLine);
  const rows = SETTINGS.map((spec) => {
    const value = settingValue(masked, spec.key);
    return {
      key: spec.key,
      value: value === undefined ? '-' : Array.isArray(value) ? value.join(',') || '-' : String(value),
      source: describeSource(sources[spec.key]),
      env: spec.env,
    };
  });
  println(
    ctx.io.stdout,
    renderTable(rows, [
      { header: 'KEY', value: (row) => row.key },
      { header: 'VALUE', value: (row) => row.value, shrink: true },
      { header: 'FROM', value: (row) => row.source },
    ]),
  );
  if (config.token === undefined) println(ctx.io.stdout, `API token: the file ${tokenFilePath(config)}`);
  return EXIT.ok;
}
