/**
 * The IDX format of the MNIST files (LeCun et al.): a 4-byte magic number (two zero bytes, a type
 * code, the number of dimensions), one big-endian uint32 size per dimension, then the values in
 * row-major order. groklab reads unsigned bytes only (type 0x08), which is what MNIST uses. A file
 * whose header and length disagree is refused, so a truncated download never becomes garbage data.
 */

/** An IDX array of unsigned bytes: its dimensions and its values (a view into the file's bytes). */
export interface IdxArray {
  dims: number[];
  data: Uint8Array;
}

/** A problem with an IDX file; the message names the file. */
export class IdxFormatError extends Error {
  constructor(
    readonly file: string,
    problem: string,
  ) {
    super(`${file}: ${problem}`);
    this.name = 'IdxFormatError';
  }
}

const UNSIGNED_BYTE = 0x08;
const TYPE_NAMES: Record<number, string> = {
  8: 'unsigned byte',
  9: 'signed byte',
  11: 'int16',
  12: 'int32',
  13: 'float32',
  14: 'float64',
};

/**
 * Parses an IDX file of unsigned bytes. `file` names it in errors; `expectDims`, when given, is the
 * number of dimensions the caller needs (3 for images, 1 for labels).
 */
export function parseIdx(bytes: Uint8Array, file: string, expectDims?: number): IdxArray {
  if (bytes.length < 4) {
    throw new IdxFormatError(file, `${bytes.length} bytes is too short for an IDX header (at least 4)`);
  }
  if (bytes[0] !== 0 || bytes[1] !== 0) {
    throw new IdxFormatError(
      file,
      `not an IDX file: the magic number must start with two zero bytes, got 0x${hex(bytes[0])}${hex(bytes[1])} (a gzip file starts 1f8b: decompress it first)`,
    );
  }
  const type = bytes[2];
  if (type !== UNSIGNED_BYTE) {
    const name = TYPE_NAMES[type] ?? `unknown type 0x${hex(type)}`;
    throw new IdxFormatError(file, `holds ${name} values; only unsigned bytes (0x08) are supported`);
  }
  const rank = bytes[3];
  if (rank < 1) throw new IdxFormatError(file, 'has 0 dimensions');
  if (expectDims !== undefined && rank !== expectDims) {
    throw new IdxFormatError(file, `has ${rank} dimension(s), expected ${expectDims}`);
  }
  const headerBytes = 4 + 4 * rank;
  if (bytes.length < headerBytes) {
    throw new IdxFormatError(
      file,
      `truncated header: ${rank} dimensions need ${headerBytes} bytes, the file has ${bytes.length}`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dims: number[] = [];
  let count = 1;
  for (let d = 0; d < rank; d++) {
    const size = view.getUint32(4 + 4 * d, false);
    dims.push(size);
    count *= size;
  }
  const expected = headerBytes + count;
  if (bytes.length !== expected) {
    const what = bytes.length < expected ? 'truncated' : 'has trailing bytes';
    throw new IdxFormatError(
      file,
      `${what}: the header says ${dims.join('×')} values (${expected} bytes in all), the file has ${bytes.length} bytes`,
    );
  }
  return { dims, data: bytes.subarray(headerBytes) };
}

/** Writes an IDX file of unsigned bytes (for tests and for users who make their own data sets). */
export function encodeIdx(dims: readonly number[], values: ArrayLike<number>): Uint8Array {
  const count = dims.reduce((a, b) => a * b, 1);
  if (values.length !== count)
    throw new RangeError(`encodeIdx: ${values.length} values for dims ${dims.join('×')}`);
  const out = new Uint8Array(4 + 4 * dims.length + count);
  out[2] = UNSIGNED_BYTE;
  out[3] = dims.length;
  const view = new DataView(out.buffer);
  dims.forEach((size, d) => {
    view.setUint32(4 + 4 * d, size, false);
  });
  out.set(values, 4 + 4 * dims.length);
  return out;
}

const hex = (byte: number) => byte.toString(16).padStart(2, '0');
