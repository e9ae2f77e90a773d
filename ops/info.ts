import { native, nativeInfo } from '../backends/native.js';

/** Backend description: kernels, dtypes, threads and the CPU features found. @example kn.info().threads */
export function info(): { backend: string; threads: number; isa: Record<string, boolean>; kernels: string[] } {
  const i = native.info();
  return { backend: i.backend, threads: i.threads, isa: i.isa, kernels: Object.keys(nativeInfo.kernels) };
}

/** Sets the CPU thread pool size (0 = KILN_NUM_THREADS or the core count). @example kn.setNumThreads(1) */
export function setNumThreads(n: number): void {
  native.setNumThreads(n);
}
