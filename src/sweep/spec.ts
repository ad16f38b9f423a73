/**
 * Sweep specs: a base config (preset, inline config or config file), fixed overrides, and the axes
 * to vary. Parsing checks everything a config check would and names the exact field of the spec
 * (`axes.wd.num`, `set.train.lr`, `seeds[2]`); all problems are reported at once.
 *
 *   name: wd-frac            # default: the spec file's name
 *   preset: demo             # or config: {...} or config_file: base.json
 *   set: {steps: 2000}       # fixed overrides (keys and aliases as in --set)
 *   variants:                # optional: named sets of overrides, the first (slowest) axis `variant`
 *     baseline: {}
 *     decay: {wd: 1, lr: 3e-3}
 *   axes:                    # cartesian product, first axis slowest
 *     wd: [0.1, 0.3, 1]
 *     frac: {from: 0.3, to: 0.7, step: 0.1}
 *   seeds: 3                 # seeds 0, 1, 2: the last (fastest) axis
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseDocument } from 'yaml';
import { applyOverrides } from '../config/overrides.ts';
import { PRESETS } from '../config/presets.ts';
import { type FieldProblem, UsageError } from '../util/errors.ts';
import { normalizeKey, unknownKeyProblem } from './config-keys.ts';
import { type AxisValue, validateSweepName } from './manifest.ts';
import { expandAxis } from './ranges.ts';
import { keysOverlap, parseVariants, type SweepVariant, VARIANT_AXIS, variantsRecord } from './variants.ts';

export const SPEC_KEYS = [
  'name',
  'description',
  'preset',
  'config',
  'config_file',
  'set',
  'variants',
  'axes',
  'seeds',
] as const;
const SEED_MAX = 4294967295;

/** A spec as written (YAML or JSON), before validation. */
export interface SweepSpecInput {
  name?: string;
  description?: string;
  preset?: string;
  config?: Record<string, unknown>;
  config_file?: string;
  set?: Record<string, unknown>;
  /** Named sets of overrides (keys as in `set`); `{}` or null for the base as is. */
  variants?: Record<string, Record<string, unknown> | null>;
  axes?: Record<string, unknown>;
  seeds?: number | number[] | Record<string, unknown>;
}

export interface SweepAxis {
  /** Full config key (`train.weight_decay`); `seed` for the seeds, `variant` for the variants. */
  key: string;
  /** Where it was written in the spec, for messages (`axes.wd`, `seeds`). */
  field: string;
  values: AxisValue[];
}

export type SweepBase = { preset: string } | { config_file: string } | { config: 'inline' };

export interface SweepSpec {
  name: string;
  description?: string;
  base: SweepBase;
  /** The base config with `set` applied: every cell starts from it. */
  baseConfig: Record<string, unknown>;
  /** Fixed overrides by full key, with the key as written. */
  set: Array<{ key: string; field: string; value: unknown }>;
  /** Axes in spec order: the variant axis first (when there are variants), the seed axis last. */
  axes: SweepAxis[];
  /** The variants by name, in spec order (empty without `variants:`); their names are the variant axis. */
  variants: SweepVariant[];
  /** The spec normalised (full keys, defaults filled in), kept in the manifest. */
  record: Record<string, unknown>;
}

export interface SpecContext {
  /** Name when the spec has none (the spec file's base name). */
  defaultName?: string;
  /** Folder that `config_file` is relative to. */
  baseDir: string;
}

/** Reads a YAML or JSON spec file (JSON is YAML); problems are reported against `spec`. */
export function readSweepSpecFile(file: string): { raw: unknown; context: SpecContext } {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new UsageError({ field: 'spec', message: `cannot read ${file}: ${(err as Error).message}` });
  }
  const doc = parseDocument(text, { prettyErrors: false });
  if (doc.errors.length > 0) {
    throw new UsageError(
      doc.errors.map((e) => ({
        field: 'spec',
        message: `${file}${e.linePos ? `:${e.linePos[0].line}:${e.linePos[0].col}` : ''}: ${e.message.split('\n')[0]}`,
      })),
    );
  }
  return {
    raw: doc.toJS(),
    context: {
      defaultName: path.basename(file).replace(/\.[^.]*$/, ''),
      baseDir: path.dirname(path.resolve(file)),
    },
  };
}

/** Validates a spec object; throws one UsageError with every problem found. */
export function parseSweepSpec(raw: unknown, context: SpecContext): SweepSpec {
  const problems: FieldProblem[] = [];
  const fail = (field: string, message: string) => problems.push({ field, message });
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new UsageError({
      field: 'spec',
      message: 'must be a mapping with a base (preset, config or config_file) and axes',
    });
  }
  const spec = raw as Record<string, unknown>;
  for (const key of Object.keys(spec)) {
    if (!(SPEC_KEYS as readonly string[]).includes(key))
      fail(key, `unknown sweep spec key; allowed: ${SPEC_KEYS.join(', ')}`);
  }

  // name
  let name = '';
  const rawName = spec.name ?? context.defaultName;
  if (typeof rawName !== 'string' || rawName === '')
    fail('name', 'required (a string): the sweep name prefixes its run ids');
  else {
    try {
      name = validateSweepName(rawName);
    } catch (err) {
      if (!(err instanceof UsageError)) throw err;
      problems.push(...err.problems);
    }
  }
  if (spec.description !== undefined && typeof spec.description !== 'string')
    fail('description', 'must be a string');

  // base config
  const loaded = loadBase(spec, context, fail);
  if (!loaded) throw new UsageError(problems);
  const { base } = loaded;
  // A run's config.json makes a fine base, but its history is its own: the sweep's runs get
  // their own lineage and the current version.
  const { lineage: _lineage, groklab_version: _version, ...rawBase } = loaded.config;

  // set: fixed overrides
  const set: SweepSpec['set'] = [];
  let baseConfig = rawBase;
  if (spec.set !== undefined) {
    if (!isMapping(spec.set))
      fail('set', 'must be a mapping of config keys to values, e.g. {steps: 2000, wd: 0.3}');
    else {
      for (const [written, value] of Object.entries(spec.set)) {
        const key = normalizeKey(written);
        const field = `set.${written}`;
        if (set.some((s) => s.key === key))
          fail(field, `${key} is already set (keys and their aliases name the same field)`);
        const problem = unknownKeyProblem(rawBase, key, value);
        if (problem) fail(field, problem);
        else set.push({ key, field, value });
      }
      try {
        baseConfig = applyOverrides(rawBase, set);
      } catch (err) {
        if (!(err instanceof UsageError)) throw err;
        for (const p of err.problems) fail(set.find((s) => s.key === p.field)?.field ?? 'set', p.message);
      }
    }
  }

  // variants: the first axis
  const variants =
    spec.variants === undefined ? [] : (parseVariants(spec.variants, baseConfig, set, fail) ?? []);
  const variantKeys = variants.flatMap((v) => v.overrides.map((o) => ({ ...o, variant: v.name })));

  // axes
  const axes: SweepAxis[] =
    variants.length > 0
      ? [{ key: VARIANT_AXIS, field: 'variants', values: variants.map((v) => v.name) }]
      : [];
  const axesRecord: Record<string, unknown> = {};
  if (spec.axes !== undefined && !isMapping(spec.axes)) {
    fail(
      'axes',
      'must be a mapping from config keys to values or ranges, e.g. {wd: [0.1, 1], frac: {from: 0.3, to: 0.7, step: 0.1}}',
    );
  } else if (spec.axes !== undefined) {
    for (const [written, form] of Object.entries(spec.axes)) {
      const key = normalizeKey(written);
      const field = `axes.${written}`;
      if (key === VARIANT_AXIS) {
        fail(field, 'the variant axis is given by variants: {name: {key: value, ...}, ...}');
        continue;
      }
      const duplicate = axes.find((a) => a.key === key);
      if (duplicate) {
        fail(
          field,
          `${key} is already an axis (${duplicate.field}); keys and their aliases name the same field`,
        );
        continue;
      }
      const fixed = set.find((s) => s.key === key);
      if (fixed) {
        fail(field, `${key} is also fixed by ${fixed.field}; give it in one place`);
        continue;
      }
      const inVariants = variantKeys.filter((o) => keysOverlap(o.key, key));
      if (inVariants.length > 0) {
        fail(
          field,
          `${key} is also set by variant${inVariants.length > 1 ? 's' : ''} ${[...new Set(inVariants.map((o) => o.variant))].join(', ')} (${inVariants[0].field}); a key is set in one place (set:, an axis or the variants)`,
        );
        continue;
      }
      if (key === 'seed' && spec.seeds !== undefined) {
        fail(field, 'the seed axis is given by seeds:; remove one of them');
        continue;
      }
      const expanded = expandAxis(field, form);
      if (expanded.values === null) {
        problems.push(...expanded.problems);
        continue;
      }
      const problem = unknownKeyProblem(baseConfig, key, expanded.values[0]);
      if (problem) {
        fail(field, problem);
        continue;
      }
      axes.push({ key, field, values: expanded.values });
      axesRecord[key] = form;
    }
  }

  // seeds: the last axis
  if (spec.seeds !== undefined) {
    const seeds = parseSeeds(spec.seeds, problems);
    if (seeds) axes.push({ key: 'seed', field: 'seeds', values: seeds });
  }
  if (axes.length === 0 && problems.length === 0)
    fail('axes', 'a sweep needs at least one axis (axes: {...}), variants or seeds');
  if (problems.length > 0) throw new UsageError(problems);

  const record: Record<string, unknown> = {
    name,
    ...(typeof spec.description === 'string' ? { description: spec.description } : {}),
    base,
    set: Object.fromEntries(set.map((s) => [s.key, s.value])),
    ...(variants.length > 0 ? { variants: variantsRecord(variants) } : {}),
    axes: axesRecord,
    ...(spec.seeds !== undefined ? { seeds: spec.seeds } : {}),
    base_config: baseConfig,
  };
  return {
    name,
    description: typeof spec.description === 'string' ? spec.description : undefined,
    base,
    baseConfig,
    set,
    axes,
    variants,
    record,
  };
}

function isMapping(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function loadBase(
  spec: Record<string, unknown>,
  context: SpecContext,
  fail: (field: string, message: string) => void,
): { base: SweepBase; config: Record<string, unknown> } | null {
  const given = (['preset', 'config', 'config_file'] as const).filter((k) => spec[k] !== undefined);
  if (given.length !== 1) {
    fail(
      given.length === 0 ? 'preset' : given[1],
      given.length === 0
        ? `the spec needs a base: preset (one of ${Object.keys(PRESETS).join(', ')}), config or config_file`
        : `give one base, not ${given.join(' and ')}`,
    );
    return null;
  }
  if (spec.preset !== undefined) {
    const names = Object.keys(PRESETS).join(', ');
    if (typeof spec.preset !== 'string' || !PRESETS[spec.preset]) {
      fail('preset', `unknown preset ${JSON.stringify(spec.preset)}; one of ${names}`);
      return null;
    }
    return {
      base: { preset: spec.preset },
      config: { preset: spec.preset, ...structuredClone(PRESETS[spec.preset].config) } as Record<
        string,
        unknown
      >,
    };
  }
  if (spec.config !== undefined) {
    if (!isMapping(spec.config)) {
      fail('config', 'must be a full run config (a mapping with seed, task, model, train, eval)');
      return null;
    }
    return { base: { config: 'inline' }, config: structuredClone(spec.config) };
  }
  if (typeof spec.config_file !== 'string' || spec.config_file === '') {
    fail('config_file', 'must be a path to a JSON or YAML run config');
    return null;
  }
  const file = path.resolve(context.baseDir, spec.config_file);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    fail('config_file', `cannot read ${file}: ${(err as Error).message}`);
    return null;
  }
  const doc = parseDocument(text, { prettyErrors: false });
  const config: unknown = doc.errors.length === 0 ? doc.toJS() : null;
  if (!isMapping(config)) {
    fail(
      'config_file',
      `${file} is not a run config (${doc.errors[0]?.message.split('\n')[0] ?? 'not a mapping'})`,
    );
    return null;
  }
  return { base: { config_file: file }, config };
}

/** `seeds: 3` → 0, 1, 2; or a list, or a range; integers in [0, 4294967295]. */
function parseSeeds(raw: unknown, problems: FieldProblem[]): number[] | null {
  if (typeof raw === 'number') {
    if (!Number.isInteger(raw) || raw < 1 || raw > 10_000) {
      problems.push({
        field: 'seeds',
        message: 'a count must be an integer in [1, 10000] (seeds: 3 means 0, 1, 2)',
      });
      return null;
    }
    return Array.from({ length: raw }, (_, i) => i);
  }
  const expanded = expandAxis('seeds', raw);
  if (expanded.values === null) {
    problems.push(...expanded.problems);
    return null;
  }
  const before = problems.length;
  expanded.values.forEach((v, i) => {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > SEED_MAX)
      problems.push({
        field: `seeds[${i}]`,
        message: `must be an integer in [0, ${SEED_MAX}] (got ${JSON.stringify(v)})`,
      });
  });
  return problems.length > before ? null : (expanded.values as number[]);
}
