/**
 * `groklab serve`: the dashboard's HTTP server. startDashboardServer() binds, serves the API
 * (src/server/app.ts) and the built UI (web/dashboard/dist), and returns a handle whose close()
 * ends every open event stream and connection.
 */
import type { AddressInfo } from 'node:net';
import { createAdaptorServer } from '@hono/node-server';
import { createApp } from './app.ts';
import { RunCatalog } from './run-catalog.ts';
import { loadStaticFiles } from './static-files.ts';

export type * from './api-types.ts';
export { NotFoundError } from './paths.ts';
export { RunCatalog } from './run-catalog.ts';

export interface DashboardServerOptions {
  runsDir: string;
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 4173; 0 picks a free port. */
  port?: number;
  /** The built dashboard (web/dashboard/dist); null or missing: the API only, and a page saying how to build it. */
  staticDir?: string | null;
  /** The built lab (dist/lab), served at /lab; null or missing: /lab says how to build it. */
  labDir?: string | null;
  /** How often a run's feed polls besides fs.watch (ms, default 1000). */
  pollMs?: number;
  /** How often the run list is re-read while someone watches it (ms, default 2000). */
  listPollMs?: number;
  /** SSE keep-alive comments (ms, default 15000). */
  keepAliveMs?: number;
  /** Minimum time between two detectRun calls on a run that keeps changing (ms, default 1000). */
  detectIntervalMs?: number;
}

export interface ServerStats {
  /** Open SSE streams (run feeds and run-list feeds). */
  streams: number;
  /** fs.watch watchers and timers held by open feeds. */
  watchers: number;
  timers: number;
  listClients: number;
}

export interface DashboardServer {
  url: string;
  host: string;
  port: number;
  runsDir: string;
  stats(): ServerStats;
  close(): Promise<void>;
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);

export function isLoopbackHost(host: string): boolean {
  return LOOPBACK.has(host.toLowerCase()) || /^127\.\d+\.\d+\.\d+$/.test(host);
}

function urlHost(host: string): string {
  if (host === '0.0.0.0') return '127.0.0.1';
  if (host === '::') return '[::1]';
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}

export async function startDashboardServer(options: DashboardServerOptions): Promise<DashboardServer> {
  const host = options.host ?? '127.0.0.1';
  const catalog = new RunCatalog(options.runsDir, { detectIntervalMs: options.detectIntervalMs });
  const loopback = isLoopbackHost(host);
  const { app, state } = createApp({
    catalog,
    staticFiles: loadStaticFiles(options.staticDir ?? null),
    labFiles: loadStaticFiles(options.labDir ?? null),
    // A page on another site could point a host name at 127.0.0.1 and read the API (DNS rebinding);
    // a loopback server therefore answers only requests addressed to a loopback name.
    allowedHosts: loopback ? new Set([...LOOPBACK, host.toLowerCase()]) : null,
    pollMs: options.pollMs ?? 1000,
    listPollMs: options.listPollMs ?? 2000,
    keepAliveMs: options.keepAliveMs ?? 15_000,
  });
  const server = createAdaptorServer({ fetch: app.fetch });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 4173, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  let closing: Promise<void> | null = null;
  return {
    url: `http://${urlHost(host)}:${port}/`,
    host,
    port,
    runsDir: catalog.root.dir,
    stats: () => ({
      streams: state.streams.size,
      watchers: state.resources.watchers,
      timers: state.resources.timers,
      listClients: state.listFeed.clientCount,
    }),
    close() {
      closing ??= new Promise<void>((resolve) => {
        for (const stream of [...state.streams]) stream.close();
        server.close(() => resolve());
        if ('closeAllConnections' in server) server.closeAllConnections();
      });
      return closing;
    },
  };
}
