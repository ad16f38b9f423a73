/**
 * Builds the dashboard UI (Vite + React + uPlot) into web/dashboard/dist, which `groklab serve` serves.
 *
 *   npm run build:dashboard            build (always)
 *   ensureDashboardBuilt()             build only when dist is missing or out of date
 *
 * dist is not committed. `groklab serve` calls ensureDashboardBuilt() before it starts, so a fresh
 * clone works after `npm install`; the tests do the same. "Out of date" is decided by a fingerprint
 * (sha256 over the UI's sources, the API types they import, and the versions of Vite, React and
 * uPlot) stored in dist/.groklab-build.json, not by timestamps, which a checkout does not keep.
 * A build goes to a temporary folder that replaces dist only when complete, so a server or a
 * parallel build never sees half a dist.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

const here = import.meta.dirname;
const root = path.resolve(here, '../..');
export const DASHBOARD_DIR = here;
export const DASHBOARD_DIST = path.join(here, 'dist');
const STAMP = '.groklab-build.json';

/** Files whose content decides what the build produces. */
function sourceFiles(): string[] {
  const files = [path.join(here, 'index.html'), path.join(here, 'vite.config.ts')];
  const walk = (dir: string) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.isFile()) files.push(full);
    }
  };
  walk(path.join(here, 'src'));
  files.push(path.join(root, 'src/server/api-types.ts'));
  return files.sort();
}

function packageVersion(name: string): string {
  try {
    const file = path.join(root, 'node_modules', name, 'package.json');
    return (JSON.parse(fs.readFileSync(file, 'utf8')) as { version: string }).version;
  } catch {
    return 'absent';
  }
}

/** sha256 of the UI's sources and the versions of the packages bundled into it. */
export function dashboardFingerprint(): string {
  const hash = createHash('sha256');
  for (const file of sourceFiles()) {
    hash.update(path.relative(root, file));
    hash.update('\0');
    hash.update(fs.readFileSync(file));
    hash.update('\0');
  }
  for (const name of ['vite', '@vitejs/plugin-react', 'react', 'react-dom', 'uplot']) {
    hash.update(`${name}@${packageVersion(name)}\0`);
  }
  return hash.digest('hex');
}

/** Whether `dist` holds a complete build of the current sources. */
export function isDashboardBuilt(dist = DASHBOARD_DIST): boolean {
  try {
    const stamp = JSON.parse(fs.readFileSync(path.join(dist, STAMP), 'utf8')) as { fingerprint?: string };
    return stamp.fingerprint === dashboardFingerprint() && fs.existsSync(path.join(dist, 'index.html'));
  } catch {
    return false;
  }
}

export interface DashboardBuild {
  outDir: string;
  /** Files written, relative to outDir. */
  files: string[];
  ms: number;
}

function listFiles(dir: string, prefix = ''): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const rel = prefix ? `${prefix}/${e.name}` : e.name;
    return e.isDirectory() ? listFiles(path.join(dir, e.name), rel) : [rel];
  });
}

/** Builds the UI into `outDir` (default web/dashboard/dist), replacing it only once the build is complete. */
export async function buildDashboard(outDir = DASHBOARD_DIST): Promise<DashboardBuild> {
  const t0 = performance.now();
  const fingerprint = dashboardFingerprint();
  // Loaded here, not at the top: `groklab serve` imports this file, and Vite (a dev dependency)
  // is needed only when a build has to run.
  const { build } = await import('vite');
  const config = (await import('./vite.config.ts')).default;
  const parent = path.dirname(path.resolve(outDir));
  fs.mkdirSync(parent, { recursive: true });
  const tmp = fs.mkdtempSync(path.join(parent, '.dashboard-build-'));
  try {
    await build({
      ...config,
      configFile: false,
      build: { ...config.build, outDir: tmp, emptyOutDir: true },
    });
    fs.chmodSync(tmp, 0o755); // mkdtemp makes it private
    fs.writeFileSync(
      path.join(tmp, STAMP),
      `${JSON.stringify({ fingerprint, built_at: new Date().toISOString() })}\n`,
    );
    const old = `${tmp}-old`;
    if (fs.existsSync(outDir)) fs.renameSync(outDir, old);
    try {
      fs.renameSync(tmp, outDir);
    } catch (err) {
      // Another build put its dist in place meanwhile; theirs is as good as ours.
      if (!['ENOTEMPTY', 'EEXIST'].includes((err as NodeJS.ErrnoException).code ?? '')) throw err;
    }
    fs.rmSync(old, { recursive: true, force: true });
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  return { outDir, files: listFiles(outDir).filter((f) => !f.startsWith('.')), ms: performance.now() - t0 };
}

/** Builds unless dist is up to date; returns the build, or null when none was needed. */
export async function ensureDashboardBuilt(
  options: { force?: boolean; log?: (line: string) => void } = {},
): Promise<DashboardBuild | null> {
  if (!options.force && isDashboardBuilt()) return null;
  options.log?.('building the dashboard UI (web/dashboard → web/dashboard/dist)…');
  const built = await buildDashboard();
  options.log?.(`built the dashboard UI in ${(built.ms / 1000).toFixed(1)} s`);
  return built;
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === path.join(here, 'build.ts')) {
  const built = await buildDashboard();
  console.log(
    `built ${built.files.length} files into ${path.relative(process.cwd(), built.outDir)} in ${(built.ms / 1000).toFixed(1)} s`,
  );
}
