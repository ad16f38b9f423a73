import { type AttentionInput, embedRows, matmul, reshape, takePosition } from '../engine/ops.ts';
import type { Tensor } from '../engine/tensor.ts';

/**
 * The input of a transformer block: B sequences of T positions of width D. A block needs the rows
 * themselves, the last position's rows, and products rows·W.
 */
export interface ResidualInput {
  /** All rows, [B·T, D]. */
  rows(): Tensor;
  /** The last position of each sequence, [B, D]. */
  last(): Tensor;
  /** rows·W ([B·T, D_out]) or, with `lastOnly`, last·W ([B, D_out]). */
  project(w: Tensor, lastOnly: boolean): Tensor;
  /** The same product as attention input, [B, T, D_out] ([B, 1, D_out] with `lastOnly`). */
  projectRows(w: Tensor, lastOnly: boolean): AttentionInput;
}

/** Rows held as a tensor: products are matrix products. */
export class ResidualRows implements ResidualInput {
  constructor(
    private readonly x: Tensor,
    private readonly batch: number,
    private readonly seq: number,
  ) {}

  rows(): Tensor {
    return this.x;
  }

  last(): Tensor {
    return this.seq === 1
      ? this.x
      : takePosition(reshape(this.x, [this.batch, this.seq, this.x.shape[1]]), -1);
  }

  project(w: Tensor, lastOnly: boolean): Tensor {
    return matmul(lastOnly ? this.last() : this.x, w);
  }

  projectRows(w: Tensor, lastOnly: boolean): AttentionInput {
    return reshape(this.project(w, lastOnly), [this.batch, lastOnly ? 1 : this.seq, w.shape[1]]);
  }
}

/**
 * The embedding layer's output, x = E[token] + P[position], kept implicit. Since x is made of V + T
 * distinct rows, x·W = (E·W)[token] + (P·W)[position]: two products of V and T rows and a look-up,
 * instead of a product over all B·T rows (for nanda-113, 114 + 3 rows instead of 11,490). The
 * gradient flows back through the look-up's scatter-add into E·W and P·W, then into E, P and W.
 */
export class EmbeddingRows implements ResidualInput {
  constructor(
    private readonly embed: Tensor,
    private readonly pos: Tensor,
    private readonly tokens: Int32Array,
    private readonly batch: number,
    private readonly seq: number,
  ) {}

  rows(): Tensor {
    return this.lookUp(this.embed, this.pos, false);
  }

  last(): Tensor {
    return this.lookUp(this.embed, this.pos, true);
  }

  project(w: Tensor, lastOnly: boolean): Tensor {
    return this.lookUp(matmul(this.embed, w), matmul(this.pos, w), lastOnly);
  }

  /** Left as a look-up into E·W and P·W: attention reads the rows without materializing them. */
  projectRows(w: Tensor, lastOnly: boolean): AttentionInput {
    const { tokens: ids, batch, seq } = this;
    return { table: matmul(this.embed, w), positions: matmul(this.pos, w), ids, batch, seq, lastOnly };
  }

  /** table[token] + positional[position] for every row, or for the last position only. */
  private lookUp(table: Tensor, positional: Tensor, lastOnly: boolean): Tensor {
    return embedRows(table, positional, this.tokens, this.batch, this.seq, lastOnly);
  }
}
