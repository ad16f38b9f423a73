/**
 * What the analysis looks at inside a model: logits, the last hidden layer's activations at the
 * answer position, and every attention pattern from the answer position. Read from the model's own
 * cached forward pass (its hook points, models/hooks.ts), in chunks, without gradients.
 */
import { type Data, noGrad, type Tensor } from '../engine/tensor.ts';
import type { HookPoint, Model } from '../models/index.ts';
import { chunksOf, concat } from './chunks.ts';

export interface ProbeResult {
  count: number;
  /** [count, numClasses]. */
  logits: Data;
  /** [count, hiddenWidth]: post-activation of the last hidden layer (transformer: last block's MLP) at the answer position. */
  hidden: Data;
  hiddenWidth: number;
  /** Name of that layer: 'layers.<l>' or 'blocks.<l>.mlp'. */
  hiddenLayer: string;
  /** Transformers only: per layer, [count, heads, T]: attention from the answer (last) position to each key. */
  attention: Data[];
  heads: number;
}

/** Runs the probe over `count` token sequences. */
export function probeModel(model: Model, tokens: Int32Array, count: number): ProbeResult {
  const roles = model.roles();
  const points = new Map(model.hookPoints().map((p) => [p.name, p]));
  const point = (name: string) => points.get(name) as HookPoint;
  const hidden = roles.hidden[roles.hidden.length - 1];
  const patterns = roles.blocks.map((b) => b.pattern);
  const parts: Array<{ logits: Data; hidden: Data; attention: Data[] }> = [];
  noGrad(() => {
    for (const chunk of chunksOf(tokens, model.io.seqLen, count)) {
      const cache = new Map<string, Tensor>();
      const cacheSites = [roles.logits, hidden.post, ...patterns];
      model.forward(chunk.tokens, chunk.count, { cache, cacheSites });
      const read = (name: string) => cache.get(name) as Tensor;
      parts.push({
        logits: read(roles.logits).data,
        hidden: atAnswer(read(hidden.post), point(hidden.post)),
        attention: patterns.map((name) => fromLastQuery(read(name))),
      });
    }
  });
  const hiddenPoint = point(hidden.post);
  return {
    count,
    logits: concat(parts.map((p) => p.logits)),
    hidden: concat(parts.map((p) => p.hidden)),
    hiddenWidth: hiddenPoint.shape[hiddenPoint.shape.length - 1],
    hiddenLayer: hidden.layer,
    attention: patterns.map((_, l) => concat(parts.map((p) => p.attention[l]))),
    heads: patterns.length > 0 ? point(patterns[0]).shape[0] : 0,
  };
}

/** A site's values at the answer (last) position, [n, width]: per-position sites [n, T, width] are cut. */
function atAnswer(x: Tensor, point: HookPoint): Data {
  if (!point.perPosition) return x.data;
  const [n, seq] = x.shape;
  const width = x.size / (n * seq);
  const out = x.dtype === 'f32' ? new Float32Array(n * width) : new Float64Array(n * width);
  for (let i = 0; i < n; i++) {
    const from = (i * seq + seq - 1) * width;
    out.set(x.data.subarray(from, from + width), i * width);
  }
  return out;
}

/** The last query's rows of a [n, heads, T, T] pattern, as [n, heads, T]. */
function fromLastQuery(pattern: Tensor): Data {
  const [n, heads, seq] = pattern.shape;
  const out = pattern.dtype === 'f32' ? new Float32Array(n * heads * seq) : new Float64Array(n * heads * seq);
  for (let r = 0; r < n * heads; r++) {
    const from = (r * seq + seq - 1) * seq;
    out.set(pattern.data.subarray(from, from + seq), r * seq);
  }
  return out;
}
