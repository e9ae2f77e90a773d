// kiln: lazy arrays for Node.js evaluated by native backends. `import * as kn from 'kilnjs'`.
export { NDArray, NDArray as Array } from './core/array.js';
export type { NestedList } from './core/array.js';
export { DTYPES, promoteTypes, resultType, isDType } from './core/dtype.js';
export type { DType } from './core/dtype.js';
export const bool = 'bool',
  uint8 = 'uint8',
  uint16 = 'uint16',
  uint32 = 'uint32',
  uint64 = 'uint64';
export const int8 = 'int8',
  int16 = 'int16',
  int32 = 'int32',
  int64 = 'int64';
export const float16 = 'float16',
  bfloat16 = 'bfloat16',
  float32 = 'float32',
  float64 = 'float64';
export { evaluate as eval, evalAsync, synchronize, dispose, tidy, keep, memory } from './core/memory.js';
export { setPrintOptions, getPrintOptions } from './core/format.js';
export { Float16Array } from './core/host.js';
export * from './ops/index.js';
export { info, setNumThreads } from './ops/info.js';
export { Device, cpu, gpu, devices, gpuAvailable, defaultDevice, setDefaultDevice, withDevice } from './core/device.js';
export type { DeviceLike, DeviceType } from './core/device.js';
export * as tree from './core/tree.js';
export * as nn from './nn/index.js';
export * as optim from './nn/optim/index.js';
export * as fast from './ops/fast/index.js';
export * as models from './models/index.js';
