/**
 * groklab's transformer spec ⇄ TransformerLens's HookedTransformerConfig (as JSON). Only configs
 * whose forward pass groklab computes exactly are accepted; every other option is a UsageError
 * naming the config key and the values allowed.
 */
import type { ModelIO, ModelSpec, TransformerSpec } from '../models/index.ts';
import { type FieldProblem, UsageError } from '../util/errors.ts';

/** LayerNorm epsilon of groklab's engine (layerNorm's default) and of TransformerLens. */
export const LAYER_NORM_EPS = 1e-5;

/** groklab's 'gelu' is the tanh approximation (src/engine/ops/elementwise.ts): TransformerLens's gelu_new. */
const ACT_FN_OF = { relu: 'relu', gelu: 'gelu_new' } as const;
type TlActFn = (typeof ACT_FN_OF)[keyof typeof ACT_FN_OF];

/** The HookedTransformerConfig fields an export writes; TransformerLens defaults the rest. */
export interface HookedTransformerConfigJson {
  model_name: string;
  n_layers: number;
  d_model: number;
  n_ctx: number;
  d_head: number;
  n_heads: number;
  d_mlp: number;
  d_vocab: number;
  d_vocab_out: number;
  act_fn: TlActFn;
  /** null: no LayerNorm; 'LN': LayerNorm with weight and bias before attention, MLP and unembedding. */
  normalization_type: 'LN' | null;
  eps: number;
  attn_only: false;
  positional_embedding_type: 'standard';
  attention_dir: 'causal';
  use_attn_scale: true;
  final_rms: false;
  parallel_attn_mlp: false;
  gated_mlp: false;
  /** groklab's sequences have no BOS token. */
  default_prepend_bos: false;
}

/** The spec, when TransformerLens has an equivalent of it; UsageError naming each field that has none. */
export function exportableSpec(spec: ModelSpec): TransformerSpec {
  if (spec.kind !== 'transformer') {
    throw new UsageError({
      field: 'model.kind',
      message: `TransformerLens loads transformers only; this run is an ${spec.kind} (allowed: transformer)`,
    });
  }
  const problems: FieldProblem[] = [];
  if (spec.layernorm === 'post') {
    problems.push({
      field: 'model.layernorm',
      message:
        'post has no TransformerLens equivalent (it normalizes before attention and MLP); allowed: none, pre',
    });
  }
  if (spec.layernorm === 'pre_replace') {
    problems.push({
      field: 'model.layernorm',
      message:
        'pre_replace has no TransformerLens equivalent (its normalized stream replaces the residual; TransformerLens adds attention to the unnormalized stream); allowed: none, pre',
    });
  }
  if (spec.activation === 'quadratic') {
    problems.push({
      field: 'model.activation',
      message: 'quadratic has no TransformerLens act_fn; allowed: relu, gelu (exported as gelu_new)',
    });
  }
  if (problems.length > 0) throw new UsageError(problems);
  return spec;
}

/** The config of a groklab transformer (checked by exportableSpec) as TransformerLens sees it. */
export function hookedTransformerConfig(
  spec: TransformerSpec,
  io: ModelIO,
  modelName: string,
): HookedTransformerConfigJson {
  const actFn = spec.activation === 'quadratic' ? null : ACT_FN_OF[spec.activation];
  if (actFn === null || spec.layernorm === 'post' || spec.layernorm === 'pre_replace')
    throw new Error('hookedTransformerConfig: check the spec with exportableSpec first');
  return {
    model_name: modelName,
    n_layers: spec.layers,
    d_model: spec.d_model,
    n_ctx: io.seqLen,
    d_head: spec.d_model / spec.heads,
    n_heads: spec.heads,
    d_mlp: spec.d_mlp,
    d_vocab: io.vocabSize,
    d_vocab_out: io.numClasses,
    act_fn: actFn,
    normalization_type: spec.layernorm === 'pre' ? 'LN' : null,
    eps: LAYER_NORM_EPS,
    attn_only: false,
    positional_embedding_type: 'standard',
    attention_dir: 'causal',
    use_attn_scale: true,
    final_rms: false,
    parallel_attn_mlp: false,
    gated_mlp: false,
    default_prepend_bos: false,
  };
}

/**
 * Options that change TransformerLens's forward pass, with the values under which it computes what
 * groklab computes (TransformerLens's defaults). Keys absent from a config take the default.
 */
const MUST_MATCH: ReadonlyArray<{ key: string; allowed: readonly unknown[] }> = [
  { key: 'attn_only', allowed: [false] },
  { key: 'positional_embedding_type', allowed: ['standard'] },
  { key: 'attention_dir', allowed: ['causal'] },
  { key: 'use_attn_scale', allowed: [true] },
  { key: 'eps', allowed: [LAYER_NORM_EPS] },
  { key: 'final_rms', allowed: [false] },
  { key: 'parallel_attn_mlp', allowed: [false] },
  { key: 'gated_mlp', allowed: [false] },
  { key: 'use_local_attn', allowed: [false] },
  { key: 'scale_attn_by_inverse_layer_idx', allowed: [false] },
  { key: 'n_key_value_heads', allowed: [null] },
  { key: 'num_experts', allowed: [null] },
  { key: 'use_normalization_before_and_after', allowed: [false] },
  { key: 'use_qk_norm', allowed: [false] },
  { key: 'post_embedding_ln', allowed: [false] },
  { key: 'attn_scores_soft_cap', allowed: [-1] },
  { key: 'output_logits_soft_cap', allowed: [-1] },
  { key: 'load_in_4bit', allowed: [false] },
  { key: 'dtype', allowed: ['float32', 'torch.float32'] },
];

/** Keys read by parseHookedTransformerConfig itself. */
const MODEL_KEYS = [
  'n_layers',
  'd_model',
  'n_ctx',
  'd_head',
  'n_heads',
  'd_mlp',
  'd_vocab',
  'd_vocab_out',
  'act_fn',
  'normalization_type',
  'attn_scale',
];

/** Keys that leave the forward pass alone (bookkeeping, hooks, initialization, devices), or only matter with an option rejected above. */
const IGNORED_KEYS = new Set([
  'model_name',
  'original_architecture',
  'tokenizer_name',
  'tokenizer_prepends_bos',
  'default_prepend_bos',
  'default_padding_side',
  'from_checkpoint',
  'checkpoint_index',
  'checkpoint_label_type',
  'checkpoint_value',
  'device',
  'n_devices',
  'seed',
  'init_mode',
  'init_weights',
  'initializer_range',
  'n_params',
  'use_attn_result',
  'use_split_qkv_input',
  'use_hook_mlp_in',
  'use_attn_in',
  'use_hook_tokens',
  'window_size',
  'attn_types',
  'rotary_dim',
  'rotary_base',
  'rotary_adjacent_pairs',
  'use_NTK_by_parts_rope',
  'NTK_by_parts_factor',
  'NTK_by_parts_low_freq_factor',
  'NTK_by_parts_high_freq_factor',
  'NTK_original_ctx_len',
  'experts_per_token',
  'relative_attention_max_distance',
  'relative_attention_num_buckets',
  'decoder_start_token_id',
  'tie_word_embeddings',
  'trust_remote_code',
  'ungroup_grouped_query_attention',
]);

export interface ImportedModel {
  spec: TransformerSpec;
  /** The sizes the task must have: d_vocab, n_ctx and d_vocab_out. */
  io: ModelIO;
  /** Keys this version does not know and ignored. */
  notes: string[];
}

const show = (value: unknown) => (value === undefined ? 'absent' : JSON.stringify(value));

/**
 * A HookedTransformerConfig (JSON object) as a groklab transformer spec, with TransformerLens's own
 * defaults for absent keys (normalization_type 'LN', d_mlp 4·d_model, n_heads d_model/d_head,
 * d_vocab_out d_vocab). Every problem is reported at once, named by its key.
 */
export function parseHookedTransformerConfig(raw: unknown): ImportedModel {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new UsageError({
      field: '--config',
      message: 'must hold a JSON object (a HookedTransformerConfig)',
    });
  }
  const config = raw as Record<string, unknown>;
  const problems: FieldProblem[] = [];
  const int = (key: string, min: number, max: number): number => {
    const value = config[key];
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      problems.push({
        field: key,
        message: `must be an integer in [${min}, ${max}], got ${show(config[key])}`,
      });
      return min;
    }
    return value;
  };

  const dModel = int('d_model', 1, 4096);
  const dHead = int('d_head', 1, 4096);
  const defaulted = (key: string) => config[key] === undefined || config[key] === null || config[key] === -1;
  const nHeads = defaulted('n_heads') ? Math.floor(dModel / dHead) : int('n_heads', 1, 4096);
  if (nHeads * dHead !== dModel) {
    problems.push({
      field: 'n_heads',
      message: `n_heads × d_head must equal d_model (${dModel}); got ${nHeads} × ${dHead}`,
    });
  }
  const layers = int('n_layers', 1, 12);
  const dMlp = defaulted('d_mlp') ? 4 * dModel : int('d_mlp', 1, 16384);
  const vocabSize = int('d_vocab', 1, 1_000_000);
  const numClasses = defaulted('d_vocab_out') ? vocabSize : int('d_vocab_out', 1, 1_000_000);
  const seqLen = int('n_ctx', 1, 1_000_000);

  const actFn = config.act_fn;
  const activation = actFn === 'relu' ? 'relu' : actFn === 'gelu_new' ? 'gelu' : null;
  if (activation === null) {
    const why =
      actFn === 'gelu'
        ? ' (the exact erf GELU; groklab has the tanh approximation, which is gelu_new)'
        : actFn === 'gelu_fast'
          ? ' (groklab computes the tanh approximation as gelu_new does)'
          : '';
    problems.push({
      field: 'act_fn',
      message: `${show(actFn)} has no groklab equivalent${why}; allowed: relu, gelu_new`,
    });
  }

  const norm = Object.hasOwn(config, 'normalization_type') ? config.normalization_type : 'LN';
  if (norm !== null && norm !== 'LN') {
    problems.push({
      field: 'normalization_type',
      message: `${show(norm)} has no groklab equivalent; allowed: null (no LayerNorm), "LN" (LayerNorm with weights, before attention and MLP)`,
    });
  }
  if (
    Object.hasOwn(config, 'attn_scale') &&
    config.attn_scale !== -1 &&
    config.attn_scale !== Math.sqrt(dHead)
  ) {
    problems.push({
      field: 'attn_scale',
      message: `groklab divides attention scores by √d_head; allowed: -1 (the default) or ${Math.sqrt(dHead)}, got ${show(config.attn_scale)}`,
    });
  }
  for (const { key, allowed } of MUST_MATCH) {
    if (Object.hasOwn(config, key) && !allowed.includes(config[key])) {
      problems.push({
        field: key,
        message: `${show(config[key])} has no groklab equivalent; allowed: ${allowed.map(show).join(', ')}`,
      });
    }
  }
  if (problems.length > 0) throw new UsageError(problems);

  const known = new Set([...MODEL_KEYS, ...MUST_MATCH.map((m) => m.key), ...IGNORED_KEYS]);
  const unknown = Object.keys(config).filter((key) => !known.has(key));
  const notes =
    unknown.length > 0
      ? [
          `ignored config key(s) groklab does not know: ${unknown.join(', ')}; check that they leave the forward pass unchanged`,
        ]
      : [];
  return {
    spec: {
      kind: 'transformer',
      layers,
      d_model: dModel,
      heads: nHeads,
      d_mlp: dMlp,
      activation: activation ?? 'relu',
      layernorm: norm === 'LN' ? 'pre' : 'none',
      init_scale: 1,
    },
    io: { vocabSize, seqLen, numClasses },
    notes,
  };
}
