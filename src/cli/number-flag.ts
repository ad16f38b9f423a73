import type { FieldProblem } from '../util/errors.ts';

/**
 * A numeric flag's value: undefined when the flag is absent, or when it is not a finite number,
 * in which case a problem naming the flag is added to `problems` (commands report them all at once).
 */
export function numberFlag(
  problems: FieldProblem[],
  field: string,
  value: string | undefined,
): number | undefined {
  if (value === undefined) return undefined;
  const x = Number(value);
  if (value.trim() === '' || !Number.isFinite(x)) {
    problems.push({ field, message: `must be a number, got "${value}"` });
    return undefined;
  }
  return x;
}
