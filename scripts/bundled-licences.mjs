/**
 * The licence notices of the npm packages an esbuild bundle contains (MIT and friends ask for their
 * notice to travel with copies): one section per package, from its own licence files.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

/** The package a bundled file belongs to: the innermost node_modules/<name> (or @scope/name) in its path. */
function packageRootOf(file) {
  const parts = file.split('/');
  const at = parts.lastIndexOf('node_modules');
  if (at < 0) return undefined;
  const nameParts = parts[at + 1]?.startsWith('@') ? 2 : 1;
  return parts.slice(0, at + 1 + nameParts).join('/');
}

function licenceText(root, packageDir) {
  const names = readdirSync(path.join(root, packageDir)).filter((name) => /^(licen[cs]e|copying)/i.test(name));
  return names.map((name) => readFileSync(path.join(root, packageDir, name), 'utf8').trim()).join('\n\n');
}

/**
 * `{ count, text }`: the packages of esbuild's `metafile.inputs` (paths relative to `root`), by
 * name and version, each as `== name@version (licence)` and its licence text.
 */
export function bundledLicences(root, inputs) {
  const packages = new Map();
  for (const input of inputs) {
    const dir = packageRootOf(input);
    if (dir === undefined || packages.has(dir)) continue;
    const manifest = JSON.parse(readFileSync(path.join(root, dir, 'package.json'), 'utf8'));
    packages.set(dir, {
      name: manifest.name,
      version: manifest.version,
      license: manifest.license,
      text: licenceText(root, dir),
    });
  }
  const sorted = [...packages.values()].sort(
    (a, b) => a.name.localeCompare(b.name) || a.version.localeCompare(b.version),
  );
  const text = sorted
    .map(
      ({ name, version, license, text }) =>
        `== ${name}@${version} (${license ?? 'see text'})\n\n${text || '(no licence file in the package)'}\n`,
    )
    .join('\n');
  return { count: sorted.length, text };
}
