import { type BinarySequence, DEFAULT_SEQUENCE, tabulateBinaryOp } from './binary.ts';
import type { TaskData } from './types.ts';

/**
 * The dihedral group D_n: symmetries of the regular n-gon, order 2n. Element r^i s^j (rotation r by
 * 2π/n, reflection s, i in [0, n), j in {0, 1}) has id i + n·j. Products compose as functions
 * (apply the right factor first), and s·r = r⁻¹·s gives (r^a s^b)(r^c s^d) = r^(a + (−1)^b c) s^(b+d).
 */
export const DIHEDRAL_OPS = ['compose'] as const;
export type DihedralOp = (typeof DIHEDRAL_OPS)[number];

export function dihedralCompose(n: number, x: number, y: number): number {
  const a = x % n;
  const b = Math.floor(x / n);
  const c = y % n;
  const d = Math.floor(y / n);
  const i = (((b === 0 ? a + c : a - c) % n) + n) % n;
  return i + n * ((b + d) % 2);
}

/** Every pair (x, y) of D_n labelled by x·y, written as `sequence` says; (2n)² examples. */
export function buildDihedral(
  _op: DihedralOp,
  n: number,
  sequence: BinarySequence = DEFAULT_SEQUENCE,
): TaskData {
  return tabulateBinaryOp(`D${n} (order ${2 * n}) x·y`, 2 * n, (x, y) => dihedralCompose(n, x, y), sequence);
}
