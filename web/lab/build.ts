/**
 * Builds the lab (the web app that trains in a browser tab) into one flat folder of static files,
 * and serves such a folder.
 *
 *   npm run build:lab [-- <outdir>] [--serve [port]]     (outdir defaults to dist/lab)
 *
 * The folder: index.html, main.js + main.css (the React page), train-worker.js (the Web Worker that
 * trains), chunk-worker.js (a thread of the wasm kernels), and byte-for-byte copies of both committed
 * kernel builds. Nothing is fetched from anywhere else, so it runs from any static host and
 * offline. Threads need a cross-origin isolated page: the host must send COOP same-origin and COEP
 * require-corp (`groklab serve` and serveLab do; `_headers` says so to hosts that read it);
 * elsewhere the lab trains on one thread. The bundles must not reach any `node:` module: the build
 * fails naming the importer if they do.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { Plugin } from 'esbuild';
import { CONTENT_TYPES, ISOLATION_HEADERS } from '../../src/server/static-files.ts';

const here = import.meta.dirname;
const root = path.resolve(here, '../..');
export const LAB_DIST = path.join(root, 'dist/lab');
/** The kernel builds the lab may load, best first (src/engine/kernels.ts). */
export const WASM_FILES = ['groklab-fma.wasm', 'groklab.wasm'] as const;
export const wasmSource = (file: (typeof WASM_FILES)[number]): string => path.join(root, 'src/kernels', file);

/** Fails the build on any `node:` import, naming the module that made it. */
export const noNodeBuiltins: Plugin = {
  name: 'no-node-builtins',
  setup(b) {
    b.onResolve({ filter: /^node:/ }, (args) => ({
      errors: [
        {
          text:
            `${args.path} imported by ${path.relative(root, args.importer)}: the browser bundle must ` +
            'not reach Node built-ins (use `import type`, or process.getBuiltinModule at run time)',
        },
      ],
    }));
  },
};

export interface LabBuild {
  outdir: string;
  /** Files written, relative to outdir. */
  files: string[];
  /** sha256 of each kernel build as copied. */
  wasmSha256: Record<(typeof WASM_FILES)[number], string>;
  /** Source files in the bundles, relative to the repository root. */
  inputs: string[];
  ms: number;
}

/** Builds the lab into `outdir` (written to a temporary folder first, then renamed into place). */
export async function buildLab(outdir = LAB_DIST): Promise<LabBuild> {
  const t0 = performance.now();
  // Loaded here: `groklab serve` imports this file's constants, and esbuild is a dev dependency.
  const { build } = await import('esbuild');
  const parent = path.dirname(path.resolve(outdir));
  fs.mkdirSync(parent, { recursive: true });
  const tmp = fs.mkdtempSync(path.join(parent, '.lab-build-'));
  try {
    const result = await build({
      entryPoints: {
        main: path.join(here, 'src/main.tsx'),
        'train-worker': path.join(here, 'src/train-worker.ts'),
        'chunk-worker': path.join(here, 'src/chunk-worker.ts'),
      },
      outdir: tmp,
      bundle: true,
      format: 'esm',
      platform: 'browser',
      target: 'es2022',
      jsx: 'automatic',
      minify: true,
      sourcemap: 'linked',
      metafile: true,
      logLevel: 'silent',
      absWorkingDir: root,
      define: { 'process.env.NODE_ENV': '"production"' },
      plugins: [noNodeBuiltins],
    });
    fs.copyFileSync(path.join(here, 'index.html'), path.join(tmp, 'index.html'));
    fs.writeFileSync(path.join(tmp, '_headers'), headersFile());
    const wasmSha256 = {} as LabBuild['wasmSha256'];
    for (const file of WASM_FILES) {
      const wasm = fs.readFileSync(wasmSource(file));
      fs.writeFileSync(path.join(tmp, file), wasm);
      wasmSha256[file] = createHash('sha256').update(wasm).digest('hex');
    }
    fs.chmodSync(tmp, 0o755); // mkdtemp makes it private
    const old = `${tmp}-old`;
    if (fs.existsSync(outdir)) fs.renameSync(outdir, old);
    fs.renameSync(tmp, outdir);
    fs.rmSync(old, { recursive: true, force: true });
    return {
      outdir,
      files: fs.readdirSync(outdir).sort(),
      wasmSha256,
      inputs: Object.keys(result.metafile.inputs).sort(),
      ms: performance.now() - t0,
    };
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

/** Netlify / Cloudflare Pages read `_headers`: the isolation headers for every path. */
function headersFile(): string {
  const lines = Object.entries(ISOLATION_HEADERS).map(([k, v]) => `  ${k}: ${v}`);
  return `/*\n${lines.join('\n')}\n`;
}

export interface LabServer {
  url: string;
  close(): Promise<void>;
}

/**
 * Serves the files of a built lab on 127.0.0.1 (port 0: a free one), with the isolation headers
 * unless `isolated` is false (to see the one-thread fallback).
 */
export async function serveLab(
  dir: string,
  options: { port?: number; isolated?: boolean } = {},
): Promise<LabServer> {
  const files = new Set(fs.readdirSync(dir).filter((name) => !name.startsWith('_')));
  const headers = {
    ...(options.isolated === false ? {} : ISOLATION_HEADERS),
    'Cache-Control': 'no-store',
  };
  const server = http.createServer((req, res) => {
    const pathname = new URL(req.url ?? '/', 'http://localhost').pathname;
    const name = pathname === '/' ? 'index.html' : pathname.slice(1);
    if ((req.method !== 'GET' && req.method !== 'HEAD') || !files.has(name)) {
      res.writeHead(404, { ...headers, 'Content-Type': 'text/plain' }).end('not found\n');
      return;
    }
    const body = fs.readFileSync(path.join(dir, name));
    res.writeHead(200, {
      ...headers,
      'Content-Type': CONTENT_TYPES[path.extname(name)] ?? 'application/octet-stream',
      'Content-Length': body.length,
    });
    res.end(req.method === 'HEAD' ? undefined : body);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', resolve);
  });
  const { port: bound } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${bound}/`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === path.join(here, 'build.ts')) {
  const args = process.argv.slice(2);
  const serveAt = args.indexOf('--serve');
  const portGiven = serveAt >= 0 && /^\d+$/.test(args[serveAt + 1] ?? '');
  const port = portGiven ? Number(args[serveAt + 1]) : 8047;
  const positional = args.filter((a, i) => !a.startsWith('--') && !(portGiven && i === serveAt + 1));
  const outdir = path.resolve(positional[0] ?? LAB_DIST);
  const built = await buildLab(outdir);
  console.log(
    `built ${built.files.join(', ')} in ${path.relative(process.cwd(), outdir) || '.'} (${(built.ms / 1000).toFixed(1)} s)`,
  );
  if (serveAt >= 0) {
    const server = await serveLab(outdir, { port });
    console.log(`serving at ${server.url} (Ctrl-C to stop)`);
  }
}
