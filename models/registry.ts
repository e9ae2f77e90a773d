// model_type -> family. The built-in families are registered here (they never import the
// registry, so there is no import cycle); registerFamily adds or replaces one.
import { llamaFamily } from './llama.js';
import { mistralFamily } from './mistral.js';
import { phi3Family } from './phi3.js';
import { qwen2Family } from './qwen2.js';
import { qwen3Family } from './qwen3.js';
import type { LanguageModel, ModelFamily } from './types.js';

const families = new Map<string, ModelFamily>([
  ['llama', llamaFamily],
  ['mistral', mistralFamily],
  ['qwen2', qwen2Family],
  ['qwen3', qwen3Family],
  ['phi3', phi3Family],
]);

/**
 * Register a family under a `model_type` (a later registration replaces the earlier one).
 * @example
 * kn.models.registerFamily('tiny_llama', { create: (c) => kn.models.createModel({ ...c, model_type: 'llama' }) });
 * kn.models.supportedModelTypes().includes('tiny_llama') // true
 */
export function registerFamily(modelType: string, family: ModelFamily): void {
  if (typeof modelType !== 'string' || modelType.length === 0) {
    throw new Error(`[models] registerFamily: model_type must be a non-empty string, got ${String(modelType)}`);
  }
  if (!family || typeof family.create !== 'function') throw new Error(`[models] registerFamily: the family of "${modelType}" needs a create(config) function`);
  families.set(modelType, family);
}

/**
 * The registered model types, sorted.
 * @example
 * kn.models.supportedModelTypes().slice(0, 5) // ['llama', 'mistral', 'phi3', 'qwen2', 'qwen3']
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
 * const model = kn.models.createModel({ model_type: 'llama', hidden_size: 16, num_hidden_layers: 2, intermediate_size: 32, num_attention_heads: 4, num_key_value_heads: 2, vocab_size: 50 });
 * model.numLayers // 2
 * model.forward(kn.array([[1, 2, 3]], 'int32')).shape // [1, 3, 50]
 */
export function createModel(config: Record<string, unknown>): LanguageModel {
  if (config === null || typeof config !== 'object' || Array.isArray(config))
    throw new Error(`[models] createModel: config must be an object (parsed config.json)`);
  const type = config.model_type;
  const family = typeof type === 'string' ? families.get(type) : undefined;
  if (!family) {
    throw new Error(`[models] unknown model_type ${JSON.stringify(type ?? null)}; supported: ${supportedModelTypes().join(', ')}`);
  }
  return family.create(config);
}
