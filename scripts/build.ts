/**
 * `npm run build`: the JavaScript that the `groklab` command runs and the npm package ships.
 *
 *   src/**.ts            → dist/**.js (tsc, tsconfig.build.json: same layout, so every
 *                          `new URL('../x', import.meta.url)` finds its file)
 *   src/kernels/*.wasm   → dist/kernels/ (the committed kernel builds)
 *   src/engine/*.mjs     → dist/engine/ (the thread-pool worker, plain JavaScript already)
 *   web/dashboard        → dist/dashboard/ (the built UI that `groklab serve` serves)
 *   web/lab              → dist/lab/ (the lab: static files that train in a browser tab;
 *                          `groklab serve` serves them at /lab)
 *
 * Everything is written to dist.tmp and renamed into place at the end, so a command started
 * during a build runs the previous complete dist, never half of a new one.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { DASHBOARD_DIST, ensureDashboardBuilt } from '../web/dashboard/build.ts';
import { buildLab } from '../web/lab/build.ts';

const root = path.resolve(import.meta.dirname, '..');
const dist = path.join(root, 'dist');
const staging = path.join(root, 'dist.tmp');

function copyMatching(fromDir: string, toDir: string, pattern: RegExp): number {
  fs.mkdirSync(toDir, { recursive: true });
  const names = fs.readdirSync(fromDir).filter((name) => pattern.test(name));
  for (const name of names) fs.copyFileSync(path.join(fromDir, name), path.join(toDir, name));
  return names.length;
}

const t0 = performance.now();
fs.rmSync(staging, { recursive: true, force: true });
const tsc = path.join(root, 'node_modules/typescript/bin/tsc');
execFileSync(process.execPath, [tsc, '-p', path.join(root, 'tsconfig.build.json')], { stdio: 'inherit' });
copyMatching(path.join(root, 'src/kernels'), path.join(staging, 'kernels'), /\.wasm$/);
copyMatching(path.join(root, 'src/engine'), path.join(staging, 'engine'), /\.mjs$/);
await ensureDashboardBuilt({ log: (line) => console.log(line) });
fs.cpSync(DASHBOARD_DIST, path.join(staging, 'dashboard'), { recursive: true });
await buildLab(path.join(staging, 'lab'));

const old = `${dist}.old`;
fs.rmSync(old, { recursive: true, force: true });
if (fs.existsSync(dist)) fs.renameSync(dist, old);
fs.renameSync(staging, dist);
fs.rmSync(old, { recursive: true, force: true });
console.log(`built dist/ in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
