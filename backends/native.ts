// The only module that talks to the native addon (DESIGN.md §1). It loads the CPU backend and
// exposes its catalog (kernel ids and op codes come from the addon: one source of truth).
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadAddon, packageRoot } from './addon_path.js';

export interface NativeInfo {
  backend: string;
  dtypes: string[];
  kernels: Record<string, number>;
  unaryOps: Record<string, number>;
  binaryOps: Record<string, number>;
  reduceOps: Record<string, number>;
  threads: number;
  maxDims: number;
  isa: NativeIsa;
}

/** A vector instruction set level of the CPU kernels (backends/cpu/simd.h). */
export type IsaLevel = 'portable' | 'avx2' | 'avx512';

/**
 * The level the kernels use (`level`), the best this build has on this CPU (`best`), the switch
 * that lowered it (`forced`: `KILN_ISA=...` or `KILN_NO_SIMD=1`, else null) and the CPU's features.
 */
export interface NativeIsa {
  level: IsaLevel;
  best: IsaLevel;
  forced: string | null;
  avx2: boolean;
  fma: boolean;
  f16c: boolean;
  avx512f: boolean;
  avx512bw: boolean;
  avx512vl: boolean;
  avx512dq: boolean;
  avx512vnni: boolean;
  avx512bf16: boolean;
}

export interface NativeMemory {
  active: number;
  peak: number;
  cache: number;
  limit: number;
  cacheLimit: number;
  buffers: number;
  /** device stats only: the device's memory */
  total?: number;
}

/** An accelerator a device backend library found (native.devices()). */
export interface NativeDevice {
  /** kiln's device number (commands carry it in the kernel word: id + 4096 * index) */
  index: number;
  backend: string;
  name: string;
  arch: string;
  ordinal: number;
  totalMemory: number;
  kernels: string[];
}

export interface NativeBackend {
  alloc(nbytes: number): number;
  free(id: number): void;
  write(id: number, byteOffset: number, data: ArrayBufferView): void;
  read(id: number, byteOffset: number, nbytes: number): ArrayBuffer;
  /** copies into `dst` (the reverse of write): no external ArrayBuffer per read; absent in addons built before it */
  readInto?(id: number, byteOffset: number, dst: ArrayBufferView): void;
  hostView(id: number): ArrayBuffer;
  /** maps a file read-only (copy-on-write) into a new buffer: zero-copy weights */
  mapFile(path: string): number;
  /** runs the first `length` words (default: all) of an encoded command list */
  run(commands: Float64Array, length?: number): void;
  runAsync(commands: Float64Array, length?: number): Promise<void>;
  /** registers a fused program (kn.compile); the `fused` kernel names it by handle */
  compileProgram(program: Float64Array): number;
  releaseProgram(handle: number): void;
  /** allocates buffers at recorded positions of a stored command list, then runs it; returns their ids */
  /** `key` names the stored list (a compiled plan's id): an accelerator may capture a list it runs again */
  replay(commands: Float64Array, allocs: Float64Array, key?: number): Float64Array;
  synchronize(): void;
  info(): NativeInfo;
  /** the CPU's (device 0 or absent) or a device's memory */
  memory(device?: number): NativeMemory;
  setLimit(bytes: number, device?: number): void;
  setCacheLimit(bytes: number, device?: number): void;
  resetPeak(device?: number): void;
  clearCache(device?: number): void;
  /** the accelerators the device backend libraries found (loads them on first call), or why none */
  devices(): { devices: NativeDevice[]; unavailable: string | null };
  setNumThreads(n: number): void;
  /** the thread pool's fork/join overhead: `iters` jobs of one chunk per thread busy `workUs` each, `gapUs` idle before each (bench/pool.mjs) */
  measureForkJoin(iters: number, gapUs: number, workUs: number): { threads: number; meanUs: number; medianUs: number; bestUs: number };
}

const require = createRequire(import.meta.url);
export const native: NativeBackend = loadAddon(
  (p) => require(p) as NativeBackend,
  packageRoot(dirname(fileURLToPath(import.meta.url))),
  'kiln_cpu.node',
  process.env.KILN_ADDON,
);
export const nativeInfo: NativeInfo = native.info();
export const K = nativeInfo.kernels;
export const UnaryOps = nativeInfo.unaryOps;
export const BinaryOps = nativeInfo.binaryOps;
export const ReduceOps = nativeInfo.reduceOps;
export const { sortOps: SortOps, scanOps: ScanOps } = nativeInfo as unknown as Record<'sortOps' | 'scanOps', Record<string, number>>;
