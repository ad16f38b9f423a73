/**
 * The transformer's hooked path: every position through every block, attention as an explicit
 * pattern (causalPattern, then applyPattern), and each activation through its named site. It computes
 * what the fused fast path computes (test/hooks.test.ts holds them together); the model reads the
 * logits at the last position.
 */
import {
  activate,
  add,
  applyPattern,
  causalPattern,
  gather,
  layerNorm,
  linear,
  matmul,
  reshape,
  takePosition,
} from '../engine/ops.ts';
import type { Tensor } from '../engine/tensor.ts';
import type { HookedPass, HookPoint } from './hooks.ts';
import type { ModelIO } from './model.ts';
import type { TransformerSpec } from './spec.ts';
import type { TransformerWeights } from './transformer.ts';

/** Hook points of a transformer, in forward order. */
export function transformerHookPoints(spec: TransformerSpec, io: ModelIO): HookPoint[] {
  const t = io.seqLen;
  const d = spec.d_model;
  const dh = d / spec.heads;
  const at = (name: string, shape: number[]): HookPoint => ({ name, shape, perPosition: true });
  const points = [at('embed', [t, d]), at('pos', [t, d])];
  for (let l = 0; l < spec.layers; l++) {
    const b = `blocks.${l}`;
    // pre_replace: the normalized stream that replaces the residual (pre keeps its sites as they were).
    if (spec.layernorm === 'pre_replace') points.push(at(`${b}.ln1`, [t, d]));
    points.push(
      at(`${b}.attn.q`, [t, spec.heads, dh]),
      at(`${b}.attn.k`, [t, spec.heads, dh]),
      at(`${b}.attn.v`, [t, spec.heads, dh]),
      { name: `${b}.attn.pattern`, shape: [spec.heads, t, t], perPosition: false },
      at(`${b}.attn.z`, [t, spec.heads, dh]),
      at(`${b}.attn_out`, [t, d]),
      at(`${b}.resid_mid`, [t, d]),
      at(`${b}.mlp.pre`, [t, spec.d_mlp]),
      at(`${b}.mlp.post`, [t, spec.d_mlp]),
      at(`${b}.mlp_out`, [t, d]),
      at(`${b}.resid_post`, [t, d]),
    );
  }
  if (spec.layernorm === 'pre' || spec.layernorm === 'pre_replace') points.push(at('ln_final', [t, d]));
  points.push({ name: 'logits', shape: [io.numClasses], perPosition: false });
  return points;
}

/** Position ids 0 … T−1 for every sequence of the batch. */
function positionIds(batch: number, seq: number): Int32Array {
  return Int32Array.from({ length: batch * seq }, (_, i) => i % seq);
}

/** The hooked path up to the unembedding: the final residual stream at the last position, [B, D]. */
export function hookedTransformerBody(
  w: TransformerWeights,
  spec: TransformerSpec,
  io: ModelIO,
  tokens: Int32Array,
  batch: number,
  pass: HookedPass,
): Tensor {
  const seq = io.seqLen;
  const heads = spec.heads;
  const replace = spec.layernorm === 'pre_replace';
  const pre = spec.layernorm === 'pre' || replace;
  const post = spec.layernorm === 'post';
  // Sites are [B, T, …]; products and LayerNorm work on rows [B·T, width]. Reshapes share storage.
  const rows = (x: Tensor) => reshape(x, [batch * seq, x.size / (batch * seq)]);
  const positions = (x: Tensor) => reshape(x, [batch, seq, x.size / (batch * seq)]);
  const split = (x: Tensor) => reshape(x, [batch, seq, heads, x.size / (batch * seq * heads)]);
  const norm = (x: Tensor, ln: { gain: Tensor; bias: Tensor } | undefined) =>
    ln ? layerNorm(x, ln.gain, ln.bias) : x;

  const embed = pass.site('embed', gather(w.embed, tokens, [batch, seq]));
  const pos = pass.site('pos', gather(w.pos, positionIds(batch, seq), [batch, seq]));
  let x = rows(add(embed, pos));
  w.blocks.forEach((blk, l) => {
    const b = `blocks.${l}`;
    // pre_replace: h = LN1(x) is the stream from here on, and has its own site.
    const h = replace ? rows(pass.site(`${b}.ln1`, positions(norm(x, blk.ln1)))) : pre ? norm(x, blk.ln1) : x;
    const q = pass.site(`${b}.attn.q`, split(matmul(h, blk.wq)));
    const k = pass.site(`${b}.attn.k`, split(matmul(h, blk.wk)));
    const v = pass.site(`${b}.attn.v`, split(matmul(h, blk.wv)));
    const pattern = pass.site(`${b}.attn.pattern`, causalPattern(positions(q), positions(k), heads));
    const z = pass.site(`${b}.attn.z`, split(applyPattern(pattern, positions(v), heads)));
    const attnOut = pass.site(`${b}.attn_out`, positions(matmul(rows(z), blk.wo)));
    let y = add(replace ? h : x, rows(attnOut));
    if (post) y = norm(y, blk.ln1);
    y = rows(pass.site(`${b}.resid_mid`, positions(y)));
    const m = pre ? norm(y, blk.ln2) : y;
    const preAct = pass.site(`${b}.mlp.pre`, positions(linear(m, blk.w1, blk.b1)));
    const postAct = pass.site(`${b}.mlp.post`, activate(preAct, spec.activation));
    const mlpOut = pass.site(`${b}.mlp_out`, positions(linear(rows(postAct), blk.w2, blk.b2)));
    let out = add(y, rows(mlpOut));
    if (post) out = norm(out, blk.ln2);
    x = rows(pass.site(`${b}.resid_post`, positions(out)));
  });
  if (w.lnFinal) x = rows(pass.site('ln_final', positions(norm(x, w.lnFinal))));
  return takePosition(positions(x), -1);
}
