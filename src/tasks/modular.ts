import { type BinarySequence, DEFAULT_SEQUENCE, tabulateBinaryOp } from './binary.ts';
import type { TaskData } from './types.ts';

/** The binary operations of Power et al. (2022), all taken mod p. */
export const MODULAR_OPS = [
  'add',
  'sub',
  'mul',
  'div',
  'div_odd',
  'x2y2',
  'x2xyy2',
  'x2xyy2x',
  'x3xy',
  'x3xy2y',
] as const;
export type ModularOp = (typeof MODULAR_OPS)[number];

/** Formula of each op, for descriptions and help text. */
export const MODULAR_FORMULAS: Record<ModularOp, string> = {
  add: 'x+y',
  sub: 'x−y',
  mul: 'x·y',
  div: 'x/y',
  div_odd: '(x/y if y odd else x−y)',
  x2y2: 'x²+y²',
  x2xyy2: 'x²+xy+y²',
  x2xyy2x: 'x²+xy+y²+x',
  x3xy: 'x³+xy',
  x3xy2y: 'x³+xy²+y',
};

/** Ops that divide, so they need every nonzero y to be invertible: p prime. */
export const PRIME_ONLY_OPS: readonly ModularOp[] = ['div', 'div_odd'];

export function isPrime(n: number): boolean {
  if (!Number.isInteger(n) || n < 2) return false;
  for (let d = 2; d * d <= n; d++) if (n % d === 0) return false;
  return true;
}

/** Inverse of a mod m by the extended Euclidean algorithm; throws if gcd(a, m) ≠ 1. */
export function modInverse(a: number, m: number): number {
  let [r0, r1] = [mod(a, m), m];
  let [s0, s1] = [1, 0];
  while (r1 !== 0) {
    const q = Math.floor(r0 / r1);
    [r0, r1] = [r1, r0 - q * r1];
    [s0, s1] = [s1, s0 - q * s1];
  }
  if (r0 !== 1) throw new RangeError(`${a} has no inverse mod ${m}`);
  return mod(s0, m);
}

function mod(a: number, m: number): number {
  return ((a % m) + m) % m;
}

/** How the pairs of a modular task are chosen and written. */
export interface ModularOptions {
  /** Tokens of each example (binary.ts); [x, y, =] by default. */
  sequence?: BinarySequence;
  /** Leave out y = 0 (Grokfast's x·y mod p: x in 0..p−1, y in 1..p−1). */
  nonzeroY?: boolean;
}

/**
 * All pairs (x, y) in Z_p × Z_p with label op(x, y) mod p; div leaves out y = 0, so it has p(p−1)
 * examples and every other op p², unless `nonzeroY` leaves y = 0 out of every op (p(p−1)). The caller
 * checks p (prime for div ops); see taskProblems.
 */
export function buildModular(op: ModularOp, p: number, options: ModularOptions = {}): TaskData {
  // p ≤ 2000 keeps x³ + x·y² below 2^53, but reducing each term keeps us exact regardless.
  const sq = (v: number) => (v * v) % p;
  const inv = PRIME_ONLY_OPS.includes(op) ? inverseTable(p) : null;
  const f: Record<ModularOp, (x: number, y: number) => number> = {
    add: (x, y) => (x + y) % p,
    sub: (x, y) => mod(x - y, p),
    mul: (x, y) => (x * y) % p,
    div: (x, y) => (y === 0 ? -1 : (x * inv![y]) % p),
    // y = 0 is even, so every pair is valid.
    div_odd: (x, y) => (y % 2 === 1 ? (x * inv![y]) % p : mod(x - y, p)),
    x2y2: (x, y) => (sq(x) + sq(y)) % p,
    x2xyy2: (x, y) => (sq(x) + ((x * y) % p) + sq(y)) % p,
    x2xyy2x: (x, y) => (sq(x) + ((x * y) % p) + sq(y) + x) % p,
    x3xy: (x, y) => (((sq(x) * x) % p) + ((x * y) % p)) % p,
    x3xy2y: (x, y) => (((sq(x) * x) % p) + ((x * sq(y)) % p) + y) % p,
  };
  const label = f[op];
  const description = `${MODULAR_FORMULAS[op]} mod ${p}${options.nonzeroY ? ', y ≠ 0' : ''}`;
  return tabulateBinaryOp(
    description,
    p,
    options.nonzeroY ? (x, y) => (y === 0 ? -1 : label(x, y)) : label,
    options.sequence ?? DEFAULT_SEQUENCE,
  );
}

function inverseTable(p: number): Int32Array {
  const inv = new Int32Array(p);
  for (let y = 1; y < p; y++) inv[y] = modInverse(y, p);
  return inv;
}
