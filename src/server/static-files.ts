/**
 * The built dashboard (web/dashboard/dist), served from memory. The folder is read once when the
 * server starts: regular files only (symlinks are skipped), each under its URL path. A request is a
 * lookup of its raw path in that table, so no URL, encoded or not, can name any other file.
 */
import fs from 'node:fs';
import path from 'node:path';

export const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
  '.wasm': 'application/wasm',
};

/**
 * The headers that make a page cross-origin isolated, which SharedArrayBuffer (so the lab's kernel
 * threads) needs.
 */
export const ISOLATION_HEADERS = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
  'Cross-Origin-Resource-Policy': 'same-origin',
} as const;

export interface StaticFile {
  body: Uint8Array;
  type: string;
  /** Names with a content hash (Vite's assets/): cacheable forever. */
  immutable: boolean;
}

/** Every regular file below `dir`, by URL path ("/index.html", "/assets/index-abc123.js"). */
export function loadStaticFiles(dir: string | null): Map<string, StaticFile> {
  const files = new Map<string, StaticFile>();
  if (dir === null || !fs.statSync(dir, { throwIfNoEntry: false })?.isDirectory()) return files;
  const walk = (folder: string, prefix: string, depth: number) => {
    if (depth > 8) return;
    for (const entry of fs.readdirSync(folder, { withFileTypes: true })) {
      // Dot files (the build stamp) are not part of the site.
      if (entry.name.startsWith('.') || !/^[A-Za-z0-9._-]+$/.test(entry.name)) continue;
      const full = path.join(folder, entry.name);
      const url = `${prefix}/${entry.name}`;
      if (entry.isDirectory()) walk(full, url, depth + 1);
      else if (entry.isFile()) {
        files.set(url, {
          body: fs.readFileSync(full),
          type: CONTENT_TYPES[path.extname(entry.name)] ?? 'application/octet-stream',
          immutable: prefix === '/assets',
        });
      }
    }
  };
  walk(dir, '', 0);
  return files;
}
