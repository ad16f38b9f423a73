/**
 * How much the network's features moved since initialization (lazy vs rich training, Kumar et al.
 * 2023): the last hidden layer's activations Φ over a fixed set of inputs, compared with those of the
 * initial network Φ₀. In lazy training the features barely change; in rich training they are
 * rebuilt. Two numbers:
 *   relative_change = ‖Φ − Φ₀‖_F / ‖Φ₀‖_F (sensitive to scale: weights growing counts as moving)
 *   cka_to_init = linear CKA(Φ, Φ₀) = ‖Φ̃ᵀΦ̃₀‖²_F / (‖Φ̃ᵀΦ̃‖_F ‖Φ̃₀ᵀΦ̃₀‖_F), Φ̃ centered per column:
 *     1 when the features are the same up to rotation and scale, towards 0 when unrelated.
 */
import { gemm } from '../engine/ops.ts';
import { relativeChange } from '../train/progress-measures.ts';

export interface FeatureMovement {
  layer: string;
  relative_change: number;
  /** null when either representation is constant. */
  cka_to_init: number | null;
}

function centered(x: ArrayLike<number>, rows: number, cols: number): Float32Array {
  const out = new Float32Array(rows * cols);
  for (let c = 0; c < cols; c++) {
    let mean = 0;
    for (let r = 0; r < rows; r++) mean += x[r * cols + c];
    mean /= rows;
    for (let r = 0; r < rows; r++) out[r * cols + c] = x[r * cols + c] - mean;
  }
  return out;
}

function frobeniusSquared(m: Float32Array): number {
  let s = 0;
  for (const x of m) s += x * x;
  return s;
}

/** Linear CKA between [rows, colsX] and [rows, colsY] representations of the same inputs. */
export function linearCka(
  x: ArrayLike<number>,
  y: ArrayLike<number>,
  rows: number,
  colsX: number,
  colsY: number,
): number | null {
  const xc = centered(x, rows, colsX);
  const yc = centered(y, rows, colsY);
  const gram = (a: Float32Array, ca: number, b: Float32Array, cb: number) => {
    const out = new Float32Array(ca * cb);
    gemm(a, b, out, ca, cb, rows, true, false, false);
    return frobeniusSquared(out);
  };
  const xy = gram(xc, colsX, yc, colsY);
  const xx = Math.sqrt(gram(xc, colsX, xc, colsX));
  const yy = Math.sqrt(gram(yc, colsY, yc, colsY));
  return xx > 0 && yy > 0 ? xy / (xx * yy) : null;
}

export function featureMovement(
  layer: string,
  features: ArrayLike<number>,
  initial: ArrayLike<number>,
  rows: number,
  cols: number,
): FeatureMovement {
  return {
    layer,
    // The same function as the trainer's feature_change (src/train/progress-measures.ts).
    relative_change: relativeChange(features, initial),
    cka_to_init: linearCka(features, initial, rows, cols, cols),
  };
}
