/**
 * Builds the browser playground into a folder and serves it.
 *
 *   npm run build:web [-- <outdir>] [--serve [port]]     (outdir defaults to tmp/playground)
 *
 * The folder holds index.html, main.js (main.ts and the engine bundled by esbuild, ESM, no
 * minification) and byte-for-byte copies of both committed kernel builds: groklab-fma.wasm
 * (relaxed SIMD), which the page loads where the browser validates it, and groklab.wasm (SIMD128).
 * The bundle must not reach any `node:` module: the build fails naming the importer if it does.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { build, type Plugin } from 'esbuild';

const here = import.meta.dirname;
const root = path.resolve(here, '../..');
/** The kernel builds the page may load, best first (src/engine/kernels.ts). */
export const WASM_FILES = ['groklab-fma.wasm', 'groklab.wasm'] as const;
export const wasmSource = (file: (typeof WASM_FILES)[number]): string => path.join(root, 'src/kernels', file);

/** Fails the build on any `node:` import, naming the module that made it. */
const noNodeBuiltins: Plugin = {
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

export interface PlaygroundBuild {
  outdir: string;
  /** Files written, relative to outdir. */
  files: string[];
  /** sha256 of each kernel build as copied. */
  wasmSha256: Record<(typeof WASM_FILES)[number], string>;
  /** Source files in the bundle, relative to the repository root. */
  inputs: string[];
}

export async function buildPlayground(outdir: string): Promise<PlaygroundBuild> {
  fs.mkdirSync(outdir, { recursive: true });
  const result = await build({
    entryPoints: [path.join(here, 'main.ts')],
    outfile: path.join(outdir, 'main.js'),
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    sourcemap: 'linked',
    metafile: true,
    logLevel: 'silent',
    absWorkingDir: root,
    plugins: [noNodeBuiltins],
  });
  fs.copyFileSync(path.join(here, 'index.html'), path.join(outdir, 'index.html'));
  const wasmSha256 = {} as PlaygroundBuild['wasmSha256'];
  for (const file of WASM_FILES) {
    const wasm = fs.readFileSync(wasmSource(file));
    fs.writeFileSync(path.join(outdir, file), wasm);
    wasmSha256[file] = createHash('sha256').update(wasm).digest('hex');
  }
  return {
    outdir,
    files: ['index.html', 'main.js', 'main.js.map', ...WASM_FILES],
    wasmSha256,
    inputs: Object.keys(result.metafile.inputs).sort(),
  };
}

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.wasm': 'application/wasm',
};

export interface PlaygroundServer {
  url: string;
  close(): Promise<void>;
}

/**
 * Serves the files of a built playground on 127.0.0.1 (port 0: a free one). Responses carry
 * COOP same-origin and COEP require-corp, so pages are cross-origin isolated (the playground
 * itself does not need it: its kernels are single-threaded on an unshared memory).
 */
export async function servePlayground(dir: string, port = 0): Promise<PlaygroundServer> {
  const files = new Set(fs.readdirSync(dir));
  const server = http.createServer((req, res) => {
    const pathname = new URL(req.url ?? '/', 'http://localhost').pathname;
    const name = pathname === '/' ? 'index.html' : pathname.slice(1);
    const headers = {
      'Cross-Origin-Opener-Policy': 'same-origin',
      'Cross-Origin-Embedder-Policy': 'require-corp',
      'Cross-Origin-Resource-Policy': 'same-origin',
      'Cache-Control': 'no-store',
    };
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
    server.listen(port, '127.0.0.1', resolve);
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
  const outdir = path.resolve(positional[0] ?? 'tmp/playground');
  const built = await buildPlayground(outdir);
  console.log(`built ${built.files.join(', ')} in ${path.relative(process.cwd(), outdir) || '.'}`);
  if (serveAt >= 0) {
    const server = await servePlayground(outdir, port);
    console.log(`serving at ${server.url} (Ctrl-C to stop)`);
  }
}
