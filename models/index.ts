// kn.models: Llama-family inference — loading (HF folders, GGUF, the local HF cache), tokenizers
// and chat templates, KV caches, sampling and generation (DESIGN.md §4).
export { load, loadModel, modelFromConfig, resolveModelPath } from './load.js';
export type { LoadOptions, LoadDtype, Loaded, LoadedModel } from './load.js';
export { readConfig } from './config.js';
export type { ModelConfig } from './config.js';
export { Tokenizer, cleanUpTokenization } from './tokenizer.js';
export type { TokenizerFromJSONOptions, EncodeOptions, DecodeOptions } from './tokenizer.js';
export { StreamingDetokenizer } from './detokenizer.js';
export type { DetokenizerOptions } from './detokenizer.js';
export { applyChatTemplate, pickChatTemplate } from './chat_template.js';
export type { ChatMessage, ChatTemplateOptions } from './chat_template.js';
export { ggufToTokenizerFiles } from './gguf_tokenizer.js';
export type { GgufTokenizerFiles } from './gguf_tokenizer.js';
export { KVCache, RotatingKVCache, makeCache, trimCache, canTrimCache, cacheState, savePromptCache, loadPromptCache } from './cache.js';
export type { CacheOptions, MakeCacheOptions } from './cache.js';
export { registerFamily, createModel, supportedModelTypes, getFamily } from './registry.js';
export type { KVCacheLike, LanguageModel, ForwardOptions, ModelFamily } from './types.js';
export { makeSampler, makeLogitsProcessors, applyTopP, applyTopK, applyMinP } from './sample.js';
export type { Sampler, LogitsProcessor, SamplerOptions, LogitsProcessorOptions } from './sample.js';
export { streamGenerate, generate } from './generate.js';
export type { GenerateOptions, GenerationResponse, TokenizerLike } from './generate.js';
export { batchGenerate } from './batch_generate.js';
export type { BatchGenerateOptions, BatchResponse } from './batch_generate.js';
export { generateStep } from './generate_step.js';
export type { StepOptions, StepResult } from './generate_step.js';
export { speculativeStep } from './speculative.js';
export type { SpeculativeOptions } from './speculative.js';
export { StopMatcher } from './stop.js';
