// Worker thread of the wasm kernels (threads.ts starts one per extra thread): the chunk loop of
// threads-worker-loop.mjs on the kernels as the module exports them. Plain JavaScript, so that it
// boots without a TypeScript loader.
import { workerData } from 'node:worker_threads';
import { serveChunks } from './threads-worker-loop.mjs';

serveChunks(workerData);
