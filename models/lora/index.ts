// kn.models.lora: LoRA / DoRA fine-tuning (layers, applying and fusing adapters, adapter files in
// mlx-lm's layout and Hugging Face PEFT's, training data, the trainer).
export { LoRALinear, DoRALinear, withDropoutKey, denseWeight } from './layers.js';
export type { LoRAOptions } from './layers.js';
export { applyLoRA, fuseLoRA, loraLayers, blocksOf, coveredBlocks } from './apply.js';
export type { ApplyOptions, FineTuneType, LoRAParameters } from './apply.js';
export { saveAdapters, loadAdapters, loadAdapterWeights, readAdapterConfig, adapterWeights, ADAPTER_CONFIG, ADAPTER_FILE } from './adapters.js';
export type { AdapterConfig } from './adapters.js';
export { exportPeft, loadPeftAdapter, isPeftFolder, peftScale } from './peft.js';
export type { PeftExportOptions } from './peft.js';
export { lossAndCount, targetMask } from './loss.js';
export { loadJsonl, loadDatasets, tokenizeRecord } from './data.js';
export type { DataFormat, Example, Dataset, DataTokenizer, DataOptions } from './data.js';
export { planBatches, makeBatch, batchIndexAt, permutation } from './batches.js';
export type { Batch, BatchPlan } from './batches.js';
export { train, evaluateLoss, enableGradCheckpoint, saveCheckpoint, resumeFrom, checkpointName } from './trainer.js';
export type { TrainOptions, TrainReport, EvalReport, TrainResult, ResumeState } from './trainer.js';
export { fuseAndSave, tokenizerGgufMetadata } from './fuse.js';
export type { FuseOptions } from './fuse.js';
