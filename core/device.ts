// Devices (DESIGN.md §2 "Devices and streams"): every node records the device it runs on when it
// is built (core/node.ts); the lowering writes it into each kernel command's word, and the native
// core moves buffer contents between host and device copies. Device 0 is the CPU, 1.. the GPUs the
// CUDA backend library found. The library is loaded (native.devices()) only when a GPU is first
// asked about: KILN_DEVICE=cpu never loads it.
import { AsyncLocalStorage } from 'node:async_hooks';
import { native, type NativeDevice } from '../backends/native.js';

export type DeviceType = 'cpu' | 'gpu';

/** What names a device in the API: a Device, 'cpu', 'gpu' (the first GPU) or 'gpu:N' (the N-th GPU, from 0). */
export type DeviceLike = Device | 'cpu' | 'gpu' | `gpu:${number}` | `cpu:0`;

/** Devices per kernel word (backends/common/device.h kDeviceStride). */
export const DEVICE_STRIDE = 4096;

/** A device kernels run on: `kn.cpu`, `kn.gpu` or an entry of `kn.devices()`. */
export class Device {
  /** @internal */
  constructor(
    readonly type: DeviceType,
    /** which GPU among the GPUs (0 for the CPU): the N of 'gpu:N' */
    readonly number: number,
    private info: (() => NativeDevice | null) | NativeDevice | null,
  ) {}
  private resolved(): NativeDevice | null {
    if (typeof this.info === 'function') this.info = this.info();
    return this.info;
  }
  /** kiln's device number (0 = CPU, 1.. = GPUs): what commands carry */
  get index(): number {
    return this.type === 'cpu' ? 0 : this.resolved()!.index;
  }
  /** the device's number within its backend (the CUDA ordinal); 0 for the CPU */
  get ordinal(): number {
    return this.type === 'cpu' ? 0 : this.resolved()!.ordinal;
  }
  /** 'cpu', or the GPU's name ('NVIDIA H100 80GB HBM3') */
  get name(): string {
    return this.type === 'cpu' ? 'cpu' : this.resolved()!.name;
  }
  /** 'cpu' or 'cuda' */
  get backend(): string {
    return this.type === 'cpu' ? 'cpu' : this.resolved()!.backend;
  }
  /** GPUs: the architecture ('sm_90'); null for the CPU */
  get arch(): string | null {
    return this.type === 'cpu' ? null : this.resolved()!.arch;
  }
  /** GPUs: the device's memory in bytes; null for the CPU */
  get totalMemory(): number | null {
    return this.type === 'cpu' ? null : this.resolved()!.totalMemory;
  }
  /** GPUs: the kernels with a native implementation there (others run on the CPU, moved transparently) */
  get kernels(): readonly string[] {
    return this.type === 'cpu' ? [] : this.resolved()!.kernels;
  }
  toString(): string {
    return this.type === 'cpu' ? 'cpu' : `gpu:${this.number}`;
  }
  toJSON(): string {
    return this.toString();
  }
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `Device(${this.toString()})`;
  }
}

// ---- what loaded (native.devices(), on first need) ----

interface Loaded {
  gpus: NativeDevice[];
  unavailable: string | null;
}
let loaded: Loaded | null = null;

function load(): Loaded {
  if (loaded) return loaded;
  if (typeof native.devices !== 'function') {
    loaded = { gpus: [], unavailable: 'the loaded native addon predates device support (rebuild it: npx cmake-js compile)' };
  } else {
    const r = native.devices();
    const gpus = r.devices.slice().sort((a, b) => a.index - b.index);
    loaded = { gpus, unavailable: gpus.length ? null : (r.unavailable ?? 'no GPU was found') };
  }
  return loaded;
}

function unavailableError(what: string): Error {
  return new Error(`[device] ${what}: no GPU is available (CUDA backend unavailable: ${load().unavailable})`);
}

/** The CPU. */
export const cpu = new Device('cpu', 0, null);

/**
 * The first GPU. Naming it is free; using it (an op on it, kn.withDevice, memory stats) throws a
 * clear Error with the reason when no GPU loaded.
 */
export const gpu = new Device('gpu', 0, () => {
  const l = load();
  if (!l.gpus.length) throw unavailableError('kn.gpu');
  return l.gpus[0];
});

let gpuList: Device[] | null = null;
function gpuDevices(): Device[] {
  if (gpuList) return gpuList;
  const l = load();
  gpuList = l.gpus.map((g, k) => (k === 0 ? gpu : new Device('gpu', k, g)));
  return gpuList;
}

/**
 * Every device: the CPU first, then the GPUs (loads the CUDA backend on first call).
 * @example
 * kn.devices()[0].toString() // 'cpu'
 */
export function devices(): Device[] {
  return [cpu, ...gpuDevices()];
}

/**
 * Whether a GPU loaded (loads the CUDA backend on first call).
 * @example
 * typeof kn.gpuAvailable() // 'boolean'
 */
export function gpuAvailable(): boolean {
  return gpuDevices().length > 0;
}

/** Why no GPU is available (null when one is): the CUDA backend's reason. */
export function gpuUnavailableReason(): string | null {
  return load().unavailable;
}

const DEVICE_RE = /^(cpu|gpu)(?::(\d+))?$/;

/** The Device `d` names; `op` prefixes errors. */
export function toDevice(d: unknown, op: string): Device {
  if (d instanceof Device) {
    if (d.type === 'gpu') void d.index; // throws when no GPU loaded
    return d;
  }
  if (typeof d !== 'string') throw new TypeError(`[${op}] device must be kn.cpu, kn.gpu, a kn.devices() entry or 'cpu' / 'gpu' / 'gpu:N', got ${describe(d)}`);
  const m = DEVICE_RE.exec(d.trim().toLowerCase());
  if (!m) throw new TypeError(`[${op}] unknown device '${d}' (expected 'cpu', 'gpu' or 'gpu:N')`);
  const n = m[2] === undefined ? 0 : Number(m[2]);
  if (m[1] === 'cpu') {
    if (n !== 0) throw new TypeError(`[${op}] unknown device '${d}' (there is one CPU device: 'cpu')`);
    return cpu;
  }
  const gs = gpuDevices();
  if (!gs.length) throw unavailableError(`${op} '${d}'`);
  if (n >= gs.length)
    throw new RangeError(`[${op}] device '${d}' does not exist: ${gs.length} GPU(s) loaded (gpu:0${gs.length > 1 ? `..gpu:${gs.length - 1}` : ''})`);
  return gs[n];
}

function describe(v: unknown): string {
  if (typeof v === 'string') return `'${v}'`;
  if (v === null || typeof v !== 'object') return String(v);
  return Object.prototype.toString.call(v);
}

/** The Device of a kiln device number (as nodes record it). */
export function deviceOf(index: number): Device {
  if (index === 0) return cpu;
  const g = gpuDevices().find((x) => x.index === index);
  if (!g) throw new Error(`[device] no device ${index} is loaded`);
  return g;
}

// ---- the default device and scopes ----

let defaultIndex: number | null = null;
let warned = false;

function envDefault(): number {
  const raw = process.env.KILN_DEVICE;
  const env = raw === undefined ? '' : raw.trim().toLowerCase();
  if (env === 'cpu') return 0;
  if (env === '') return gpuAvailable() ? gpu.index : 0;
  if (!DEVICE_RE.test(env)) throw new Error(`[kiln] KILN_DEVICE must be 'cpu', 'gpu' or 'gpu:N', got '${raw}'`);
  if (!gpuAvailable()) {
    if (!warned) {
      warned = true;
      process.stderr.write(`[kiln] CUDA backend unavailable: ${load().unavailable}; using the CPU\n`);
    }
    return 0;
  }
  return toDevice(env, 'KILN_DEVICE').index;
}

const scopes = new AsyncLocalStorage<number>();
let scoped = false;

/** The device number new nodes record: the innermost kn.withDevice, else the default device. */
export function currentDeviceIndex(): number {
  if (scoped) {
    const s = scopes.getStore();
    if (s !== undefined) return s;
  }
  return defaultIndex ?? (defaultIndex = envDefault());
}

/**
 * The device ops run on when nothing else says: `gpu` when a GPU loaded, else `cpu`
 * (`KILN_DEVICE=cpu|gpu` overrides; `kn.setDefaultDevice` sets it).
 * @example
 * kn.setDefaultDevice('cpu');
 * kn.defaultDevice().toString() // 'cpu'
 */
export function defaultDevice(): Device {
  return deviceOf(defaultIndex ?? (defaultIndex = envDefault()));
}

/**
 * Sets the default device: a Device, 'cpu', 'gpu' or 'gpu:N'. Arrays already built keep theirs.
 * @example
 * kn.setDefaultDevice(kn.cpu);
 * kn.add(1, 2).item() // 3
 */
export function setDefaultDevice(d: DeviceLike): void {
  defaultIndex = toDevice(d, 'setDefaultDevice').index;
}

/** The device ops built now run on (kn.withDevice's, else the default). */
export function currentDevice(): Device {
  return deviceOf(currentDeviceIndex());
}

/**
 * Runs `fn` with every op it builds on device `d`, then restores the previous device (also when
 * `fn` throws). Scopes nest. The scope follows the async context (as kn.tidy's does): for an
 * async `fn`, ops built inside it run on `d` before and after its awaits, while code outside `fn`
 * (the caller, other tasks running while `fn` awaits) keeps its own device.
 * @example
 * const y = kn.withDevice(kn.cpu, () => kn.add(kn.array([1, 2]), 1));
 * y // [2, 3]
 */
export function withDevice<T>(d: DeviceLike, fn: () => T): T {
  const dev = toDevice(d, 'withDevice');
  if (typeof fn !== 'function') throw new TypeError('[withDevice] expected a function as the second argument');
  scoped = true;
  return scopes.run(dev.index, fn);
}

/**
 * `fn` on `device` when given (an op's `{ device }` option), else as is. `op` prefixes errors.
 */
export function onDevice<T>(device: unknown, op: string, fn: () => T): T {
  if (device === undefined || device === null) return fn();
  const dev = toDevice(device, op);
  scoped = true;
  return scopes.run(dev.index, fn);
}

/** The GPUs' device numbers if the CUDA backend was already asked about (never loads it). */
export function loadedGpuIndices(): number[] {
  return loaded ? loaded.gpus.map((g) => g.index) : [];
}

/**
 * @internal Runs `fn` with nodes recording device number `index`, unchecked (tests: what a
 * command for an absent device does).
 */
export function withDeviceIndex<T>(index: number, fn: () => T): T {
  scoped = true;
  return scopes.run(index, fn);
}

/**
 * The `device` of an op's options among its arguments (the last plain object that has one), for
 * ops whose options object may sit at several positions (kn.random's).
 */
export function optionsDevice(...args: unknown[]): DeviceLike | undefined {
  for (let i = args.length - 1; i >= 0; i--) {
    const a = args[i];
    if (a !== null && typeof a === 'object' && !Array.isArray(a) && !ArrayBuffer.isView(a) && Object.prototype.hasOwnProperty.call(a, 'device'))
      return (a as { device?: DeviceLike }).device;
  }
  return undefined;
}
