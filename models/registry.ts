// model_type -> family. Families register themselves on import (models/families.ts imports them all);
// createModel reads config.model_type and builds the model with random/zero weights to be loaded.
import type { LanguageModel, ModelFamily } from './types.js';

const families = new Map<string, ModelFamily>();

/**
 * Register a family under a `model_type` (a later registration replaces the earlier one).
 * @example
 * registerFamily('tiny', { create: (c) => new TinyModel(c) });
 * supportedModelTypes().includes('tiny') // true
 */
export function registerFamily(modelType: string, family: ModelFamily): void {
  if (typeof modelType !== 'string' || modelType.length === 0) {
    throw new Error(`[models] registerFamily: model_type must be a non-empty string, got ${String(modelType)}`);
  }
  families.set(modelType, family);
}

/**
 * The registered model types, sorted.
 * @example
 * supportedModelTypes() // ['llama', 'mistral', 'phi3', 'qwen2', 'qwen3']
 */
export function supportedModelTypes(): string[] {
  return [...families.keys()].sort();
}

/** The family of a model type, or undefined. */
export function getFamily(modelType: string): ModelFamily | undefined {
  return families.get(modelType);
}

/**
 * Build the model a config.json describes (weights freshly initialized; load them with loadWeights).
 * @example
 * const model = createModel({ model_type: 'llama', hidden_size: 64, ... });
 * model.numLayers // 2
 */
export function createModel(config: Record<string, unknown>): LanguageModel {
  if (config === null || typeof config !== 'object') throw new Error(`[models] createModel: config must be an object`);
  const type = config.model_type;
  const family = typeof type === 'string' ? families.get(type) : undefined;
  if (!family) {
    throw new Error(`[models] unknown model_type ${JSON.stringify(type)}; supported: ${supportedModelTypes().join(', ')}`);
  }
  return family.create(config);
}
