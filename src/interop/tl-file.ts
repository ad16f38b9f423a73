/**
 * Reading a TransformerLens checkpoint saved as safetensors. `save_file(model.state_dict(), ...)`
 * also stores each attention layer's buffers: the causal mask (bool, a dtype groklab's reader does
 * not decode) and IGNORE (-inf). They hold nothing learned, so they are cut out of the file's bytes
 * before the ordinary reader (src/runs/safetensors.ts) decodes and validates the rest.
 */
import fs from 'node:fs';
import { decodeSafetensors, type StoredTensor } from '../runs/index.ts';
import { UsageError } from '../util/errors.ts';

const BUFFER = /^blocks\.\d+\.attn\.(mask|IGNORE)$/;

export interface TensorFile {
  tensors: Record<string, StoredTensor>;
  metadata: Record<string, string>;
}

interface HeaderEntry {
  dtype: string;
  shape: number[];
  data_offsets: [number, number];
}

/** The file without the TransformerLens buffers, or the same bytes when it has none or cannot be parsed here. */
export function withoutBuffers(bytes: Uint8Array): Uint8Array {
  try {
    if (bytes.length < 8) return bytes;
    const headerLength = Number(new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true));
    const header: unknown = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLength)));
    if (typeof header !== 'object' || header === null || !Object.keys(header).some((k) => BUFFER.test(k))) {
      return bytes;
    }
    return compact(bytes, 8 + headerLength, header as Record<string, unknown>);
  } catch {
    return bytes; // decodeSafetensors says what is wrong
  }
}

/** A new file holding the metadata and every tensor but the buffers, their data packed in the same order. */
function compact(bytes: Uint8Array, dataStart: number, header: Record<string, unknown>): Uint8Array {
  const kept = Object.entries(header).filter(([name]) => name !== '__metadata__' && !BUFFER.test(name)) as [
    string,
    HeaderEntry,
  ][];
  const chunks: Uint8Array[] = [];
  const entries: [string, unknown][] = [];
  if (header.__metadata__ !== undefined) entries.push(['__metadata__', header.__metadata__]);
  let offset = 0;
  for (const [name, entry] of kept) {
    const [begin, end] = entry.data_offsets;
    chunks.push(bytes.subarray(dataStart + begin, dataStart + end));
    entries.push([name, { ...entry, data_offsets: [offset, offset + end - begin] }]);
    offset += end - begin;
  }
  const json = new TextEncoder().encode(JSON.stringify(Object.fromEntries(entries)));
  const padded = Math.ceil(json.length / 8) * 8;
  const out = new Uint8Array(8 + padded + offset).fill(0x20, 8, 8 + padded);
  new DataView(out.buffer).setBigUint64(0, BigInt(padded), true);
  out.set(json, 8);
  let pos = 8 + padded;
  for (const chunk of chunks) {
    out.set(chunk, pos);
    pos += chunk.length;
  }
  return out;
}

/** Reads and decodes one checkpoint file; UsageError (field `file`) when it is missing or not valid safetensors. */
export function readTensorFile(file: string): TensorFile {
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(fs.readFileSync(file));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT' ? 'does not exist' : code === 'EISDIR' ? 'is a folder' : (err as Error).message;
    throw new UsageError({ field: 'file', message: `${file} ${why}; give safetensors checkpoint files` });
  }
  try {
    return decodeSafetensors(withoutBuffers(bytes));
  } catch (err) {
    throw new UsageError({
      field: 'file',
      message: `${file} is not a safetensors checkpoint groklab can read: ${(err as Error).message} (a torch.save .pt file can be converted with safetensors.torch.save_file(model.state_dict(), path))`,
    });
  }
}
