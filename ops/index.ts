// Every user-facing op, as `kn.*`. Importing this module also installs the Array methods.
import './methods.js';
export * from './creation.js';
export * from './elementwise.js';
export * from './reduce.js';
export * from './views.js';
export * from './shape.js';
export * from './indexing.js';
export * from './datadep.js';
export { matmul } from './matmul.js';
export * from './contract.js';
export * as linalg from './linalg.js';
export { finfo, iinfo, canCast, issubdtype } from './dtype_info.js';
export type { FInfo, IInfo, DTypeCategory } from './dtype_info.js';
export type { Operand } from './elementwise.js';
export type { DTypeArg } from './convert.js';
