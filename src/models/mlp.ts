import { ForwardArena } from '../engine/forward-arena.ts';
import { activate, gather, gatherSum, reshape } from '../engine/ops.ts';
import { type DType, Tensor } from '../engine/tensor.ts';
import { Rng } from '../util/rng.ts';
import { type DenseLayer, dense } from './dense.ts';
import { type ForwardOptions, HookedPass, type HookPoint, isHooked } from './hooks.ts';
import { hookedMlpBody, mlpHookPoints } from './mlp-hooked.ts';
import type { Model, ModelIO } from './model.ts';
import { ParamStore } from './params.ts';
import type { ModelRoles } from './roles.ts';
import type { MlpSpec } from './spec.ts';

/** The parameters before the output layer, by place in the network. */
export interface MlpWeights {
  embed?: Tensor;
  /** input features: the task's input vectors [examples, dim], indexed by token (data, not trained). */
  features?: Tensor;
  layers: DenseLayer[];
}

/**
 * Multi-layer perceptron over the concatenated input tokens. With one-hot inputs the first layer
 * is a [T·V, width] matrix applied to the concatenated one-hot vectors, computed as T row
 * look-ups; with embedded inputs a learned [V, embed_dim] table is concatenated per position; with
 * features, each example's token indexes its real-valued input vector in the task's table (io.features).
 * With `bias: false` no layer has a bias (parameters `layers.N.w` and `out.w` only).
 * With options, forward takes the hooked path instead (mlp-hooked.ts).
 */
export class Mlp implements Model {
  readonly params: Map<string, Tensor>;
  private readonly embed?: Tensor;
  private readonly features?: Tensor;
  private readonly layers: DenseLayer[] = [];
  private readonly out: DenseLayer;
  private readonly activations: ForwardArena;
  private readonly points: readonly HookPoint[];

  constructor(
    private readonly spec: MlpSpec,
    readonly io: ModelIO,
    seed: number,
    dtype: DType = 'f32',
  ) {
    const store = new ParamStore(new Rng(seed), spec.init_scale, dtype);
    const embedDim = spec.input === 'embed' ? (spec.embed_dim ?? 0) : 0;
    if (spec.input === 'embed' && embedDim < 1) throw new Error('mlp: input embed needs embed_dim');
    if (spec.input === 'features') {
      if (!io.features) throw new Error('mlp: input features needs a task with real-valued inputs');
      const { dim, values } = io.features;
      this.features = new Tensor(values, [values.length / dim, dim]);
    }
    const inputDim =
      spec.input === 'onehot'
        ? io.seqLen * io.vocabSize
        : spec.input === 'features'
          ? io.seqLen * (io.features?.dim ?? 0)
          : io.seqLen * embedDim;
    if (spec.input === 'embed') this.embed = store.normal('embed', [io.vocabSize, embedDim], 1);
    // Weight then bias, layer by layer: the draw order that fixes every biased model's initial weights.
    const layer = (name: string, fanIn: number, width: number): DenseLayer => {
      const w = store.uniform(`${name}.w`, [fanIn, width], fanIn);
      return spec.bias === false ? { w } : { w, b: store.uniform(`${name}.b`, [width], fanIn) };
    };
    let fanIn = inputDim;
    for (let l = 0; l < spec.depth; l++) {
      this.layers.push(layer(`layers.${l}`, fanIn, spec.width));
      fanIn = spec.width;
    }
    this.out = layer('out', fanIn, io.numClasses);
    this.params = store.tensors;
    this.activations = new ForwardArena(dtype);
    this.points = mlpHookPoints(spec, io);
  }

  hookPoints(): readonly HookPoint[] {
    return this.points;
  }

  roles(): ModelRoles {
    const first = this.layers[0];
    return {
      input: this.embed
        ? { kind: 'embedding', site: 'embed', table: this.embed }
        : { kind: this.features ? 'features' : 'one-hot', site: 'layers.0.pre', table: first.w },
      firstLayer: this.embed ? first.w : null,
      blocks: [],
      hidden: this.layers.map((_, l) => ({
        layer: `layers.${l}`,
        pre: `layers.${l}.pre`,
        post: `layers.${l}.post`,
        activation: this.spec.activation,
      })),
      unembed: this.out.w,
      logits: 'logits',
    };
  }

  forward(tokens: Int32Array, batch: number, options?: ForwardOptions): Tensor {
    const { seqLen, vocabSize } = this.io;
    if (tokens.length !== batch * seqLen) throw new Error(`forward: expected ${batch}×${seqLen} tokens`);
    if (isHooked(options)) return this.hookedForward(tokens, batch, options);
    const first = this.layers[0];
    const activation = this.spec.activation;
    const h = this.activations.run(() => {
      const table = this.embed ?? this.features;
      let h = table
        ? dense(
            reshape(gather(table, tokens, [batch, seqLen]), [batch, seqLen * table.shape[1]]),
            first,
            activation,
          )
        : first.b
          ? gatherSum(first.w, tokens, batch, seqLen, vocabSize, first.b, activation)
          : // gatherSum applies an activation only together with a bias.
            activate(gatherSum(first.w, tokens, batch, seqLen, vocabSize), activation);
      for (let l = 1; l < this.layers.length; l++) h = dense(h, this.layers[l], activation);
      return h;
    });
    // Outside the arena: the logits outlive the next forward pass.
    return dense(h, this.out);
  }

  /** The hooked path (mlp-hooked.ts), in the arena unless it caches (as Transformer.hookedForward). */
  private hookedForward(tokens: Int32Array, batch: number, options: ForwardOptions): Tensor {
    const pass = new HookedPass(this.points, options, tokens, batch);
    const weights: MlpWeights = { embed: this.embed, features: this.features, layers: this.layers };
    const body = () => hookedMlpBody(weights, this.spec, this.io, tokens, batch, pass);
    const h = options.cache ? body() : this.activations.run(body);
    return pass.site('logits', dense(h, this.out));
  }
}
