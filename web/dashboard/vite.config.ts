/**
 * Vite config of the dashboard UI. build.ts uses it to build into dist/ (what `groklab serve`
 * serves); `npx vite web/dashboard` also uses it for a dev server with hot reload, forwarding /api to
 * a `groklab serve` on port 4173 (start that first).
 */
import path from 'node:path';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

const here = import.meta.dirname;

export default defineConfig({
  root: here,
  base: '/',
  plugins: [react()],
  // Nothing is fetched from the network at run time; the build must not inline remote URLs either.
  build: {
    outDir: path.join(here, 'dist'),
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: true,
    chunkSizeWarningLimit: 1024,
    reportCompressedSize: false,
  },
  server: {
    proxy: { '/api': { target: 'http://127.0.0.1:4173', changeOrigin: true } },
  },
  logLevel: 'warn',
  clearScreen: false,
});
