import { native, nativeInfo, type NativeIsa } from '../backends/native.js';
import { defaultDevice, devices, gpuUnavailableReason } from '../core/device.js';

/** One device in kn.info(): 'cpu' or 'gpu:N', its backend and name; GPUs also their arch and memory. */
export interface DeviceInfo {
  device: string;
  backend: string;
  name: string;
  arch: string | null;
  totalMemory: number | null;
}

/**
 * Backend description: kernels, threads and the vector level in use (`isa.level`: portable, avx2 or
 * avx512; set KILN_ISA=portable|avx2|avx512 or KILN_NO_SIMD=1 to lower it) with the CPU's features;
 * the devices (the CPU, then the GPUs; loads the CUDA backend), why no GPU is available
 * (`gpuUnavailable`, null when one is) and the default device.
 * @example ['portable', 'avx2', 'avx512'].includes(kn.info().isa.level) // true
 * @example kn.info().devices[0].device // 'cpu'
 */
export function info(): {
  backend: string;
  threads: number;
  isa: NativeIsa;
  kernels: string[];
  devices: DeviceInfo[];
  gpuUnavailable: string | null;
  defaultDevice: string;
} {
  const i = native.info();
  return {
    backend: i.backend,
    threads: i.threads,
    isa: i.isa,
    kernels: Object.keys(nativeInfo.kernels),
    devices: devices().map((d) => ({ device: d.toString(), backend: d.backend, name: d.name, arch: d.arch, totalMemory: d.totalMemory })),
    gpuUnavailable: gpuUnavailableReason(),
    defaultDevice: defaultDevice().toString(),
  };
}

/**
 * Sets the CPU thread pool size (0 = KILN_NUM_THREADS or the core count).
 * @example
 * kn.setNumThreads(1);
 * kn.info().threads // 1
 * kn.setNumThreads(0); // back to the default
 */
export function setNumThreads(n: number): void {
  native.setNumThreads(n);
}
