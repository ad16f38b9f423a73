// The npm package as a user gets it: `npm pack`, installed into an empty folder from the tarball
// (dependencies from the registry, no dev dependencies), then `npx groklab train --preset demo`.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { tempDirs } from './helpers/temp-dirs.ts';

const root = path.resolve(import.meta.dirname, '..');
const tmp = tempDirs('package');
const DEV_ONLY = [
  'tsx',
  'typescript',
  'vite',
  '@biomejs/biome',
  'assemblyscript',
  'playwright-core',
  'esbuild',
];

function sh(command: string, args: string[], cwd: string, timeoutMs: number) {
  const r = spawnSync(command, args, {
    cwd,
    encoding: 'utf8',
    timeout: timeoutMs,
    // npm_config_* from the `npm test` that runs this would leak into the user's npm here.
    env: Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('npm_'))),
  });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

test('npm pack → npm install ./groklab-*.tgz in an empty folder → npx groklab train --preset demo groks', {
  timeout: 300_000,
}, () => {
  const packDir = tmp();
  // --ignore-scripts: pack the dist/ that `npm test` built, without rebuilding it under the feet
  // of the other test files, which run bin/groklab.mjs at the same time.
  const pack = sh('npm', ['pack', '--ignore-scripts', '--pack-destination', packDir], root, 60_000);
  assert.equal(pack.code, 0, pack.out);
  const [tarball] = fs.readdirSync(packDir).filter((f) => /^groklab-.*\.tgz$/.test(f));
  assert.ok(tarball, `no tarball in ${packDir}: ${pack.out}`);

  const app = tmp();
  fs.writeFileSync(path.join(app, 'package.json'), '{ "name": "try-groklab", "private": true }\n');
  const install = sh(
    'npm',
    ['install', '--no-audit', '--no-fund', '--prefer-offline', path.join(packDir, tarball)],
    app,
    240_000,
  );
  assert.equal(install.code, 0, install.out);
  const installed = path.join(app, 'node_modules');
  for (const name of DEV_ONLY)
    assert.ok(!fs.existsSync(path.join(installed, name)), `dev dependency ${name} was installed`);
  // The package carries compiled JavaScript only.
  const packaged = path.join(installed, 'groklab');
  assert.ok(fs.existsSync(path.join(packaged, 'dist/cli/main.js')));
  assert.ok(fs.existsSync(path.join(packaged, 'dist/kernels/groklab.wasm')));
  assert.ok(fs.existsSync(path.join(packaged, 'dist/dashboard/index.html')));
  assert.ok(!fs.existsSync(path.join(packaged, 'src')), 'the TypeScript sources were packed');

  const train = sh('npx', ['groklab', 'train', '--preset', 'demo', '--quiet'], app, 180_000);
  assert.equal(train.code, 0, train.out);
  assert.match(train.out, /verdict: grokked/);
  const runs = fs.readdirSync(path.join(app, 'runs'));
  assert.equal(runs.length, 1);
  const status = JSON.parse(fs.readFileSync(path.join(app, 'runs', runs[0], 'status.json'), 'utf8'));
  assert.equal(status.state, 'finished');
});
