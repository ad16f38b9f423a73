/**
 * Row look-ups of embedding tables and their scatter-add adjoints (src/kernels/assembly/embedding.ts).
 * Scatter-adds visit rows in (sequence, position) order.
 */
import type { Data } from '../tensor.ts';
import { ids, inout, input, kernel, output } from './spec.ts';

/**
 * out row (b, t) = table[ids[b·seq + t]] + pos[t] for the positions t ≥ first of each sequence b,
 * rows in (b, t) order: [batch·(seq − first), dim]. pos null: no positional table.
 */
function embedRows(
  out: Data,
  table: Data,
  pos: Data | null,
  tokens: Int32Array,
  batch: number,
  seq: number,
  first: number,
  dim: number,
): void {
  let o = 0;
  for (let b = 0; b < batch; b++) {
    for (let t = first; t < seq; t++, o += dim) {
      const row = tokens[b * seq + t] * dim;
      if (pos === null) for (let j = 0; j < dim; j++) out[o + j] = table[row + j];
      else for (let j = 0; j < dim; j++) out[o + j] = table[row + j] + pos[t * dim + j];
    }
  }
}

/** embedRows' adjoint: gt[ids[b, t]] += g row (b, t) and gp[t] += g row (b, t), each when not null. */
function embedRowsBackward(
  gt: Data | null,
  gp: Data | null,
  g: Data,
  tokens: Int32Array,
  batch: number,
  seq: number,
  first: number,
  dim: number,
): void {
  let o = 0;
  for (let b = 0; b < batch; b++) {
    for (let t = first; t < seq; t++, o += dim) {
      if (gt) {
        const row = tokens[b * seq + t] * dim;
        for (let j = 0; j < dim; j++) gt[row + j] += g[o + j];
      }
      if (gp) for (let j = 0; j < dim; j++) gp[t * dim + j] += g[o + j];
    }
  }
}

/**
 * out row b = Σ_t table[t·vocab + ids[b·seq + t]] for ids [batch, seq]: one-hot(ids) flattened to
 * [batch, seq·vocab] times a [seq·vocab, dim] matrix, as seq row look-ups.
 */
function rowSums(
  out: Data,
  table: Data,
  tokens: Int32Array,
  batch: number,
  seq: number,
  vocab: number,
  dim: number,
): void {
  out.fill(0, 0, batch * dim);
  for (let b = 0; b < batch; b++) {
    const o = b * dim;
    for (let t = 0; t < seq; t++) {
      const row = (t * vocab + tokens[b * seq + t]) * dim;
      for (let j = 0; j < dim; j++) out[o + j] += table[row + j];
    }
  }
}

/** rowSums' adjoint: gt[t·vocab + ids[b, t]] += g row b. */
function scatterRowSums(
  gt: Data,
  g: Data,
  tokens: Int32Array,
  batch: number,
  seq: number,
  vocab: number,
  dim: number,
): void {
  for (let b = 0; b < batch; b++) {
    const o = b * dim;
    for (let t = 0; t < seq; t++) {
      const row = (t * vocab + tokens[b * seq + t]) * dim;
      for (let j = 0; j < dim; j++) gt[row + j] += g[o + j];
    }
  }
}

export const embeddingKernels = {
  embedRows: kernel({
    reference: embedRows,
    threads: 'ranges',
    wasm: (out, table, pos, tokens, batch, seq, first, dim) => ({
      args: {
        out: output(out, batch * (seq - first) * dim),
        table: input(table),
        pos: input(pos, seq * dim),
        ids: ids(tokens, batch * seq, table.length / dim),
        batch,
        seq,
        first,
        dim,
      },
      split: { over: batch, work: out.length },
    }),
  }),
  embedRowsBackward: kernel({
    reference: embedRowsBackward,
    threads: 'none',
    wasm: (gt, gp, g, tokens, batch, seq, first, dim) => ({
      args: {
        gt: inout(gt),
        gp: inout(gp, seq * dim),
        g: input(g, batch * (seq - first) * dim),
        // Without a table gradient the ids are not used.
        ids: ids(tokens, batch * seq, gt === null ? undefined : gt.length / dim),
        batch,
        seq,
        first,
        dim,
      },
    }),
  }),
  rowSums: kernel({
    reference: rowSums,
    threads: 'none',
    wasm: (out, table, tokens, batch, seq, vocab, dim) => {
      if (seq === 0) {
        out.fill(0, 0, batch * dim); // a sum of nothing (the kernel starts from the first row)
        return null;
      }
      return {
        args: {
          out: output(out, batch * dim),
          table: input(table, seq * vocab * dim),
          ids: ids(tokens, batch * seq, vocab),
          batch,
          seq,
          vocab,
          dim,
        },
      };
    },
  }),
  scatterRowSums: kernel({
    reference: scatterRowSums,
    threads: 'none',
    wasm: (gt, g, tokens, batch, seq, vocab, dim) => ({
      args: {
        gt: inout(gt, seq * vocab * dim),
        g: input(g, batch * dim),
        ids: ids(tokens, batch * seq, vocab),
        batch,
        seq,
        vocab,
        dim,
      },
    }),
  }),
};
