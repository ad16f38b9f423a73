/**
 * The dashboard's HTTP routes (Hono). Read-only: only GET and HEAD are answered, and nothing is
 * ever written into the runs directory.
 *
 *   GET /api/runs                   the run list with sweeps (RunListResponse)
 *   GET /api/events                 SSE: `runs` (the whole list), then `rows` (what changed)
 *   GET /api/runs/:id               config, status, every metrics record (?max_points=N: at most N,
 *                                   thinned for drawing, thin-metrics.ts), detectRun's result
 *   GET /api/runs/:id/events        SSE: `hello`, `metrics`, `status`, `detect`, `reset`, `gone`
 *                                   (?offset=&file= from /api/runs/:id, or Last-Event-ID)
 *   GET /api/runs/:id/analysis      the parts of analysis/analysis.json the dashboard draws
 *   GET /api/sweeps                 sweep summaries
 *   GET /api/sweeps/:name           a sweep's cells with each run's state, t_grok, accuracy, verdict
 *   GET /, /runs/:id, /compare, /sweeps, /sweeps/:name    the dashboard page (client-side routes)
 *   GET /assets/...                 the built dashboard's files
 *   GET /lab/...                    the lab (web/lab, built into dist/lab), cross-origin isolated so
 *                                   that it trains with threads
 *
 * Ids and names are checked with validateRunId / validateSweepName (400) and resolved inside the
 * runs directory only (src/server/paths.ts; 404 otherwise). Error bodies never hold file contents.
 */
import fs from 'node:fs';
import path from 'node:path';
import { type Context, Hono } from 'hono';
import { RUN_FILES, RunFolder, validateRunId } from '../runs/index.ts';
import { validateSweepName } from '../sweep/manifest.ts';
import { UsageError } from '../util/errors.ts';
import { AnalysisCache } from './analysis-view.ts';
import type { ApiError, RunDetailResponse } from './api-types.ts';
import { readCompleteLinesFrom } from './metrics-tail.ts';
import { NotFoundError, runFileOf } from './paths.ts';
import type { RunCatalog } from './run-catalog.ts';
import { feedRun, parseFeedStart } from './run-events.ts';
import { RunListFeed } from './run-list-feed.ts';
import { SSE_HEADERS, type SseChannel, sseStream } from './sse.ts';
import { ISOLATION_HEADERS, type StaticFile } from './static-files.ts';
import { MIN_POINTS, thinMetrics } from './thin-metrics.ts';

export interface AppOptions {
  catalog: RunCatalog;
  /** The built dashboard by URL path; empty when it is not built (a page says how to build it). */
  staticFiles: Map<string, StaticFile>;
  /** The built lab by URL path below /lab; empty when it is not built. */
  labFiles?: Map<string, StaticFile>;
  /** Host names the Host header may carry (DNS-rebinding guard for a loopback server); null: any. */
  allowedHosts: Set<string> | null;
  pollMs: number;
  listPollMs: number;
  keepAliveMs: number;
}

export interface AppState {
  /** Open SSE streams, closed by the server on shutdown. */
  streams: Set<SseChannel>;
  resources: { watchers: number; timers: number };
  listFeed: RunListFeed;
}

/** Page routes of the single-page app; the id or name in them is checked like the API's. */
const PAGE_ROUTES: Array<{ pattern: RegExp; check?: (name: string) => unknown }> = [
  { pattern: /^\/$/ },
  { pattern: /^\/runs\/?$/ },
  { pattern: /^\/compare\/?$/ },
  { pattern: /^\/sweeps\/?$/ },
  { pattern: /^\/runs\/([^/]+)\/?$/, check: validateRunId },
  { pattern: /^\/sweeps\/([^/]+)\/?$/, check: validateSweepName },
];

const SECURITY_HEADERS: Record<string, string> = {
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'X-Frame-Options': 'DENY',
  // Everything comes from this server: no fonts, scripts or styles from anywhere else.
  'Content-Security-Policy':
    "default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
};

const LAB_NOT_BUILT_PAGE = `<!doctype html><meta charset="utf-8"><title>groklab lab</title>
<h1>The lab is not built</h1>
<p>Build it with <code>npm run build:lab</code> (needs the dev dependencies: <code>npm install</code>), then restart <code>groklab serve</code>.</p>`;

const NOT_BUILT_PAGE = `<!doctype html><meta charset="utf-8"><title>groklab dashboard</title>
<body style="font-family: sans-serif; max-width: 40em; margin: 3em auto">
<h1>The dashboard is not built</h1>
<p>The API is running (<a href="/api/runs">/api/runs</a>), but <code>web/dashboard/dist</code> is missing.
Build it with <code>npm run build:dashboard</code> (needs the dev dependencies: <code>npm install</code>),
then reload this page.</p></body>`;

function errorPage(status: number, message: string): string {
  const escaped = message.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
  return `<!doctype html><meta charset="utf-8"><title>groklab: ${status}</title>
<body style="font-family: sans-serif; max-width: 40em; margin: 3em auto">
<h1>${status === 400 ? 'Bad request' : 'Not found'}</h1><p>${escaped}</p><p><a href="/">All runs</a></p></body>`;
}

export function createApp(options: AppOptions): { app: Hono; state: AppState } {
  const { catalog } = options;
  const resources = { watchers: 0, timers: 0 };
  const state: AppState = {
    streams: new Set(),
    resources,
    listFeed: new RunListFeed(catalog, options.listPollMs, resources),
  };
  const analyses = new AnalysisCache();
  const app = new Hono();

  app.use('*', async (c, next) => {
    if (options.allowedHosts) {
      const host = (c.req.header('host') ?? '').toLowerCase().replace(/:\d+$/, '');
      if (!options.allowedHosts.has(host)) {
        return c.text('forbidden host\n', 403);
      }
    }
    if (c.req.method !== 'GET' && c.req.method !== 'HEAD') {
      return c.json({ error: 'read-only: only GET is supported' } satisfies ApiError, 405, {
        Allow: 'GET, HEAD',
      });
    }
    await next();
    for (const [k, v] of Object.entries(SECURITY_HEADERS)) c.res.headers.set(k, v);
  });

  app.onError((err, c) => {
    if (err instanceof UsageError) {
      const p = err.problems[0];
      return c.json(
        { error: err.problems.map((x) => x.message).join('; '), field: p?.field } satisfies ApiError,
        400,
      );
    }
    if (err instanceof NotFoundError) return c.json({ error: err.message } satisfies ApiError, 404);
    process.stderr.write(`groklab serve: ${c.req.method} ${c.req.path}: ${err.stack ?? err.message}\n`);
    return c.json({ error: 'internal error (see the server log)' } satisfies ApiError, 500);
  });

  const openStream = (c: Context, produce: (channel: SseChannel) => () => void) =>
    new Response(
      sseStream(
        {
          signal: c.req.raw.signal,
          keepAliveMs: options.keepAliveMs,
          onOpen: (ch) => state.streams.add(ch),
          onClose: (ch) => state.streams.delete(ch),
        },
        produce,
      ),
      { headers: SSE_HEADERS },
    );

  app.get('/api/runs', (c) => c.json(catalog.list()));

  app.get('/api/events', (c) => openStream(c, (channel) => state.listFeed.subscribe(channel)));

  app.get('/api/sweeps', (c) => c.json(catalog.list().sweeps));

  app.get('/api/sweeps/:name', (c) => c.json(catalog.sweep(c.req.param('name'))));

  app.get('/api/runs/:id', (c) => {
    const id = c.req.param('id');
    const maxPoints = parseMaxPoints(c.req.query('max_points'));
    const runDir = catalog.runDir(id);
    const row = catalog.row(id);
    const { status } = catalog.status(id);
    let config: Record<string, unknown> | null = null;
    try {
      config = JSON.parse(fs.readFileSync(path.join(runDir, RUN_FILES.config), 'utf8')) as Record<
        string,
        unknown
      >;
    } catch {
      config = null;
    }
    const read = readCompleteLinesFrom(path.join(runDir, RUN_FILES.metrics), 0, null);
    const lines = read.kind === 'lines' ? read.lines : { records: [], offset: 0, badLines: 0, file: '' };
    const detect = catalog.detect(id, { force: true });
    const checkpointsDir = runFileOf(catalog.root, runDir, RUN_FILES.checkpoints);
    const body: RunDetailResponse = {
      id,
      row,
      config,
      status,
      metrics: maxPoints === null ? lines.records : thinMetrics(lines.records, maxPoints),
      metrics_total: lines.records.length,
      metrics_offset: lines.offset,
      metrics_file: lines.file,
      bad_lines: lines.badLines,
      detect: detect.detect,
      detect_error: detect.error,
      checkpoints: checkpointsDir ? new RunFolder(catalog.root.dir, id).listCheckpoints() : [],
      has_analysis: runFileOf(catalog.root, runDir, 'analysis', 'analysis.json') !== null,
    };
    return c.json(body);
  });

  app.get('/api/runs/:id/events', (c) => {
    const id = c.req.param('id');
    const runDir = catalog.runDir(id);
    const start = parseFeedStart(c.req.header('last-event-id'), c.req.query('offset'), c.req.query('file'));
    if (!start) {
      throw new UsageError({ field: 'offset', message: 'offset must be a byte offset from /api/runs/:id' });
    }
    return openStream(c, (channel) =>
      feedRun(channel, catalog, id, runDir, start, { pollMs: options.pollMs, resources }),
    );
  });

  app.get('/api/runs/:id/analysis', (c) => {
    const id = c.req.param('id');
    const runDir = catalog.runDir(id);
    const file = runFileOf(catalog.root, runDir, 'analysis', 'analysis.json');
    if (!file) throw new NotFoundError(`run "${id}" has no analysis yet: run groklab analyze ${id}`);
    return c.json(analyses.read(file));
  });

  app.all('/api/*', (c) => c.json({ error: 'no such API endpoint' } satisfies ApiError, 404));

  app.get('/lab', (c) => c.redirect('/lab/', 301));
  app.get('/lab/*', (c) => {
    const rest = new URL(c.req.url).pathname.slice('/lab'.length);
    const file = options.labFiles?.get(rest === '/' ? '/index.html' : rest);
    if (!file) {
      return options.labFiles?.size
        ? c.html(errorPage(404, 'There is nothing at this address.'), 404)
        : c.html(LAB_NOT_BUILT_PAGE, 503);
    }
    return c.body(file.body as Uint8Array<ArrayBuffer>, 200, {
      ...ISOLATION_HEADERS,
      'Content-Type': file.type,
      'Cache-Control': 'no-cache',
    });
  });

  app.get('*', (c) => {
    // The raw path, not a decoded one: static files are looked up by exact URL.
    const pathname = new URL(c.req.url).pathname;
    const file = options.staticFiles.get(pathname);
    if (file && pathname !== '/index.html') {
      return c.body(file.body as Uint8Array<ArrayBuffer>, 200, {
        'Content-Type': file.type,
        'Cache-Control': file.immutable ? 'public, max-age=31536000, immutable' : 'no-cache',
      });
    }
    for (const route of PAGE_ROUTES) {
      const m = route.pattern.exec(pathname);
      if (!m) continue;
      if (route.check) {
        let name: string;
        try {
          name = decodeURIComponent(m[1]);
        } catch {
          return c.html(errorPage(400, 'The address is not valid (bad percent-encoding).'), 400);
        }
        try {
          route.check(name);
        } catch (err) {
          if (err instanceof UsageError) return c.html(errorPage(400, err.problems[0].message), 400);
          throw err;
        }
      }
      const index = options.staticFiles.get('/index.html');
      if (!index) return c.html(NOT_BUILT_PAGE, 503);
      return c.body(index.body as Uint8Array<ArrayBuffer>, 200, {
        'Content-Type': index.type,
        'Cache-Control': 'no-cache',
      });
    }
    return c.html(errorPage(404, 'There is nothing at this address.'), 404);
  });

  return { app, state };
}

/** ?max_points=N of GET /api/runs/:id: absent, or an integer ≥ MIN_POINTS. */
function parseMaxPoints(value: string | undefined): number | null {
  if (value === undefined) return null;
  const n = /^[0-9]{1,9}$/.test(value) ? Number(value) : Number.NaN;
  if (!(n >= MIN_POINTS)) {
    throw new UsageError({
      field: 'max_points',
      message: `max_points must be an integer ≥ ${MIN_POINTS} (records to draw at most), got '${value}'`,
    });
  }
  return n;
}
