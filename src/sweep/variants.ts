/**
 * Named variants of a sweep: each is a set of overrides of the base config (keys and aliases as in
 * `set:`), and together they form an axis named `variant` whose values are the names, placed first
 * (slowest) in the grid. Comparing configurations that differ in several fields at once (a gradient
 * filter and its weight decay, say) is then one axis with readable values rather than a product.
 *
 *   variants:
 *     baseline: {}
 *     grokfast-ma: { train.grad_filter: {kind: ma, window: 100, lamb: 5}, wd: 0.01 }
 */
import { applyOverrides } from '../config/overrides.ts';
import { UsageError } from '../util/errors.ts';
import { normalizeKey, unknownKeyProblem } from './config-keys.ts';

/** The key of the variant axis in a manifest's axes and cells. */
export const VARIANT_AXIS = 'variant';
/** Letters, digits and . _ + -, starting with a letter or digit: names that read well in tables and file names. */
const VARIANT_NAME = /^[A-Za-z0-9][A-Za-z0-9._+-]{0,63}$/;
const MAX_VARIANTS = 1000;

export interface VariantOverride {
  /** Full config key (`train.weight_decay`). */
  key: string;
  /** Where it was written, for messages (`variants.grokfast-ma.wd`). */
  field: string;
  value: unknown;
}

export interface SweepVariant {
  name: string;
  overrides: VariantOverride[];
}

/** Whether two dotted keys name the same field or one lies inside the other (`train` and `train.lr`). */
export function keysOverlap(a: string, b: string): boolean {
  return a === b || a.startsWith(`${b}.`) || b.startsWith(`${a}.`);
}

function isMapping(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Parses `variants:` against the base config (with `set` applied). Every key is checked against the
 * config schema; a key may not also be fixed by `set`. Problems go to `fail`; returns the variants
 * that parsed (null when the mapping itself is malformed).
 */
export function parseVariants(
  raw: unknown,
  baseConfig: Record<string, unknown>,
  fixed: ReadonlyArray<{ key: string; field: string }>,
  fail: (field: string, message: string) => void,
): SweepVariant[] | null {
  if (!isMapping(raw)) {
    fail(
      'variants',
      'must be a mapping from variant names to overrides, e.g. {baseline: {}, decay: {wd: 1}}',
    );
    return null;
  }
  const names = Object.keys(raw);
  if (names.length === 0) {
    fail('variants', 'needs at least one variant (a name with its overrides, {} for the base as is)');
    return null;
  }
  if (names.length > MAX_VARIANTS) {
    fail('variants', `at most ${MAX_VARIANTS} variants (got ${names.length})`);
    return null;
  }
  const variants: SweepVariant[] = [];
  for (const name of names) {
    const at = `variants.${name}`;
    if (!VARIANT_NAME.test(name)) {
      fail(
        at,
        'a variant name is 1–64 letters, digits, ".", "_", "+" or "-", starting with a letter or digit',
      );
      continue;
    }
    const body = raw[name];
    // `baseline:` with nothing after it is YAML's null: the base as is, like `baseline: {}`.
    if (body !== null && !isMapping(body)) {
      fail(at, 'must be a mapping of config keys to values ({} for the base config as is)');
      continue;
    }
    const written = Object.entries(body ?? {}).map(([k, value]) => ({
      key: normalizeKey(k),
      field: `${at}.${k}`,
      value,
    }));
    const overrides: VariantOverride[] = [];
    for (const [i, o] of written.entries()) {
      const clash = written.slice(0, i).find((p) => keysOverlap(p.key, o.key));
      if (clash) {
        fail(
          o.field,
          clash.key === o.key
            ? `${o.key} is already set by ${clash.field} (keys and their aliases name the same field)`
            : `overlaps ${clash.field} (${clash.key} and ${o.key}); give one of them`,
        );
        continue;
      }
      const inSet = fixed.find((s) => keysOverlap(s.key, o.key));
      if (inSet) {
        fail(
          o.field,
          `${o.key} is also fixed by ${inSet.field}; a key is set in one place (set:, an axis or the variants)`,
        );
        continue;
      }
      // Checked with the variant's other overrides applied, so a variant may change a section's
      // kind and a field only that kind has.
      const others = written.filter((p) => p !== o).map((p) => ({ key: p.key, value: p.value }));
      let probeBase = baseConfig;
      try {
        probeBase = applyOverrides(baseConfig, others);
      } catch (err) {
        if (!(err instanceof UsageError)) throw err;
      }
      const problem = unknownKeyProblem(probeBase, o.key, o.value);
      if (problem) fail(o.field, problem);
      else overrides.push(o);
    }
    variants.push({ name, overrides });
  }
  return variants;
}

/** The variants as the manifest keeps them: name → full key → value. */
export function variantsRecord(variants: readonly SweepVariant[]): Record<string, Record<string, unknown>> {
  return Object.fromEntries(
    variants.map((v) => [v.name, Object.fromEntries(v.overrides.map((o) => [o.key, o.value]))]),
  );
}
