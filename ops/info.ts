import { native, nativeInfo, type NativeIsa } from '../backends/native.js';

/**
 * Backend description: kernels, threads and the vector level in use (`isa.level`: portable, avx2 or
 * avx512; set KILN_ISA=portable|avx2|avx512 or KILN_NO_SIMD=1 to lower it) with the CPU's features.
 * @example ['portable', 'avx2', 'avx512'].includes(kn.info().isa.level) // true
 */
export function info(): { backend: string; threads: number; isa: NativeIsa; kernels: string[] } {
  const i = native.info();
  return { backend: i.backend, threads: i.threads, isa: i.isa, kernels: Object.keys(nativeInfo.kernels) };
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
