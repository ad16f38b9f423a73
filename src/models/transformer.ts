import { ForwardArena } from '../engine/forward-arena.ts';
import { add, causalAttention, layerNorm, linear, matmul, reshape } from '../engine/ops.ts';
import type { DType, Tensor } from '../engine/tensor.ts';
import { Rng } from '../util/rng.ts';
import { type ForwardOptions, HookedPass, type HookPoint, isHooked } from './hooks.ts';
import type { Model, ModelIO } from './model.ts';
import { ParamStore } from './params.ts';
import { EmbeddingRows, type ResidualInput, ResidualRows } from './residual.ts';
import type { ModelRoles } from './roles.ts';
import type { TransformerSpec } from './spec.ts';
import { hookedTransformerBody, transformerHookPoints } from './transformer-hooked.ts';

export interface Block {
  wq: Tensor;
  wk: Tensor;
  wv: Tensor;
  wo: Tensor;
  w1: Tensor;
  b1: Tensor;
  w2: Tensor;
  b2: Tensor;
  ln1?: { gain: Tensor; bias: Tensor };
  ln2?: { gain: Tensor; bias: Tensor };
}

/** The parameters before the unembedding, by place in the network. */
export interface TransformerWeights {
  embed: Tensor;
  pos: Tensor;
  blocks: Block[];
  lnFinal?: { gain: Tensor; bias: Tensor };
}

/**
 * Decoder-only transformer with learned positions; the answer is read at the last position.
 * Weights are stored [in, out] so every projection is a plain x·W. Initialization follows
 * PyTorch's defaults or Nanda et al.'s code (`init`, see spec.ts), times α.
 * The final layer computes only the last position: for a causal model nothing else reaches the
 * logits, so the loss and all gradients are the same as computing every position. Products of the
 * embedding layer's output are table look-ups (see EmbeddingRows). Activations live in the model's
 * arena until its next forward pass (forward-arena.ts); the returned logits are ordinary tensors.
 * With options, forward takes the hooked path instead (transformer-hooked.ts).
 */
export class Transformer implements Model {
  readonly params: Map<string, Tensor>;
  private readonly embed: Tensor;
  private readonly pos: Tensor;
  private readonly blocks: Block[] = [];
  private readonly lnFinal?: { gain: Tensor; bias: Tensor };
  private readonly unembed: Tensor;
  private readonly activations: ForwardArena;
  private readonly points: readonly HookPoint[];

  constructor(
    private readonly spec: TransformerSpec,
    readonly io: ModelIO,
    seed: number,
    dtype: DType = 'f32',
  ) {
    const d = spec.d_model;
    const store = new ParamStore(new Rng(seed), spec.init_scale, dtype);
    const nanda = spec.init === 'nanda';
    // A weight matrix [fanIn, out] and a bias under the chosen initialization.
    const matrix = (name: string, shape: number[], fanIn: number) =>
      nanda ? store.normal(name, shape, 1 / Math.sqrt(fanIn)) : store.uniform(name, shape, fanIn);
    const bias = (name: string, size: number, fanIn: number) =>
      nanda ? store.constant(name, [size], 0) : store.uniform(name, [size], fanIn);
    this.embed = store.normal('embed', [io.vocabSize, d], nanda ? 1 / Math.sqrt(d) : 1);
    this.pos = store.normal('pos', [io.seqLen, d], 1 / Math.sqrt(d));
    const norm = (name: string) => ({
      gain: store.constant(`${name}.gain`, [d], 1),
      bias: store.constant(`${name}.bias`, [d], 0),
    });
    for (let l = 0; l < spec.layers; l++) {
      const name = `blocks.${l}`;
      this.blocks.push({
        ln1: spec.layernorm === 'none' ? undefined : norm(`${name}.ln1`),
        wq: matrix(`${name}.attn.wq`, [d, d], d),
        wk: matrix(`${name}.attn.wk`, [d, d], d),
        wv: matrix(`${name}.attn.wv`, [d, d], d),
        wo: matrix(`${name}.attn.wo`, [d, d], d),
        ln2: spec.layernorm === 'none' ? undefined : norm(`${name}.ln2`),
        w1: matrix(`${name}.mlp.w1`, [d, spec.d_mlp], d),
        b1: bias(`${name}.mlp.b1`, spec.d_mlp, d),
        w2: matrix(`${name}.mlp.w2`, [spec.d_mlp, d], spec.d_mlp),
        b2: bias(`${name}.mlp.b2`, d, spec.d_mlp),
      });
    }
    if (spec.layernorm === 'pre' || spec.layernorm === 'pre_replace') this.lnFinal = norm('ln_final');
    this.unembed = matrix('unembed', [d, io.numClasses], d);
    this.params = store.tensors;
    this.activations = new ForwardArena(dtype);
    this.points = transformerHookPoints(spec, io);
  }

  hookPoints(): readonly HookPoint[] {
    return this.points;
  }

  roles(): ModelRoles {
    const { spec } = this;
    return {
      input: { kind: 'embedding', site: 'embed', table: this.embed },
      firstLayer: null,
      blocks: this.blocks.map((b, l) => ({
        pattern: `blocks.${l}.attn.pattern`,
        wv: b.wv,
        wo: b.wo,
        win: b.w1,
        wout: b.w2,
      })),
      hidden: this.blocks.map((_, l) => ({
        layer: `blocks.${l}.mlp`,
        pre: `blocks.${l}.mlp.pre`,
        post: `blocks.${l}.mlp.post`,
        activation: spec.activation,
      })),
      unembed: this.unembed,
      logits: 'logits',
    };
  }

  forward(tokens: Int32Array, batch: number, options?: ForwardOptions): Tensor {
    const { seqLen } = this.io;
    if (tokens.length !== batch * seqLen) throw new Error(`forward: expected ${batch}×${seqLen} tokens`);
    if (isHooked(options)) return this.hookedForward(tokens, batch, options);
    const h = this.activations.run(() => {
      let x: ResidualInput = new EmbeddingRows(this.embed, this.pos, tokens, batch, seqLen);
      for (let l = 0; l < this.blocks.length - 1; l++) {
        x = new ResidualRows(this.block(this.blocks[l], x, batch, seqLen), batch, seqLen);
      }
      const last = this.block(this.blocks[this.blocks.length - 1], x, batch, 1);
      return this.lnFinal ? layerNorm(last, this.lnFinal.gain, this.lnFinal.bias) : last;
    });
    // Outside the arena: the logits outlive the next forward pass.
    return matmul(h, this.unembed);
  }

  /**
   * The hooked path (transformer-hooked.ts). Cached activations must outlive the next forward pass,
   * so a pass that caches runs on the heap; one that only hooks runs in the arena (the fast path's
   * storage, without copies in and out of wasm memory). The logits are made outside it, as in forward.
   */
  private hookedForward(tokens: Int32Array, batch: number, options: ForwardOptions): Tensor {
    const pass = new HookedPass(this.points, options, tokens, batch);
    const weights: TransformerWeights = {
      embed: this.embed,
      pos: this.pos,
      blocks: this.blocks,
      lnFinal: this.lnFinal,
    };
    const body = () => hookedTransformerBody(weights, this.spec, this.io, tokens, batch, pass);
    const last = options.cache ? body() : this.activations.run(body);
    return pass.site('logits', matmul(last, this.unembed));
  }

  /**
   * One block over the residual stream x; returns rows [B·queries, D] for the last `queries` positions.
   * pre_replace normalizes like pre, but the normalized rows h go on as the stream (h + Attn(h)).
   */
  private block(blk: Block, x: ResidualInput, batch: number, queries: number): Tensor {
    const seq = this.io.seqLen;
    const d = this.spec.d_model;
    const replace = this.spec.layernorm === 'pre_replace';
    const pre = this.spec.layernorm === 'pre' || replace;
    const post = this.spec.layernorm === 'post';
    const lastOnly = queries !== seq;

    const h =
      pre && blk.ln1 ? new ResidualRows(layerNorm(x.rows(), blk.ln1.gain, blk.ln1.bias), batch, seq) : x;
    const k = h.projectRows(blk.wk, false);
    const v = h.projectRows(blk.wv, false);
    const q = h.projectRows(blk.wq, lastOnly);
    const attended = reshape(causalAttention(q, k, v, this.spec.heads).out, [batch * queries, d]);
    const stream = replace ? h : x;
    let y = add(lastOnly ? stream.last() : stream.rows(), matmul(attended, blk.wo));
    if (post && blk.ln1) y = layerNorm(y, blk.ln1.gain, blk.ln1.bias);

    const m = pre && blk.ln2 ? layerNorm(y, blk.ln2.gain, blk.ln2.bias) : y;
    const hidden = linear(m, blk.w1, blk.b1, this.spec.activation);
    let out = add(y, linear(hidden, blk.w2, blk.b2));
    if (post && blk.ln2) out = layerNorm(out, blk.ln2.gain, blk.ln2.bias);
    return out;
  }
}
