/**
 * Forward passes over many examples in chunks (bounded memory for p = 113: 12,769 pairs), through a
 * model's hooked path, without recording gradients unless the caller does.
 */
import { type Data, noGrad } from '../engine/tensor.ts';
import type { Hook, Model } from '../models/index.ts';

/** Examples per forward pass. */
export const PROBE_CHUNK = 4096;

export interface Chunk {
  /** Index of its first example. */
  start: number;
  count: number;
  tokens: Int32Array;
}

/** Consecutive chunks of `count` token sequences of length `seqLen` (views, not copies). */
export function chunksOf(tokens: Int32Array, seqLen: number, count: number, size = PROBE_CHUNK): Chunk[] {
  const chunks: Chunk[] = [];
  for (let start = 0; start < count; start += size) {
    const n = Math.min(size, count - start);
    chunks.push({ start, count: n, tokens: tokens.subarray(start * seqLen, (start + n) * seqLen) });
  }
  return chunks;
}

/**
 * Logits [count, classes] of the model's hooked forward pass (in the model's dtype), with each chunk's
 * hooks (that patch or ablate; none gives the unhooked model on the same path).
 */
export function hookedLogits(
  model: Model,
  tokens: Int32Array,
  count: number,
  hooksFor: (chunk: Chunk) => Readonly<Record<string, Hook>> = () => ({}),
): Data {
  const parts = noGrad(() =>
    chunksOf(tokens, model.io.seqLen, count).map(
      (chunk) => model.forward(chunk.tokens, chunk.count, { hooks: hooksFor(chunk) }).data,
    ),
  );
  return concat(parts);
}

/** Rows of `parts` concatenated (parts of one dtype). */
export function concat(parts: Data[]): Data {
  if (parts.length === 0) return new Float32Array(0);
  if (parts.length === 1) return parts[0];
  const total = parts.reduce((s, p) => s + p.length, 0);
  const out = parts[0] instanceof Float32Array ? new Float32Array(total) : new Float64Array(total);
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}
