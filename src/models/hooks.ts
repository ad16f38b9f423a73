/**
 * Named hook points (as in TransformerLens): a model's forward pass with options passes every
 * intermediate activation through a site by name, where it can be cached or replaced (patching,
 * ablation, frozen masks). Without options the model takes its fused fast path, which has no sites.
 */
import type { Tensor } from '../engine/tensor.ts';

/** One named activation of a model. */
export interface HookPoint {
  name: string;
  /** Per example: the activation is [batch, ...shape]. */
  shape: readonly number[];
  /** The first axis of `shape` is the sequence position (the answer is read at the last one). */
  perPosition: boolean;
}

/** What a hook is told besides the activation. */
export interface HookContext {
  site: string;
  /** The forward pass's tokens, batch × seqLen. */
  tokens: Int32Array;
  batch: number;
}

/**
 * Returns the activation to go on with: `x` itself to only look, or a tensor of the same shape and
 * dtype (built from x with the engine's ops, it keeps the pass differentiable).
 */
export type Hook = (x: Tensor, context: HookContext) => Tensor;

export interface ForwardOptions {
  /** Filled with each cached site's activation (after its hook), by name. */
  cache?: Map<string, Tensor>;
  /** The sites to cache; every site when absent. */
  cacheSites?: readonly string[];
  /** Hooks by site name. */
  hooks?: Readonly<Record<string, Hook>>;
}

/** True when the options ask for anything: only then does a model leave its fast path. */
export function isHooked(options: ForwardOptions | undefined): options is ForwardOptions {
  return (
    options !== undefined &&
    (options.cache !== undefined || options.cacheSites !== undefined || options.hooks !== undefined)
  );
}

/**
 * The sites of one hooked forward pass: checks the names asked for against the model's hook points
 * (an unknown name is an error, not silently ignored), then runs each site's hook and caches it.
 */
export class HookedPass {
  private readonly points: ReadonlyMap<string, HookPoint>;
  private readonly hooks: ReadonlyMap<string, Hook>;
  private readonly cached: ReadonlySet<string> | null;

  constructor(
    points: readonly HookPoint[],
    private readonly options: ForwardOptions,
    private readonly tokens: Int32Array,
    private readonly batch: number,
  ) {
    if (options.cacheSites && !options.cache) throw new Error('forward: cacheSites needs a cache to fill');
    this.points = new Map(points.map((p) => [p.name, p]));
    this.hooks = new Map(Object.entries(options.hooks ?? {}));
    for (const name of [...this.hooks.keys(), ...(options.cacheSites ?? [])]) {
      if (!this.points.has(name)) {
        throw new Error(
          `unknown hook point "${name}"; this model has: ${[...this.points.keys()].join(', ')}`,
        );
      }
    }
    this.cached = options.cacheSites ? new Set(options.cacheSites) : null;
  }

  /** The activation at `name` after its hook, cached if asked for. */
  site(name: string, x: Tensor): Tensor {
    const point = this.points.get(name);
    if (!point) throw new Error(`model bug: site ${name} is not among its hook points`);
    const expected = [this.batch, ...point.shape];
    if (x.shape.join() !== expected.join()) {
      throw new Error(`model bug: site ${name} is [${x.shape}], its hook point says [${expected}]`);
    }
    const hook = this.hooks.get(name);
    const out = hook ? hook(x, { site: name, tokens: this.tokens, batch: this.batch }) : x;
    if (out.shape.join() !== x.shape.join() || out.dtype !== x.dtype) {
      throw new Error(
        `hook at ${name} returned ${out.dtype} [${out.shape}]; it must return ${x.dtype} [${x.shape}]`,
      );
    }
    if (this.options.cache && (this.cached === null || this.cached.has(name)))
      this.options.cache.set(name, out);
    return out;
  }
}
