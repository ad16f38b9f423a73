/** `groklab serve [DIR]`: the live dashboard over a runs directory (src/server, UI in web/dashboard). */
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { type DashboardServer, isLoopbackHost, startDashboardServer } from '../server/index.ts';
import { type FieldProblem, UsageError } from '../util/errors.ts';

export const DEFAULT_PORT = 4173;
export const DEFAULT_HOST = '127.0.0.1';

interface ServeCliOptions {
  port: string;
  host: string;
  rebuild?: boolean;
  build: boolean;
}

export interface ServeSettings {
  runsDir: string;
  port: number;
  host: string;
}

const HOSTNAME =
  /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

/** Checks DIR, --port and --host; every problem is reported at once. */
export function checkServeSettings(dir: string, port: string, host: string): ServeSettings {
  const problems: FieldProblem[] = [];
  const stat = fs.statSync(dir, { throwIfNoEntry: false });
  if (!stat) {
    problems.push({
      field: 'dir',
      message: `runs directory "${dir}" does not exist (train a run first, or give the folder that holds your runs)`,
    });
  } else if (!stat.isDirectory()) {
    problems.push({ field: 'dir', message: `"${dir}" is not a folder; give a runs directory` });
  }
  const n = Number(port);
  if (!/^\d+$/.test(port) || !Number.isSafeInteger(n) || n > 65535) {
    problems.push({
      field: '--port',
      message: `must be an integer from 0 to 65535 (0: any free port), got "${port}"`,
    });
  }
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  if (net.isIP(bare) === 0 && !HOSTNAME.test(host)) {
    problems.push({
      field: '--host',
      message: `must be an IP address or a host name (e.g. 127.0.0.1, localhost, 0.0.0.0 for every interface), got "${host}"`,
    });
  }
  if (problems.length > 0) throw new UsageError(problems);
  return { runsDir: path.resolve(dir), port: n, host: bare };
}

/** Binding errors that are the user's to fix (a port in use, an address this machine does not have). */
function bindProblem(err: NodeJS.ErrnoException, settings: ServeSettings): UsageError | null {
  switch (err.code) {
    case 'EADDRINUSE':
      return new UsageError({
        field: '--port',
        message: `port ${settings.port} is already in use on ${settings.host}; choose another with --port (0: any free port)`,
      });
    case 'EACCES':
      return new UsageError({
        field: '--port',
        message: `not allowed to listen on port ${settings.port} (ports below 1024 need privileges); choose another`,
      });
    case 'EADDRNOTAVAIL':
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return new UsageError({
        field: '--host',
        message: `cannot listen on "${settings.host}": not an address of this machine (use 127.0.0.1, or 0.0.0.0 for every interface)`,
      });
    default:
      return null;
  }
}

/** What serve uses of web/dashboard/build.ts (typed here: that file is outside the compiled src/). */
interface DashboardBuilder {
  DASHBOARD_DIST: string;
  ensureDashboardBuilt(options: { force?: boolean; log?: (line: string) => void }): Promise<unknown>;
  isDashboardBuilt(): boolean;
}

/** The UI prebuilt into the package: dist/dashboard beside the compiled dist/cli. */
const PACKAGED_DASHBOARD = fileURLToPath(new URL('../dashboard/', import.meta.url));

/**
 * The folder of the built UI. The compiled command serves the UI that `npm run build` put into
 * dist/dashboard; from the TypeScript sources (development, tests) the UI is built from
 * web/dashboard when it is missing or out of date (Vite, a dev dependency).
 */
async function dashboardFolder(
  options: { rebuild?: boolean; build?: boolean },
  log: (line: string) => void,
): Promise<string | null> {
  if (fs.existsSync(path.join(PACKAGED_DASHBOARD, 'index.html'))) {
    if (options.rebuild)
      log('warning: --rebuild needs a source checkout; there, npm run build rebuilds the UI');
    return PACKAGED_DASHBOARD;
  }
  try {
    // A computed specifier: the builder lives outside src/ and is not part of the compiled package.
    const builder = new URL('../../web/dashboard/build.ts', import.meta.url).href;
    const { DASHBOARD_DIST, ensureDashboardBuilt, isDashboardBuilt } = (await import(
      builder
    )) as DashboardBuilder;
    if (options.build !== false) await ensureDashboardBuilt({ force: options.rebuild, log });
    else if (!isDashboardBuilt())
      log('warning: the dashboard UI is out of date or not built (npm run build:dashboard)');
    return DASHBOARD_DIST;
  } catch (err) {
    log(
      `warning: cannot build the dashboard UI (${(err as Error).message.split('\n')[0]}); serving the API only. ` +
        'Install the dev dependencies (npm install) and run npm run build:dashboard.',
    );
    return null;
  }
}

/** The lab prebuilt into the package: dist/lab beside the compiled dist/cli. */
const PACKAGED_LAB = fileURLToPath(new URL('../lab/', import.meta.url));
/** From the TypeScript sources: the checkout's dist/lab, which `npm run build` and `npm run build:lab` write. */
const CHECKOUT_LAB = fileURLToPath(new URL('../../dist/lab/', import.meta.url));

/** The folder of the built lab; from the sources it is built when missing (esbuild, a dev dependency). */
async function labFolder(log: (line: string) => void): Promise<string | null> {
  for (const dir of [PACKAGED_LAB, CHECKOUT_LAB]) {
    if (fs.existsSync(path.join(dir, 'index.html'))) return dir;
  }
  try {
    const builder = new URL('../../web/lab/build.ts', import.meta.url).href;
    const { buildLab } = (await import(builder)) as { buildLab(outdir?: string): Promise<{ ms: number }> };
    log('building the lab (web/lab → dist/lab)…');
    const built = await buildLab(CHECKOUT_LAB);
    log(`built the lab in ${(built.ms / 1000).toFixed(1)} s`);
    return CHECKOUT_LAB;
  } catch (err) {
    log(
      `warning: cannot build the lab (${(err as Error).message.split('\n')[0]}); /lab says how to build it`,
    );
    return null;
  }
}

/** Starts the server with the UI built if needed; UsageError for binding problems. */
export async function serveDashboard(
  settings: ServeSettings,
  options: { rebuild?: boolean; build?: boolean; log?: (line: string) => void } = {},
): Promise<DashboardServer> {
  const log = options.log ?? (() => {});
  const staticDir = await dashboardFolder(options, log);
  const labDir = await labFolder(log);
  try {
    return await startDashboardServer({ ...settings, staticDir, labDir });
  } catch (err) {
    throw bindProblem(err as NodeJS.ErrnoException, settings) ?? err;
  }
}

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description(
      'live dashboard of the runs in DIR (run list, learning curves that update while training, comparisons, sweep phase diagrams, analysis), and the lab at /lab, which trains in the browser tab',
    )
    .argument('[dir]', 'runs directory (default: env GROKLAB_RUNS or ./runs)')
    .option('--port <n>', `port to listen on (0: any free port)`, String(DEFAULT_PORT))
    .option(
      '--host <h>',
      'address to listen on; 0.0.0.0 exposes the dashboard to the network (no authentication)',
      DEFAULT_HOST,
    )
    .option('--rebuild', 'rebuild the dashboard UI even if web/dashboard/dist is up to date')
    .option('--no-build', 'do not build the UI, serve web/dashboard/dist as it is')
    .action(async (dir: string | undefined, opts: ServeCliOptions) => {
      const settings = checkServeSettings(dir ?? process.env.GROKLAB_RUNS ?? 'runs', opts.port, opts.host);
      const log = (line: string) => process.stderr.write(`${line}\n`);
      if (!isLoopbackHost(settings.host)) {
        log(
          `warning: listening on ${settings.host}: anyone who can reach this machine can read every run in ${settings.runsDir} (the dashboard has no authentication)`,
        );
      }
      const server = await serveDashboard(settings, { rebuild: opts.rebuild, build: opts.build, log });
      process.stdout.write(`groklab dashboard: ${server.url}  (runs in ${server.runsDir}; Ctrl-C to stop)\n`);
      process.stdout.write(`groklab lab:       ${server.url}lab/  (trains in the browser tab)\n`);
      await new Promise<void>((resolve) => {
        const stop = () => {
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
          server.close().then(resolve);
        };
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
      });
    });
}
