import { Rng } from '../util/rng.ts';
import { type Arena, withArena } from './arena.ts';
import { mul, sum } from './ops.ts';
import { noGrad, sizeOf, Tensor } from './tensor.ts';

export interface GradcheckReport {
  /** Largest |analytic − numeric| / (atol + rtol·|numeric|); ≤ 1 passes. */
  worstRatio: number;
  worst: { input: number; index: number; analytic: number; numeric: number } | null;
}

/**
 * Compares the gradients of `f` with central finite differences in float64. The scalar checked is
 * Σ w ⊙ f(inputs) for fixed random weights w, so every output element's gradient path is exercised.
 * Inputs must be float64 parameters. Truncation error of central differences is O(eps²·f'''),
 * rounding error O(1e-16/eps): eps = 1e-6 leaves about 1e-9 absolute error on well-scaled functions.
 */
export function gradcheck(
  f: (inputs: Tensor[]) => Tensor,
  inputs: Tensor[],
  options: { eps?: number; rtol?: number; atol?: number; seed?: number } = {},
): GradcheckReport {
  const eps = options.eps ?? 1e-6;
  const rtol = options.rtol ?? 1e-6;
  const atol = options.atol ?? 1e-7;
  for (const x of inputs) {
    if (x.dtype !== 'f64' || !x.requiresGrad) throw new Error('gradcheck needs float64 parameters');
  }
  const probe = noGrad(() => f(inputs));
  const rng = new Rng(options.seed ?? 7);
  const weights = Tensor.from(
    Array.from({ length: probe.size }, () => rng.normal()),
    probe.shape,
    'f64',
  );
  const objective = () => sum(mul(f(inputs), weights));

  for (const x of inputs) x.grad = null;
  objective().backward();
  const analytic = inputs.map((x) => Float64Array.from(x.grad ?? new Float64Array(x.size)));

  let worstRatio = 0;
  let worst: GradcheckReport['worst'] = null;
  inputs.forEach((x, inputIndex) => {
    for (let i = 0; i < x.size; i++) {
      const saved = x.data[i];
      x.data[i] = saved + eps;
      const plus = noGrad(objective).item();
      x.data[i] = saved - eps;
      const minus = noGrad(objective).item();
      x.data[i] = saved;
      const numeric = (plus - minus) / (2 * eps);
      const a = analytic[inputIndex][i];
      const ratio = Math.abs(a - numeric) / (atol + rtol * Math.abs(numeric));
      if (ratio > worstRatio) {
        worstRatio = ratio;
        worst = { input: inputIndex, index: i, analytic: a, numeric };
      }
    }
  });
  return { worstRatio, worst };
}

/** A float64 parameter with standard-normal entries, for gradient checks. */
export function randomParam(shape: number[], rng: Rng, scale = 1): Tensor {
  const size = sizeOf(shape);
  const data = new Float64Array(size);
  for (let i = 0; i < size; i++) data[i] = rng.normal() * scale;
  return Tensor.param(data, shape);
}

export interface Float32Report {
  /** Largest |float32 − float64| over an array, relative to the largest |float64| in it. */
  worst: number;
  /** Which array: 'output' or 'gradient <input index>'. */
  where: string;
}

/**
 * Runs `f` on float64 inputs and on float32 copies of them (with the kernels in use, so on the
 * wasm kernels the float32 loops), and compares the outputs and the gradients of Σ w ⊙ f for fixed
 * random weights w. With an arena the float32 pass runs inside it twice (the first pass sizes the
 * arena, the second runs on its storage) and the second is compared.
 */
export function compareFloat32(
  f: (inputs: Tensor[]) => Tensor,
  inputs: Tensor[],
  options: { arena?: Arena | null; seed?: number } = {},
): Float32Report {
  for (const x of inputs) {
    if (x.dtype !== 'f64' || !x.requiresGrad) throw new Error('compareFloat32 needs float64 parameters');
  }
  const run = (xs: Tensor[], dtype: 'f32' | 'f64') => {
    const out = f(xs);
    const rng = new Rng(options.seed ?? 11);
    const weights = Tensor.from(
      Array.from({ length: out.size }, () => rng.normal()),
      out.shape,
      dtype,
    );
    for (const x of xs) x.grad = null;
    sum(mul(out, weights)).backward();
    return [
      Float64Array.from(out.data),
      ...xs.map((x) => Float64Array.from(x.grad ?? new Float64Array(x.size))),
    ];
  };
  const reference = run(inputs, 'f64');
  const inputs32 = inputs.map((x) => Tensor.param(Float32Array.from(x.data), x.shape));
  const arena = options.arena ?? null;
  let got: Float64Array[] = [];
  for (let pass = 0; pass < (arena === null ? 1 : 2); pass++) {
    arena?.reset();
    got = withArena(arena, () => run(inputs32, 'f32'));
  }
  let worst = 0;
  let where = 'output';
  reference.forEach((ref, i) => {
    let scale = 0;
    for (const v of ref) scale = Math.max(scale, Math.abs(v));
    let err = 0;
    for (let j = 0; j < ref.length; j++) err = Math.max(err, Math.abs(got[i][j] - ref[j]));
    const relative = scale === 0 ? err : err / scale;
    if (!(relative <= worst)) {
      worst = relative;
      where = i === 0 ? 'output' : `gradient ${i - 1}`;
    }
  });
  return { worst, where };
}
