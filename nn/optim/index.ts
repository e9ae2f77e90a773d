// kn.optim: optimizers, learning-rate schedules and gradient clipping (MLX's mlx.optimizers).
export { Optimizer } from './optimizer.js';
export type { LearningRate, Schedule, SlotState, Trainable } from './optimizer.js';
export { SGD, type SGDOptions } from './sgd.js';
export { Adam, type AdamOptions } from './adam.js';
export { AdamW, type AdamWOptions } from './adamw.js';
export { Adamax, type AdamaxOptions } from './adamax.js';
export { Adagrad, type AdagradOptions } from './adagrad.js';
export { AdaDelta, type AdaDeltaOptions } from './adadelta.js';
export { RMSprop, type RMSpropOptions } from './rmsprop.js';
export { Lion, type LionOptions } from './lion.js';
export { Adafactor, type AdafactorOptions } from './adafactor.js';
export { linearSchedule, cosineDecay, exponentialDecay, stepDecay, joinSchedules } from './schedules.js';
export { clipGradNorm } from './clip.js';
