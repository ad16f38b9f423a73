/**
 * The compiled kernel module (either build of src/kernels/assembly): checking what it exports and
 * imports, reading its memory import, and making a copy of it for unshared memories. Loaders:
 * kernels-node.ts (synchronous, Node), kernels-browser.ts (asynchronous, from bytes). Browser-safe.
 */
import { KERNEL_NAMES, type KernelExports, MODULE_FUNCTIONS } from './kernel-table/index.ts';

/** The module instantiated on a memory (its import env.memory). */
export interface WasmInstance {
  readonly module: WebAssembly.Module;
  readonly memory: WebAssembly.Memory;
  readonly exports: KernelExports;
}

/** Checks what the module exports and imports; throws an Error naming what is missing. */
export function checkModule(module: WebAssembly.Module): void {
  const exported = new Set(
    WebAssembly.Module.exports(module)
      .filter((e) => e.kind === 'function')
      .map((e) => e.name),
  );
  for (const name of [...MODULE_FUNCTIONS, ...KERNEL_NAMES]) {
    if (!exported.has(name)) throw new Error(`wasm kernels: module does not export ${name}()`);
  }
  const imports = WebAssembly.Module.imports(module);
  if (imports.length !== 1 || imports[0].module !== 'env' || imports[0].name !== 'memory') {
    throw new Error('wasm kernels: module must import env.memory and nothing else');
  }
}

/** The exports of a module instantiated on `memory` (which must suit its memory import). */
export function wasmInstance(
  module: WebAssembly.Module,
  memory: WebAssembly.Memory,
  instance: WebAssembly.Instance,
): WasmInstance {
  // checkModule has checked the names; the test of the kernel table, the signatures.
  return { module, memory, exports: instance.exports as unknown as KernelExports };
}

/** The memory import of a module: its limits and where its flags byte is. */
export interface MemoryImport {
  /** Byte offset of the limits flags (bit 0: has a maximum, bit 1: shared). */
  flagsAt: number;
  shared: boolean;
  /** Pages. */
  initial: number;
  maximum: number | undefined;
}

/** Finds the memory import in a wasm binary (null if it has none); throws on malformed input. */
export function memoryImport(bytes: Uint8Array): MemoryImport | null {
  let at = 8;
  const u32 = (): number => {
    let result = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      if (at >= bytes.length) throw new Error('wasm kernels: truncated module');
      const byte = bytes[at++];
      result += (byte & 0x7f) * 2 ** shift;
      if (byte < 0x80) return result;
    }
    throw new Error('wasm kernels: malformed LEB128 in module');
  };
  while (at < bytes.length) {
    const id = bytes[at++];
    const size = u32();
    const end = at + size;
    if (id !== 2) {
      at = end;
      continue;
    }
    for (let count = u32(); count > 0; count--) {
      for (let name = 0; name < 2; name++) {
        const length = u32(); // module name, then field name
        at += length;
      }
      const kind = bytes[at++];
      if (kind === 0x02) {
        const flagsAt = at;
        const flags = bytes[at++];
        const initial = u32();
        const maximum = flags & 1 ? u32() : undefined;
        return { flagsAt, shared: (flags & 2) !== 0, initial, maximum };
      }
      if (kind === 0x00) u32();
      else if (kind === 0x01) {
        at++; // reference type
        const flags = bytes[at++];
        u32();
        if (flags & 1) u32();
      } else if (kind === 0x03) at += 2;
      else if (kind === 0x04) {
        at++;
        u32();
      } else throw new Error(`wasm kernels: unknown import kind ${kind}`);
    }
    return null;
  }
  return null;
}

/**
 * A copy of the module bytes whose memory import is not shared. The committed module declares
 * a shared memory for the worker threads; a single-threaded instance does better with an
 * unshared one, which needs no cross-origin isolation in browsers and copies operands in ~3×
 * faster. The module uses no atomic instruction, so the change is safe.
 */
export function unsharedWasmBytes(bytes: BufferSource): Uint8Array<ArrayBuffer> {
  const view = ArrayBuffer.isView(bytes)
    ? new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    : new Uint8Array(bytes);
  const copy = new Uint8Array(view);
  const memory = memoryImport(copy);
  if (memory?.shared) copy[memory.flagsAt] &= ~2;
  return copy;
}
