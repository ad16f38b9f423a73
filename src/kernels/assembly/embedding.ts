// Row look-ups of embedding tables and their scatter-add adjoints. Offsets are bytes; `ids` is an
// i32 array; `dim` is the row length in floats. Scatter-adds visit rows in the order their
// references do (src/engine/kernel-table/embedding.ts), so that both give the same sums.

/** dst[0..dim) (=|+=) a[0..dim) + b[0..dim); b may be 0 (absent). */
@inline
function rowOp(dst: usize, a: usize, b: usize, dim: i32, add: bool): void {
  const end = <usize>dim << 2;
  const vecEnd = <usize>(dim & ~3) << 2;
  let o: usize = 0;
  for (; o < vecEnd; o += 16) {
    let v = v128.load(a + o);
    if (b != 0) v = f32x4.add(v, v128.load(b + o));
    if (add) v = f32x4.add(v128.load(dst + o), v);
    v128.store(dst + o, v);
  }
  for (; o < end; o += 4) {
    let v = load<f32>(a + o);
    if (b != 0) v += load<f32>(b + o);
    if (add) v = load<f32>(dst + o) + v;
    store<f32>(dst + o, v);
  }
}

/**
 * out row (b, t) = table[ids[b·seq + t]] + pos[t] for positions t ≥ first, rows in (b, t) order:
 * [batch·(seq − first), dim], for the sequences b0..b1. pos may be 0 (no positional table).
 */
export function embedRows(out: usize, table: usize, pos: usize, ids: usize, batch: i32, seq: i32, first: i32, dim: i32, b0: i32, b1: i32): void {
  const rowBytes = <usize>dim << 2;
  let o = out + <usize>b0 * <usize>(seq - first) * rowBytes;
  for (let b = b0; b < b1; b++) {
    for (let t = first; t < seq; t++, o += rowBytes) {
      const id = load<i32>(ids + (<usize>(b * seq + t) << 2));
      rowOp(o, table + <usize>id * rowBytes, pos != 0 ? pos + <usize>t * rowBytes : 0, dim, false);
    }
  }
}

/**
 * The adjoint of embedRows: gt[ids[b, t]] += g row (b, t) and gp[t] += g row (b, t), each skipped
 * when its offset is 0.
 */
export function embedRowsBackward(gt: usize, gp: usize, g: usize, ids: usize, batch: i32, seq: i32, first: i32, dim: i32): void {
  const rowBytes = <usize>dim << 2;
  let o = g;
  for (let b = 0; b < batch; b++) {
    for (let t = first; t < seq; t++, o += rowBytes) {
      if (gt != 0) {
        const id = load<i32>(ids + (<usize>(b * seq + t) << 2));
        rowOp(gt + <usize>id * rowBytes, o, 0, dim, true);
      }
      if (gp != 0) rowOp(gp + <usize>t * rowBytes, o, 0, dim, true);
    }
  }
}

/** out row b = Σ_t table[t·vocab + ids[b·seq + t]]: a one-hot input times a [seq·vocab, dim] matrix. */
export function rowSums(out: usize, table: usize, ids: usize, batch: i32, seq: i32, vocab: i32, dim: i32): void {
  const rowBytes = <usize>dim << 2;
  for (let b = 0; b < batch; b++) {
    const o = out + <usize>b * rowBytes;
    for (let t = 0; t < seq; t++) {
      const id = load<i32>(ids + (<usize>(b * seq + t) << 2));
      const row = table + <usize>(t * vocab + id) * rowBytes;
      if (t == 0) rowOp(o, row, 0, dim, false);
      else rowOp(o, row, 0, dim, true);
    }
  }
}

/** The adjoint of rowSums: gt[t·vocab + ids[b, t]] += g row b. */
export function scatterRowSums(gt: usize, g: usize, ids: usize, batch: i32, seq: i32, vocab: i32, dim: i32): void {
  const rowBytes = <usize>dim << 2;
  for (let b = 0; b < batch; b++) {
    const o = g + <usize>b * rowBytes;
    for (let t = 0; t < seq; t++) {
      const id = load<i32>(ids + (<usize>(b * seq + t) << 2));
      rowOp(gt + <usize>(t * vocab + id) * rowBytes, o, 0, dim, true);
    }
  }
}
