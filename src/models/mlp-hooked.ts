/**
 * The MLP's hooked path: the same layers as the fused fast path (with or without biases), with each
 * pre-activation and activation (and a learned embedding) passed through its named site. Input
 * features are data, not a site: layers.0.pre is the first one.
 */
import { activate, gather, gatherSum, reshape } from '../engine/ops.ts';
import type { Tensor } from '../engine/tensor.ts';
import { dense } from './dense.ts';
import type { HookedPass, HookPoint } from './hooks.ts';
import type { MlpWeights } from './mlp.ts';
import type { ModelIO } from './model.ts';
import type { MlpSpec } from './spec.ts';

/** Hook points of an MLP, in forward order. */
export function mlpHookPoints(spec: MlpSpec, io: ModelIO): HookPoint[] {
  const points: HookPoint[] = [];
  if (spec.input === 'embed') {
    points.push({ name: 'embed', shape: [io.seqLen, spec.embed_dim ?? 0], perPosition: true });
  }
  for (let l = 0; l < spec.depth; l++) {
    points.push(
      { name: `layers.${l}.pre`, shape: [spec.width], perPosition: false },
      { name: `layers.${l}.post`, shape: [spec.width], perPosition: false },
    );
  }
  points.push({ name: 'logits', shape: [io.numClasses], perPosition: false });
  return points;
}

/** The hooked path up to the output layer: the last hidden activation, [B, width]. */
export function hookedMlpBody(
  w: MlpWeights,
  spec: MlpSpec,
  io: ModelIO,
  tokens: Int32Array,
  batch: number,
  pass: HookedPass,
): Tensor {
  const { seqLen, vocabSize } = io;
  const [first, ...rest] = w.layers;
  let pre: Tensor;
  if (w.embed) {
    const embedded = pass.site('embed', gather(w.embed, tokens, [batch, seqLen]));
    pre = dense(reshape(embedded, [batch, embedded.size / batch]), first);
  } else if (w.features) {
    const inputs = gather(w.features, tokens, [batch, seqLen]);
    pre = dense(reshape(inputs, [batch, inputs.size / batch]), first);
  } else {
    pre = gatherSum(first.w, tokens, batch, seqLen, vocabSize, first.b);
  }
  let h = pass.site('layers.0.post', activate(pass.site('layers.0.pre', pre), spec.activation));
  rest.forEach((layer, i) => {
    const l = i + 1;
    const z = pass.site(`layers.${l}.pre`, dense(h, layer));
    h = pass.site(`layers.${l}.post`, activate(z, spec.activation));
  });
  return h;
}
