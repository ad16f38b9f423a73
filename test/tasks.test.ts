import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  BINARY_SEQUENCES,
  type BinarySequence,
  buildTask,
  MODULAR_OPS,
  type ModularOp,
  makeSplit,
  parseTaskSpec,
  permutationRank,
  permutations,
  type Split,
  splitFromJson,
  splitToJson,
  type TaskData,
  type TaskSpecInput,
  taskSize,
} from '../src/tasks/index.ts';
import { UsageError } from '../src/util/errors.ts';

/** Asserts fn throws a UsageError with a problem on `field` whose message contains `text`. */
function assertUsage(fn: () => unknown, field: string, text?: string): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof UsageError, `expected UsageError, got ${String(err)}`);
    const hit = err.problems.find((p) => p.field === field);
    assert.ok(hit, `no problem on ${field}: ${err.message}`);
    if (text !== undefined) assert.ok(hit.message.includes(text), `"${hit.message}" lacks "${text}"`);
    return true;
  });
}

function pair(data: TaskData, e: number): [number, number] {
  return [data.inputs[e * data.seqLen], data.inputs[e * data.seqLen + 1]];
}

/** Group table from a binary task: table[x·order + y] = label. */
function table(data: TaskData): Int32Array {
  const order = data.numClasses;
  const t = new Int32Array(order * order).fill(-1);
  for (let e = 0; e < data.numExamples; e++) {
    const [x, y] = pair(data, e);
    t[x * order + y] = data.labels[e];
  }
  return t;
}

function checkSwapped(data: TaskData): void {
  assert.ok(data.swapped);
  assert.equal(data.swapped.length, data.numExamples);
  for (let e = 0; e < data.numExamples; e++) {
    const [x, y] = pair(data, e);
    const s: number = data.swapped[e];
    if (s === -1) continue;
    assert.deepEqual(pair(data, s), [y, x]);
  }
}

/** Independent reference in BigInt, so no intermediate can lose precision. */
function reference(op: ModularOp, xn: number, yn: number, pn: number): number | null {
  const [x, y, p] = [BigInt(xn), BigInt(yn), BigInt(pn)];
  const m = (v: bigint) => Number(((v % p) + p) % p);
  const divide = () => {
    for (let q = 0; q < pn; q++) if (m(BigInt(q) * y - x) === 0) return q;
    return null;
  };
  switch (op) {
    case 'add':
      return m(x + y);
    case 'sub':
      return m(x - y);
    case 'mul':
      return m(x * y);
    case 'div':
      return yn === 0 ? null : divide();
    case 'div_odd':
      return yn % 2 === 1 ? divide() : m(x - y);
    case 'x2y2':
      return m(x * x + y * y);
    case 'x2xyy2':
      return m(x * x + x * y + y * y);
    case 'x2xyy2x':
      return m(x * x + x * y + y * y + x);
    case 'x3xy':
      return m(x * x * x + x * y);
    case 'x3xy2y':
      return m(x * x * x + x * y * y + y);
  }
}

const modular = (op: ModularOp, p: number): Extract<TaskSpecInput, { kind: 'modular' }> => ({
  kind: 'modular',
  op,
  p,
  train_fraction: 0.5,
});

describe('modular arithmetic', () => {
  for (const op of MODULAR_OPS) {
    it(`${op}: labels match an independent computation, every pair present once`, () => {
      const p = 23;
      const data = buildTask(modular(op, p));
      assert.equal(data.vocabSize, p + 1);
      assert.equal(data.seqLen, 3);
      assert.equal(data.numClasses, p);
      assert.equal(data.numExamples, op === 'div' ? p * (p - 1) : p * p);
      assert.equal(data.inputs.length, data.numExamples * 3);
      assert.equal(data.labels.length, data.numExamples);
      const seen = new Set<number>();
      for (let e = 0; e < data.numExamples; e++) {
        const [x, y] = pair(data, e);
        assert.equal(data.inputs[e * 3 + 2], p, "'=' token is p");
        seen.add(x * p + y);
        assert.equal(data.labels[e], reference(op, x, y, p), `${op}(${x}, ${y})`);
      }
      assert.equal(seen.size, data.numExamples);
      checkSwapped(data);
    });
  }

  it('div: label·y ≡ x mod p and y = 0 is excluded', () => {
    const p = 97;
    const data = buildTask(modular('div', p));
    assert.equal(data.numExamples, p * (p - 1));
    for (let e = 0; e < data.numExamples; e++) {
      const [x, y] = pair(data, e);
      assert.notEqual(y, 0);
      assert.equal((data.labels[e] * y) % p, x);
    }
  });

  it('stays exact for the largest p', () => {
    const p = 1999;
    const data = buildTask(modular('x3xy2y', p));
    for (const e of [0, 1, 123_456, data.numExamples - 1]) {
      const [x, y] = pair(data, e);
      assert.equal(data.labels[e], reference('x3xy2y', x, y, p));
    }
  });

  it('swapped: commutative ops agree on swapped pairs; div has -1 exactly where x = 0', () => {
    const add = buildTask(modular('add', 11));
    for (let e = 0; e < add.numExamples; e++) {
      assert.notEqual(add.swapped![e], -1);
      assert.equal(add.labels[add.swapped![e]], add.labels[e]);
    }
    const div = buildTask(modular('div', 11));
    for (let e = 0; e < div.numExamples; e++) {
      assert.equal(div.swapped![e] === -1, pair(div, e)[0] === 0);
    }
  });

  it('rejects a non-prime p for div ops, naming task.p, but accepts it for others', () => {
    assertUsage(() => buildTask(modular('div', 100)), 'task.p', 'prime');
    assertUsage(() => buildTask(modular('div_odd', 9)), 'task.p', 'div_odd');
    assert.equal(buildTask(modular('add', 100)).numExamples, 10_000);
    assert.equal(buildTask(modular('div', 2)).numExamples, 2);
  });

  it('describes the op', () => {
    assert.equal(buildTask(modular('add', 113)).description, 'x+y mod 113');
    assert.equal(buildTask(modular('x2xyy2', 7)).description, 'x²+xy+y² mod 7');
  });
});

describe('permutation groups', () => {
  const spec = (op: 'compose' | 'conjugate' | 'xyx', n: number): TaskSpecInput => ({
    kind: 'permutation',
    op,
    n,
    train_fraction: 0.5,
  });

  it('enumerates S_n in lexicographic order, matching permutationRank', () => {
    const perms = permutations(4);
    assert.equal(perms.length, 24);
    assert.deepEqual(perms[0], [0, 1, 2, 3]);
    assert.deepEqual(perms[1], [0, 1, 3, 2]);
    assert.deepEqual(perms[23], [3, 2, 1, 0]);
    for (let i = 1; i < perms.length; i++) assert.ok(perms[i - 1].join() < perms[i].join());
    perms.forEach((p, i) => {
      assert.equal(permutationRank(p), i);
    });
  });

  for (const n of [2, 3, 4]) {
    it(`S${n} compose: (x·y)(i) = x(y(i)), closure, identity, inverses, associativity`, () => {
      const perms = permutations(n);
      const order = perms.length;
      const data = buildTask(spec('compose', n));
      assert.equal(data.numExamples, order * order);
      assert.equal(data.vocabSize, order + 1);
      assert.equal(data.numClasses, order);
      const t = table(data);
      for (let x = 0; x < order; x++) {
        for (let y = 0; y < order; y++) {
          const z = t[x * order + y];
          assert.ok(z >= 0 && z < order);
          const expected = perms[y].map((yi) => perms[x][yi]);
          assert.deepEqual(perms[z], expected);
        }
        assert.equal(t[x], x, 'identity on the left');
        assert.equal(t[x * order], x, 'identity on the right');
        let inverses = 0;
        for (let y = 0; y < order; y++) if (t[x * order + y] === 0) inverses++;
        assert.equal(inverses, 1);
      }
      for (let a = 0; a < order; a++) {
        for (let b = 0; b < order; b++) {
          const c = (a * 7 + b * 3) % order;
          assert.equal(t[t[a * order + b] * order + c], t[a * order + t[b * order + c]]);
        }
      }
      checkSwapped(data);
    });
  }

  it('S3 is non-commutative', () => {
    const t = table(buildTask(spec('compose', 3)));
    let differs = false;
    for (let x = 0; x < 6; x++) for (let y = 0; y < 6; y++) differs ||= t[x * 6 + y] !== t[y * 6 + x];
    assert.ok(differs);
  });

  it('conjugate = compose(compose(x, y), inv(x)) and xyx = compose(compose(x, y), x)', () => {
    const n = 4;
    const order = 24;
    const m = table(buildTask(spec('compose', n)));
    const conj = table(buildTask(spec('conjugate', n)));
    const xyx = table(buildTask(spec('xyx', n)));
    const inv = (x: number) => {
      for (let y = 0; y < order; y++) if (m[x * order + y] === 0) return y;
      throw new Error('no inverse');
    };
    for (let x = 0; x < order; x++) {
      for (let y = 0; y < order; y++) {
        const xy = m[x * order + y];
        assert.equal(conj[x * order + y], m[xy * order + inv(x)]);
        assert.equal(xyx[x * order + y], m[xy * order + x]);
      }
    }
  });

  it('describes the group and op', () => {
    assert.equal(buildTask(spec('conjugate', 5)).description, 'S5 x·y·x⁻¹');
  });
});

describe('dihedral groups', () => {
  const spec = (n: number): TaskSpecInput => ({ kind: 'dihedral', op: 'compose', n, train_fraction: 0.5 });

  for (const n of [3, 4, 7]) {
    it(`D${n}: order 2n, matches the action on the n-gon, non-commutative`, () => {
      const data = buildTask(spec(n));
      const order = 2 * n;
      assert.equal(data.numClasses, order);
      assert.equal(data.numExamples, order * order);
      // r^i s^j as a map on vertices: v -> (−1)^j v + i (s first, then r^i).
      const act = (g: number, v: number) => {
        const i = g % n;
        const j = Math.floor(g / n);
        return ((((j === 0 ? v : -v) + i) % n) + n) % n;
      };
      const t = table(data);
      let differs = false;
      for (let x = 0; x < order; x++) {
        for (let y = 0; y < order; y++) {
          const z = t[x * order + y];
          for (let v = 0; v < n; v++) assert.equal(act(z, v), act(x, act(y, v)));
          differs ||= z !== t[y * order + x];
        }
        assert.equal(t[x], x);
        assert.equal(t[x * order], x);
      }
      assert.ok(differs, 'non-commutative');
      checkSwapped(data);
    });
  }
});

describe('sparse parity', () => {
  const spec = (extra: Partial<Extract<TaskSpecInput, { kind: 'parity' }>>): TaskSpecInput => ({
    kind: 'parity',
    n_bits: 10,
    k: 3,
    train_fraction: 0.5,
    ...extra,
  });

  function checkParity(data: TaskData, nBits: number, k: number): void {
    assert.equal(data.vocabSize, 3);
    assert.equal(data.seqLen, nBits + 1);
    assert.equal(data.numClasses, 2);
    const bits = data.relevantBits!;
    assert.equal(bits.length, k);
    assert.equal(new Set(bits).size, k);
    assert.ok(bits.every((b, i) => b >= 0 && b < nBits && (i === 0 || bits[i - 1] < b)));
    assert.ok(data.description.includes(`(bits ${bits.join(',')})`), data.description);
    const rows = new Set<string>();
    for (let e = 0; e < data.numExamples; e++) {
      const row = Array.from(data.inputs.subarray(e * data.seqLen, (e + 1) * data.seqLen));
      assert.equal(row[nBits], 2);
      assert.ok(row.slice(0, nBits).every((b) => b === 0 || b === 1));
      const ones = bits.filter((b) => row[b] === 1).length;
      assert.equal(data.labels[e], ones % 2);
      rows.add(row.join(''));
    }
    assert.equal(rows.size, data.numExamples, 'inputs are distinct');
  }

  it('enumerates all 2^n inputs for n ≤ 16, labels = parity of the relevant bits', () => {
    const data = buildTask(spec({}));
    assert.equal(data.numExamples, 1024);
    checkParity(data, 10, 3);
    assert.equal(data.inputs[5 * 11 + 0], 1, 'example e has bit t = (e >> t) & 1');
    assert.equal(data.inputs[5 * 11 + 1], 0);
    assert.equal(data.inputs[5 * 11 + 2], 1);
    // Balanced: any nonempty parity is 1 on exactly half of all inputs.
    assert.equal(
      data.labels.reduce((a, b) => a + b, 0),
      512,
    );
  });

  it('samples n_samples distinct inputs for n > 16, deterministically from the seed', () => {
    const a = buildTask(spec({ n_bits: 40, k: 3, n_samples: 2000, seed: 7 }));
    assert.equal(a.numExamples, 2000);
    checkParity(a, 40, 3);
    const b = buildTask(spec({ n_bits: 40, k: 3, n_samples: 2000, seed: 7 }));
    assert.deepEqual(a.inputs, b.inputs);
    assert.deepEqual(a.relevantBits, b.relevantBits);
    const c = buildTask(spec({ n_bits: 40, k: 3, n_samples: 2000, seed: 8 }));
    assert.notDeepEqual(a.inputs, c.inputs);
  });

  it('relevant bits are a seeded subset that varies with the seed', () => {
    const sets = new Set<string>();
    for (let seed = 0; seed < 10; seed++) {
      const data = buildTask(spec({ n_bits: 12, k: 3, seed }));
      checkParity(data, 12, 3);
      sets.add(data.relevantBits!.join());
    }
    assert.ok(sets.size > 1);
    assert.deepEqual(buildTask(spec({ k: 10 })).relevantBits, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('checks k and n_samples against n_bits', () => {
    assertUsage(() => buildTask(spec({ k: 11 })), 'task.k', 'n_bits');
    assertUsage(() => buildTask(spec({ n_bits: 20 })), 'task.n_samples', 'required');
    assertUsage(() => buildTask(spec({ n_samples: 100 })), 'task.n_samples', 'omitted');
    assertUsage(() => buildTask(spec({ n_bits: 20, n_samples: 1 })), 'task.n_samples', '[2, 100000]');
  });
});

describe('task spec validation', () => {
  it('names the field and the allowed values', () => {
    assertUsage(
      () => parseTaskSpec({ kind: 'modular', op: 'pow', p: 7, train_fraction: 0.5 }),
      'task.op',
      'add, sub',
    );
    assertUsage(
      () => parseTaskSpec({ kind: 'modular', op: 'add', p: 1, train_fraction: 0.5 }),
      'task.p',
      '[2, 2000]',
    );
    assertUsage(
      () => parseTaskSpec({ kind: 'modular', op: 'add', p: 7.5, train_fraction: 0.5 }),
      'task.p',
      'integer',
    );
    assertUsage(() => parseTaskSpec({ kind: 'modular', op: 'add', p: 7 }), 'task.train_fraction', '(0, 1)');
    for (const f of [0, 1, -0.1, 1.5, '0.5']) {
      assertUsage(
        () => parseTaskSpec({ kind: 'modular', op: 'add', p: 7, train_fraction: f }),
        'task.train_fraction',
        '(0, 1)',
      );
    }
    assertUsage(
      () => parseTaskSpec({ kind: 'ring', train_fraction: 0.5 }),
      'task.kind',
      'modular, permutation',
    );
    assertUsage(() => parseTaskSpec('modular'), 'task', 'object');
    assertUsage(
      () => parseTaskSpec({ kind: 'permutation', op: 'compose', n: 7, train_fraction: 0.5 }),
      'task.n',
      '[2, 6]',
    );
    assertUsage(
      () => parseTaskSpec({ kind: 'dihedral', op: 'conjugate', n: 5, train_fraction: 0.5 }),
      'task.op',
      'compose',
    );
    assertUsage(
      () => parseTaskSpec({ kind: 'dihedral', op: 'compose', n: 2, train_fraction: 0.5 }),
      'task.n',
    );
  });

  it('rejects unknown keys, naming them', () => {
    assertUsage(
      () => parseTaskSpec({ kind: 'modular', op: 'add', p: 7, train_fraction: 0.5, prime: 7 }),
      'task.prime',
      'prime',
    );
  });

  it('rejects a train fraction that leaves a side empty', () => {
    assertUsage(
      () => parseTaskSpec({ kind: 'modular', op: 'add', p: 3, train_fraction: 0.01 }),
      'task.train_fraction',
      'at least 1',
    );
  });

  it('fills defaults and taskSize agrees with the built data', () => {
    const parity = parseTaskSpec({ kind: 'parity', n_bits: 4, k: 2, train_fraction: 0.5 });
    assert.equal(parity.kind === 'parity' && parity.seed, 0);
    const specs: TaskSpecInput[] = [
      modular('div', 13),
      modular('div_odd', 13),
      modular('mul', 12),
      { kind: 'permutation', op: 'xyx', n: 3, train_fraction: 0.5 },
      { kind: 'dihedral', op: 'compose', n: 5, train_fraction: 0.5 },
      { kind: 'parity', n_bits: 20, k: 2, n_samples: 50, train_fraction: 0.5 },
      { kind: 'parity', n_bits: 6, k: 2, train_fraction: 0.5 },
      { ...modular('mul', 12), nonzero_y: true },
      { ...modular('div', 13), nonzero_y: true },
      { ...modular('add', 7), nonzero_y: false, sequence: 'x_y' },
      { kind: 'permutation', op: 'compose', n: 3, train_fraction: 0.5, sequence: 'x_op_y_eq' },
      { kind: 'dihedral', op: 'compose', n: 4, train_fraction: 0.5, sequence: 'x_y' },
    ];
    for (const s of specs) assert.equal(taskSize(parseTaskSpec(s)), buildTask(s).numExamples);
  });
});

describe('binary tasks: sequence and nonzero_y', () => {
  const kinds: Array<[string, TaskSpecInput]> = [
    ['modular', modular('sub', 7)],
    ['permutation', { kind: 'permutation', op: 'conjugate', n: 3, train_fraction: 0.5 }],
    ['dihedral', { kind: 'dihedral', op: 'compose', n: 4, train_fraction: 0.5 }],
  ];
  /** Tokens of (x, y) in each sequence, with the group's order as size: the layouts, written out. */
  const expectedTokens: Record<BinarySequence, (x: number, y: number, size: number) => number[]> = {
    x_y_eq: (x, y, size) => [x, y, size],
    x_op_y_eq: (x, y, size) => [x, size + 1, y, size],
    x_y: (x, y) => [x, y],
  };
  const expectedShape: Record<BinarySequence, { seqLen: number; extraTokens: number; operands: number[] }> = {
    x_y_eq: { seqLen: 3, extraTokens: 1, operands: [0, 1] },
    x_op_y_eq: { seqLen: 4, extraTokens: 2, operands: [0, 2] },
    x_y: { seqLen: 2, extraTokens: 0, operands: [0, 1] },
  };

  for (const [kind, base] of kinds) {
    for (const sequence of BINARY_SEQUENCES) {
      it(`${kind}, ${sequence}: the same examples, labels and swaps as [x, y, =], written as the layout says`, () => {
        const reference = buildTask(base);
        const data = buildTask({ ...base, sequence } as TaskSpecInput);
        const size = reference.numClasses;
        const shape = expectedShape[sequence];
        assert.equal(data.seqLen, shape.seqLen);
        assert.equal(data.vocabSize, size + shape.extraTokens);
        assert.deepEqual(data.operandPositions, shape.operands);
        assert.equal(data.numClasses, size);
        assert.equal(data.numExamples, reference.numExamples);
        assert.deepEqual(data.labels, reference.labels);
        assert.deepEqual(data.swapped, reference.swapped);
        assert.equal(data.description, reference.description);
        assert.equal(data.inputs.length, data.numExamples * data.seqLen);
        for (let e = 0; e < data.numExamples; e++) {
          const [x, y] = pair(reference, e);
          const row = Array.from(data.inputs.subarray(e * data.seqLen, (e + 1) * data.seqLen));
          assert.deepEqual(row, expectedTokens[sequence](x, y, size), `example ${e}`);
          for (const t of row) assert.ok(t >= 0 && t < data.vocabSize);
        }
      });
    }

    it(`${kind}: an absent sequence is x_y_eq, bit for bit, and the spec reads back without it`, () => {
      const absent = buildTask(base);
      const explicit = buildTask({ ...base, sequence: 'x_y_eq' } as TaskSpecInput);
      assert.deepEqual(explicit, absent);
      // A config written before the option existed parses to itself: nothing is added to config.json.
      assert.deepEqual(parseTaskSpec(base), base);
    });
  }

  it('x_y: one-hot over the tokens is the concatenated one-hot x and y (vocabulary exactly the operands)', () => {
    const data = buildTask({ ...modular('add', 5), sequence: 'x_y' });
    assert.equal(data.vocabSize, 5);
    for (let e = 0; e < data.numExamples; e++) {
      const onehot = new Array<number>(data.seqLen * data.vocabSize).fill(0);
      for (let t = 0; t < data.seqLen; t++) onehot[t * data.vocabSize + data.inputs[e * data.seqLen + t]] = 1;
      const [x, y] = [Math.floor(e / 5), e % 5];
      const concatenated = [
        ...Array.from({ length: 5 }, (_, i) => +(i === x)),
        ...Array.from({ length: 5 }, (_, i) => +(i === y)),
      ];
      assert.deepEqual(onehot, concatenated);
      assert.equal(data.labels[e], (x + y) % 5);
    }
  });

  it("nonzero_y: Grokfast's x·y mod 97 — x in 0..96, y in 1..96, x-major, p(p−1) examples", () => {
    const p = 97;
    const data = buildTask({ ...modular('mul', p), sequence: 'x_op_y_eq', nonzero_y: true });
    assert.equal(data.numExamples, p * (p - 1));
    assert.equal(data.vocabSize, p + 2);
    assert.equal(data.description, 'x·y mod 97, y ≠ 0');
    // torch.cartesian_prod(arange(p), arange(1, p)) order: example e is (⌊e/(p−1)⌋, 1 + e mod (p−1)).
    for (let e = 0; e < data.numExamples; e++) {
      const x = Math.floor(e / (p - 1));
      const y = 1 + (e % (p - 1));
      assert.deepEqual(Array.from(data.inputs.subarray(4 * e, 4 * e + 4)), [x, p + 1, y, p]);
      assert.equal(data.labels[e], (x * y) % p);
    }
  });

  it('nonzero_y: swapped is -1 exactly where x = 0 and otherwise the example (y, x); taskSize and splits agree', () => {
    for (const sequence of BINARY_SEQUENCES) {
      const p = 11;
      const spec: TaskSpecInput = { ...modular('add', p), sequence, nonzero_y: true };
      const data = buildTask(spec);
      const [px, py] = data.operandPositions!;
      const at = (e: number) => [data.inputs[e * data.seqLen + px], data.inputs[e * data.seqLen + py]];
      assert.equal(taskSize(parseTaskSpec(spec)), data.numExamples);
      assert.equal(data.numExamples, p * (p - 1));
      for (let e = 0; e < data.numExamples; e++) {
        const [x, y] = at(e);
        assert.notEqual(y, 0);
        const s = data.swapped![e];
        assert.equal(s === -1, x === 0, `example ${e} (${x}, ${y})`);
        if (s !== -1) assert.deepEqual(at(s), [y, x]);
      }
      const split = makeSplit(data.numExamples, 0.5, 3);
      assert.equal(split.train.length + split.test.length, data.numExamples);
      assert.equal(split.train.length, Math.round(0.5 * p * (p - 1)));
    }
    // div already leaves y = 0 out: nonzero_y changes only the description.
    const div = buildTask(modular('div', 13));
    const divNonzero = buildTask({ ...modular('div', 13), nonzero_y: true });
    assert.deepEqual({ ...divNonzero, description: div.description }, div);
  });

  it('nonzero_y counts in the train-fraction check: p = 2 leaves 2 examples', () => {
    assert.equal(buildTask({ ...modular('mul', 2), nonzero_y: true }).numExamples, 2);
    assertUsage(
      () => parseTaskSpec({ ...modular('mul', 2), train_fraction: 0.2, nonzero_y: true }),
      'task.train_fraction',
      'of 2 examples',
    );
    // Without nonzero_y the same fraction of 4 examples leaves 1 train example: accepted.
    assert.equal(taskSize(parseTaskSpec({ ...modular('mul', 2), train_fraction: 0.3 })), 4);
  });

  it('rejects bad values naming the field and the allowed values, and the keys where they make no sense', () => {
    assertUsage(
      () => parseTaskSpec({ ...modular('add', 7), sequence: 'x_eq_y' }),
      'task.sequence',
      'x_y_eq, x_op_y_eq, x_y',
    );
    assertUsage(
      () => parseTaskSpec({ kind: 'dihedral', op: 'compose', n: 3, train_fraction: 0.5, sequence: 3 }),
      'task.sequence',
      'x_y_eq, x_op_y_eq, x_y',
    );
    assertUsage(
      () => parseTaskSpec({ ...modular('add', 7), nonzero_y: 'yes' }),
      'task.nonzero_y',
      'true or false',
    );
    // nonzero_y is modular's only; neither field exists for parity.
    assertUsage(
      () => parseTaskSpec({ kind: 'permutation', op: 'compose', n: 3, train_fraction: 0.5, nonzero_y: true }),
      'task.nonzero_y',
      'unknown key',
    );
    for (const extra of [{ sequence: 'x_y' }, { nonzero_y: true }]) {
      const key = Object.keys(extra)[0];
      assertUsage(
        () => parseTaskSpec({ kind: 'parity', n_bits: 4, k: 2, train_fraction: 0.5, ...extra }),
        `task.${key}`,
        'unknown key',
      );
    }
  });
});

describe('train/test split', () => {
  function checkPartition(split: Split, n: number): void {
    const all = [...split.train, ...split.test].sort((a, b) => a - b);
    assert.deepEqual(
      all,
      Array.from({ length: n }, (_, i) => i),
    );
    for (const side of [split.train, split.test]) {
      for (let i = 1; i < side.length; i++) assert.ok(side[i - 1] < side[i], 'sorted ascending');
    }
  }

  it('is deterministic for a seed, a disjoint sorted cover, and differs across seeds', () => {
    const a = makeSplit(1000, 0.3, 42);
    assert.equal(a.train.length, 300);
    assert.equal(a.test.length, 700);
    checkPartition(a, 1000);
    assert.deepEqual(makeSplit(1000, 0.3, 42), a);
    assert.notDeepEqual(makeSplit(1000, 0.3, 43).train, a.train);
  });

  it('rounds the train count and keeps at least one example on each side', () => {
    assert.equal(makeSplit(10, 0.25, 1).train.length, 3);
    assert.equal(makeSplit(2, 0.5, 1).train.length, 1);
    assertUsage(() => makeSplit(10, 0.01, 1), 'task.train_fraction', 'at least 1');
    assertUsage(() => makeSplit(10, 0.99, 1), 'task.train_fraction', 'at least 1');
    assertUsage(() => makeSplit(10, 1, 1), 'task.train_fraction', '(0, 1)');
  });

  it('round-trips through JSON', () => {
    const split = makeSplit(50, 0.4, 3);
    const json = JSON.parse(JSON.stringify(splitToJson(split)));
    assert.equal(json.num_examples, 50);
    assert.deepEqual(splitFromJson(json, 50), split);
  });

  it('rejects a corrupt split.json, naming the field', () => {
    const ok = { num_examples: 4, train: [0, 2], test: [1, 3] };
    assert.equal(splitFromJson(ok).train.length, 2);
    assertUsage(() => splitFromJson({ ...ok, test: [1, 4] }), 'split.test', 'out of range');
    assertUsage(() => splitFromJson({ ...ok, test: [1, 2, 3] }), 'split.test', 'both');
    assertUsage(() => splitFromJson({ ...ok, train: [0, 0, 2] }), 'split.train', 'twice');
    assertUsage(() => splitFromJson({ ...ok, test: [1] }), 'split', 'neither');
    assertUsage(() => splitFromJson({ ...ok, train: [0, -1] }), 'split.train');
    assertUsage(() => splitFromJson({ ...ok, train: 'all' }), 'split.train');
    assertUsage(() => splitFromJson({ train: [0], test: [1] }), 'split.num_examples');
    assertUsage(() => splitFromJson(ok, 5), 'split.num_examples', '5');
    assertUsage(() => splitFromJson({ num_examples: 2, train: [], test: [0, 1] }), 'split', 'at least one');
  });
});
