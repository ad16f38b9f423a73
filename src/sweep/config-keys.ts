/** Checks that a dotted key names a config field, with the allowed keys and a suggestion when not. */
import { applyOverrides, KEY_ALIASES } from '../config/overrides.ts';
import { parseRunConfig } from '../config/schema.ts';
import { UsageError } from '../util/errors.ts';

/** Keys a sweep may neither vary nor fix: they are filled in by groklab or only informational. */
export const NOT_SWEEPABLE = ['preset', 'groklab_version', 'lineage'];

/** `wd` → `train.weight_decay`; full keys pass through. */
export function normalizeKey(key: string): string {
  return KEY_ALIASES[key] ?? key;
}

/** The short alias of a full key, if there is one (for column headers). */
export function shortKey(key: string): string {
  return Object.entries(KEY_ALIASES).find(([, full]) => full === key)?.[0] ?? key;
}

/**
 * Why `key` is not a config field of `base` (null when it is). The schema is the authority: the
 * key is set to `sample` in a copy of `base` and validated, and an "unknown key" problem at exactly
 * that key (with the allowed keys of its section) is the answer, so the check follows the schema
 * for the task and model kinds of the base.
 */
export function unknownKeyProblem(
  base: Record<string, unknown>,
  key: string,
  sample: unknown,
): string | null {
  if (NOT_SWEEPABLE.includes(key.split('.')[0]))
    return `${key} is filled in by groklab and cannot be set here`;
  let probe: Record<string, unknown>;
  try {
    probe = applyOverrides(base, [{ key, value: sample }]);
  } catch (err) {
    if (err instanceof UsageError) return `unknown config key: ${err.problems[0].message}`;
    throw err;
  }
  try {
    parseRunConfig(probe);
    return null;
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    const hit = err.problems.find((p) => p.field === key && p.message.startsWith('unknown key'));
    if (!hit) return null;
    const allowed = (hit.message.split('allowed: ')[1] ?? '')
      .split(', ')
      .filter((k) => k !== '' && !NOT_SWEEPABLE.includes(k));
    const section = key.includes('.') ? key.slice(0, key.lastIndexOf('.')) : '';
    const candidates = [
      ...allowed.map((k) => (section ? `${section}.${k}` : k)),
      ...leafKeys(base),
      ...Object.keys(KEY_ALIASES),
    ];
    const guess = closest(key, candidates);
    const where = section ? ` in ${section}` : '';
    return `unknown config key; allowed${where}: ${allowed.join(', ')}${guess ? ` (did you mean ${guess}?)` : ''}`;
  }
}

/** Dotted paths of every non-object value in a config. */
export function leafKeys(obj: Record<string, unknown>, prefix = ''): string[] {
  return Object.entries(obj).flatMap(([k, v]) =>
    typeof v === 'object' && v !== null && !Array.isArray(v)
      ? leafKeys(v as Record<string, unknown>, `${prefix}${k}.`)
      : [`${prefix}${k}`],
  );
}

/** The candidate nearest to `word` by edit distance, if it is near enough to be a likely typo. */
export function closest(word: string, candidates: readonly string[]): string | null {
  let best: string | null = null;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const c of new Set(candidates)) {
    if (c === word) continue;
    const d = editDistance(word, c);
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  return best !== null && bestDistance <= Math.max(2, Math.floor(word.length / 4)) ? best : null;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(previous[j] + 1, row[j - 1] + 1, previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = row;
  }
  return previous[b.length];
}
