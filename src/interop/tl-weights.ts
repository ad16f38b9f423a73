/**
 * groklab's transformer parameters ⇄ TransformerLens's state_dict names and shapes. Both keep weights
 * as [in, out] (x·W), so every tensor is a copy of the same float32 values, only regrouped per head:
 * the round trip is bit for bit.
 */
import type { ModelIO, TransformerSpec } from '../models/index.ts';
import type { StoredTensor } from '../runs/index.ts';
import { type FieldProblem, UsageError } from '../util/errors.ts';

/**
 * How one TransformerLens tensor relates to groklab's:
 * - copy: the same array ([in, out] in both);
 * - heads: groklab's [d_model, d_model] projection whose columns h·d_head… belong to head h, as
 *   TransformerLens's [n_heads, d_model, d_head] (W_Q, W_K, W_V);
 * - zero: a bias groklab does not have, all zeros (b_Q, b_K, b_V, b_O, b_U).
 * W_O [n_heads, d_head, d_model] is groklab's wo [d_model, d_model] with its rows grouped per head,
 * which is the same memory layout, so it is a copy.
 */
type Relation = 'copy' | 'heads' | 'zero';

interface TensorMapping {
  tl: string;
  /** groklab's parameter name; absent for zero biases. */
  groklab?: string;
  /** TransformerLens's shape. */
  shape: number[];
  /** groklab's shape (the same number of elements). */
  groklabShape: number[];
  relation: Relation;
}

/** Every tensor of a TransformerLens state_dict for this architecture, in model order. */
export function tensorMappings(spec: TransformerSpec, io: ModelIO): TensorMapping[] {
  const d = spec.d_model;
  const heads = spec.heads;
  const dHead = d / heads;
  const normed = spec.layernorm === 'pre';
  const copy = (tl: string, groklab: string, shape: number[], groklabShape = shape): TensorMapping => ({
    tl,
    groklab,
    shape,
    groklabShape,
    relation: 'copy',
  });
  const zero = (tl: string, shape: number[]): TensorMapping => ({
    tl,
    shape,
    groklabShape: [],
    relation: 'zero',
  });
  const norm = (tl: string, groklab: string) =>
    normed ? [copy(`${tl}.w`, `${groklab}.gain`, [d]), copy(`${tl}.b`, `${groklab}.bias`, [d])] : [];

  const list: TensorMapping[] = [
    copy('embed.W_E', 'embed', [io.vocabSize, d]),
    copy('pos_embed.W_pos', 'pos', [io.seqLen, d]),
  ];
  for (let l = 0; l < spec.layers; l++) {
    const tl = `blocks.${l}`;
    const g = `blocks.${l}`;
    list.push(...norm(`${tl}.ln1`, `${g}.ln1`));
    for (const x of ['Q', 'K', 'V']) {
      list.push({
        tl: `${tl}.attn.W_${x}`,
        groklab: `${g}.attn.w${x.toLowerCase()}`,
        shape: [heads, d, dHead],
        groklabShape: [d, d],
        relation: 'heads',
      });
    }
    for (const x of ['Q', 'K', 'V']) list.push(zero(`${tl}.attn.b_${x}`, [heads, dHead]));
    list.push(copy(`${tl}.attn.W_O`, `${g}.attn.wo`, [heads, dHead, d], [d, d]), zero(`${tl}.attn.b_O`, [d]));
    list.push(...norm(`${tl}.ln2`, `${g}.ln2`));
    list.push(
      copy(`${tl}.mlp.W_in`, `${g}.mlp.w1`, [d, spec.d_mlp]),
      copy(`${tl}.mlp.b_in`, `${g}.mlp.b1`, [spec.d_mlp]),
      copy(`${tl}.mlp.W_out`, `${g}.mlp.w2`, [spec.d_mlp, d]),
      copy(`${tl}.mlp.b_out`, `${g}.mlp.b2`, [d]),
    );
  }
  list.push(...norm('ln_final', 'ln_final'));
  list.push(copy('unembed.W_U', 'unembed', [d, io.numClasses]), zero('unembed.b_U', [io.numClasses]));
  return list;
}

/** [d, heads·dHead] column blocks → [heads, d, dHead]. */
function splitHeads(w: Float32Array, d: number, heads: number): Float32Array {
  const dHead = w.length / d / heads;
  const out = new Float32Array(w.length);
  for (let h = 0; h < heads; h++) {
    for (let i = 0; i < d; i++) {
      const from = i * d + h * dHead;
      out.set(w.subarray(from, from + dHead), (h * d + i) * dHead);
    }
  }
  return out;
}

/** [heads, d, dHead] → [d, heads·dHead]: the inverse of splitHeads. */
function joinHeads(w: Float32Array, d: number, heads: number): Float32Array {
  const dHead = w.length / d / heads;
  const out = new Float32Array(w.length);
  for (let h = 0; h < heads; h++) {
    for (let i = 0; i < d; i++) {
      const from = (h * d + i) * dHead;
      out.set(w.subarray(from, from + dHead), i * d + h * dHead);
    }
  }
  return out;
}

const size = (shape: number[]) => shape.reduce((n, k) => n * k, 1);

/** groklab parameters (a checkpoint's, by groklab name) as TransformerLens tensors. */
export function toTransformerLens(
  params: ReadonlyMap<string, StoredTensor>,
  spec: TransformerSpec,
  io: ModelIO,
): Record<string, StoredTensor> {
  const out: Record<string, StoredTensor> = {};
  for (const m of tensorMappings(spec, io)) {
    if (m.relation === 'zero') {
      out[m.tl] = { shape: m.shape, data: new Float32Array(size(m.shape)) };
      continue;
    }
    const p = params.get(m.groklab as string);
    if (!p || !(p.data instanceof Float32Array) || p.data.length !== size(m.shape)) {
      throw new Error(
        `checkpoint does not match its config: parameter ${m.groklab} is missing or has another size`,
      );
    }
    const data = m.relation === 'heads' ? splitHeads(p.data, spec.d_model, spec.heads) : p.data.slice();
    out[m.tl] = { shape: m.shape, data };
  }
  return out;
}

/** The largest |x| and where it is. */
function largestMagnitude(data: Float32Array): { value: number; index: number } {
  let best = { value: 0, index: -1 };
  data.forEach((x, index) => {
    if (Math.abs(x) > Math.abs(best.value) || Number.isNaN(x)) best = { value: x, index };
  });
  return best;
}

const WHAT_IS_MISSING: Record<string, string> = {
  b_Q: 'query bias',
  b_K: 'key bias',
  b_V: 'value bias',
  b_O: 'attention output bias',
  b_U: 'unembedding bias',
};

/**
 * TransformerLens tensors as groklab parameters. Every tensor must be float32 with the shape the
 * config gives; the biases groklab lacks may be absent but must otherwise be all zeros; nothing else
 * may be there. All problems are reported at once (UsageError, each naming its tensor).
 */
export function fromTransformerLens(
  tensors: Readonly<Record<string, StoredTensor>>,
  spec: TransformerSpec,
  io: ModelIO,
  file: string,
): Map<string, StoredTensor> {
  const problems: FieldProblem[] = [];
  const params = new Map<string, StoredTensor>();
  const mappings = tensorMappings(spec, io);
  for (const m of mappings) {
    const t = Object.hasOwn(tensors, m.tl) ? tensors[m.tl] : undefined;
    if (t === undefined) {
      if (m.relation !== 'zero') problems.push({ field: m.tl, message: `missing from ${file}` });
      continue;
    }
    if (!(t.data instanceof Float32Array)) {
      problems.push({ field: m.tl, message: `must be float32 (F32) in ${file}` });
      continue;
    }
    if (t.shape.join() !== m.shape.join()) {
      problems.push({
        field: m.tl,
        message: `has shape [${t.shape.join(', ')}] in ${file}; the config gives [${m.shape.join(', ')}]`,
      });
      continue;
    }
    if (m.relation === 'zero') {
      const { value, index } = largestMagnitude(t.data);
      if (index >= 0) {
        const what = WHAT_IS_MISSING[m.tl.slice(m.tl.lastIndexOf('.') + 1)];
        problems.push({
          field: m.tl,
          message: `groklab's transformer has no ${what}, so it must be all zeros; in ${file} element ${index} is ${value}`,
        });
      }
      continue;
    }
    const data = m.relation === 'heads' ? joinHeads(t.data, spec.d_model, spec.heads) : t.data.slice();
    params.set(m.groklab as string, { shape: m.groklabShape, data });
  }
  const expected = new Set(mappings.map((m) => m.tl));
  const unexpected = Object.keys(tensors).filter((name) => !expected.has(name));
  for (const name of unexpected) {
    problems.push({
      field: name,
      message: `in ${file} but not part of this architecture (n_layers ${spec.layers}, normalization_type ${spec.layernorm === 'pre' ? '"LN"' : 'null'}); expected: ${[...expected].join(', ')}`,
    });
  }
  if (problems.length > 0) throw new UsageError(problems);
  return params;
}
