/**
 * Layout of the wasm kernels' linear memory past the fixed part (thread control words and
 * packing workspaces, see kernels-wasm.ts):
 *
 *   [ fixed | arena regions (first fit) | scratch … end of memory ]
 *
 * Arena regions hold the tensors of a model's forward/backward pass (arena.ts). Scratch is where
 * a kernel call copies operands that are not in this memory (heap arrays); it starts past the
 * last region and is reused by every call.
 *
 * Growing an unshared memory detaches its ArrayBuffer, so every view of it (every arena tensor)
 * goes dead. It therefore grows only where no arena view can be alive: before any region exists,
 * or when an arena starts a new generation (any other arena's live generation is then lost, and
 * `epoch` says so). A call whose operands do not fit in the scratch that exists then runs on a
 * separate instance (`aux` in kernels-wasm.ts). A shared memory grows in place, views and all.
 * Browser-safe.
 */
import { type Arena, markWasmBuffer } from './arena.ts';

/** 64 KiB wasm pages. */
export const PAGE = 65536;
/** Largest wasm32 memory. */
const MAX_BYTES = 65536 * PAGE;

export const align64 = (x: number): number => Math.ceil(x / 64) * 64;

interface Region {
  offset: number;
  bytes: number;
}

export class LinearMemory {
  readonly shared: boolean;
  /** Bumped whenever growing detached the old buffer: arena storage made before is gone. */
  epoch = 0;
  /** Largest scratch a call has needed: kept free past the regions when an arena resets. */
  scratchHighWater = 0;
  f32!: Float32Array;
  i32!: Int32Array;
  /** A float64 view of a shared memory: copies into shared memory are ~3× faster by 8 bytes. */
  f64: Float64Array | null = null;
  private readonly regions: Region[] = [];
  private readonly buffers = new WeakSet<ArrayBufferLike>();

  constructor(
    readonly memory: WebAssembly.Memory,
    /** First byte past the fixed part, 64-byte aligned. */
    readonly base: number,
  ) {
    this.shared = !(memory.buffer instanceof ArrayBuffer);
    this.views();
  }

  /** Whether `x` lies in this memory (a view of any of its buffers, past or present, not detached). */
  owns(x: ArrayBufferView): boolean {
    return this.buffers.has(x.buffer) && x.buffer.byteLength > 0;
  }

  get byteLength(): number {
    return this.memory.buffer.byteLength;
  }

  /** Where scratch starts: past the last region. */
  scratchBase(): number {
    const last = this.regions[this.regions.length - 1];
    return last === undefined ? this.base : align64(last.offset + last.bytes);
  }

  /** Whether growing now would leave every arena view intact. */
  canGrow(): boolean {
    return this.shared || this.regions.length === 0;
  }

  /** Grows to at least `bytes`; throws a RangeError past the 4 GiB of wasm32. */
  ensure(bytes: number): void {
    const have = this.memory.buffer.byteLength;
    if (bytes <= have) return;
    if (bytes > MAX_BYTES) {
      throw new RangeError(
        `wasm kernels: cannot grow memory to ${bytes} bytes (wasm32 memory is limited to 4 GiB)`,
      );
    }
    try {
      this.memory.grow(Math.ceil((bytes - have) / PAGE));
    } catch (cause) {
      throw new RangeError(`wasm kernels: cannot grow memory to ${bytes} bytes`, { cause });
    }
    if (!this.shared) this.epoch++;
    this.views();
  }

  /**
   * A region of `bytes` (64-byte aligned), first fit past the fixed part; the memory grows when
   * none fits, keeping `scratchHighWater` free past the last region.
   */
  allocRegion(bytes: number): number {
    const size = align64(bytes);
    let at = this.base;
    let index = 0;
    for (; index < this.regions.length; index++) {
      const r = this.regions[index];
      if (r.offset - at >= size) break;
      at = align64(r.offset + r.bytes);
    }
    this.regions.splice(index, 0, { offset: at, bytes: size });
    this.ensure(this.scratchBase() + this.scratchHighWater);
    return at;
  }

  freeRegion(offset: number): void {
    const i = this.regions.findIndex((r) => r.offset === offset);
    if (i >= 0) this.regions.splice(i, 1);
  }

  /** Copies `src` (float32 or int32) to byte offset `at`, 64-byte aligned. */
  copyIn(src: Float32Array | Int32Array, at: number): void {
    const f64 = this.f64;
    const length = src.length;
    if (f64 === null || length < 256 || src.byteOffset % 8 !== 0) {
      if (src instanceof Float32Array) this.f32.set(src, at / 4);
      else this.i32.set(src, at / 4);
      return;
    }
    // A same-type typed-array copy moves bytes unchanged (NaN payloads included), so two 4-byte
    // values per float64 is an exact copy.
    const pairs = length >>> 1;
    f64.set(new Float64Array(src.buffer, src.byteOffset, pairs), at / 8);
    if (length % 2 !== 0) {
      if (src instanceof Float32Array) this.f32[at / 4 + length - 1] = src[length - 1];
      else this.i32[at / 4 + length - 1] = src[length - 1];
    }
  }

  /** Copies the `dst.length` values at byte offset `at` out into `dst`. */
  copyOut(dst: Float32Array | Int32Array, at: number): void {
    const start = at / 4;
    if (dst instanceof Float32Array) dst.set(this.f32.subarray(start, start + dst.length));
    else dst.set(this.i32.subarray(start, start + dst.length));
  }

  private views(): void {
    const buffer = this.memory.buffer;
    // A shared memory hands out a new SharedArrayBuffer object after growing; all alias one store.
    this.buffers.add(buffer);
    markWasmBuffer(buffer);
    this.f32 = new Float32Array(buffer);
    this.i32 = new Int32Array(buffer);
    this.f64 = this.shared ? new Float64Array(buffer, 0, buffer.byteLength >>> 3) : null;
  }
}

/** An arena's region, apart from the arena so that a finalizer can give it back. */
interface RegionHandle {
  mem: LinearMemory | null;
  offset: number;
  /** Bytes; 0: no region. */
  capacity: number;
}

function releaseRegion(handle: RegionHandle): void {
  if (handle.mem !== null && handle.capacity > 0) handle.mem.freeRegion(handle.offset);
  handle.capacity = 0;
}

/** Gives an arena's region back once the arena (its model, its tensors) is garbage. */
const regionFinalizer = new FinalizationRegistry<RegionHandle>(releaseRegion);

/**
 * An arena in a LinearMemory: a bump allocator over one region, sized by the most any earlier
 * generation asked for. `home()` names the memory the kernels use now (it changes if the worker
 * threads fail and the kernels move to a fresh memory); a reset moves the region there.
 */
export class WasmArena implements Arena {
  generation = 0;
  private readonly region: RegionHandle = { mem: null, offset: 0, capacity: 0 };
  private used = 0;
  /** Bytes asked for in this generation, served or not. */
  private demand = 0;
  private highWater = 0;
  private epoch = 0;
  private view: Float32Array | null = null;

  constructor(
    private readonly home: () => LinearMemory,
    private readonly fillZero: (x: Float32Array) => void,
  ) {
    regionFinalizer.register(this, this.region, this);
  }

  reset(): void {
    this.generation++;
    this.highWater = Math.max(this.highWater, this.demand);
    this.used = 0;
    this.demand = 0;
    const region = this.region;
    const mem = this.home();
    if (mem !== region.mem) {
      releaseRegion(region);
      region.mem = mem;
    }
    if (this.highWater > region.capacity) {
      releaseRegion(region);
      const bytes = Math.ceil(this.highWater / PAGE) * PAGE;
      region.offset = mem.allocRegion(bytes);
      region.capacity = bytes;
    } else {
      mem.ensure(mem.scratchBase() + mem.scratchHighWater);
    }
    this.epoch = mem.epoch;
    this.view =
      region.capacity > 0 ? new Float32Array(mem.memory.buffer, region.offset, region.capacity / 4) : null;
  }

  alloc(length: number): Float32Array | null {
    const bytes = align64(length * 4);
    this.demand += bytes;
    const view = this.view;
    if (view === null || this.used + bytes > this.region.capacity || !this.holds(this.generation))
      return null;
    const start = this.used / 4;
    this.used += bytes;
    return view.subarray(start, start + length);
  }

  zero(x: Float32Array): void {
    this.fillZero(x);
  }

  holds(generation: number): boolean {
    const mem = this.region.mem;
    return generation === this.generation && (mem === null || mem.epoch === this.epoch);
  }

  owns(x: ArrayBufferView): boolean {
    const view = this.view;
    return (
      view !== null &&
      x.buffer === view.buffer &&
      x.byteOffset >= view.byteOffset &&
      x.byteOffset < view.byteOffset + view.byteLength
    );
  }

  /** Gives the region back now; the next reset takes a new one. */
  dispose(): void {
    releaseRegion(this.region);
    this.view = null;
    this.generation++;
  }
}
