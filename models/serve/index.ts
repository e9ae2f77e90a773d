// kiln serve as a library: the OpenAI-compatible server and the engine under it (DESIGN.md §4).
export { createServer } from './server.js';
export type { ServerOptions, KilnServer } from './server.js';
export { Engine } from './engine.js';
export type { EngineOptions, EngineStats, SeqHandle } from './engine.js';
export { ApiError } from './errors.js';
export { parseRequest } from './request.js';
export type { ParsedRequest, Limits, ServeTokenizer } from './request.js';
export type { SamplingParams } from './sampling.js';
export type { SeqEvent, SeqRequest } from './sequence.js';
