// Pieces the model commands share: loading a model with one-line errors, the prompt from a flag
// or stdin, and the chat-template rendering of a prompt. kiln itself is imported lazily so that
// --help and usage errors answer without loading the native addon.
import { CliError } from './args.js';
import type { ModelDType } from './args.js';

export type Kiln = typeof import('../index.js');
type Loaded = Awaited<ReturnType<Kiln['models']['load']>>;
export type CliTokenizer = Loaded['tokenizer'];
export type CliModel = Loaded['model'];

export async function kiln(): Promise<Kiln> {
  return import('../index.js');
}

/** Loads a model; a missing or broken model is a one-line usage error. */
export async function loadForCli(path: string, dtype?: ModelDType, adapterPath?: string): Promise<Loaded & { kn: Kiln }> {
  const kn = await kiln();
  let r: Loaded;
  try {
    r = await kn.models.load(path, { ...(dtype ? { dtype } : {}), progress: process.stderr.isTTY === true });
  } catch (e) {
    throw new CliError(`cannot load model '${path}': ${(e as Error).message.split('\n')[0]}`);
  }
  if (adapterPath === undefined) return { ...r, kn };
  try {
    kn.models.lora.loadAdapters(r.model as unknown as InstanceType<Kiln['nn']['Module']>, adapterPath);
    return { ...r, kn };
  } catch (e) {
    throw new CliError(`cannot apply adapter '${adapterPath}': ${(e as Error).message.split('\n')[0]}`);
  }
}

/** The --prompt value; '-' reads all of stdin. */
export async function readPrompt(p: string): Promise<string> {
  if (p !== '-') return p;
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
}

export interface Message {
  role: string;
  content: string;
  [key: string]: unknown;
}

/** Token ids of a prompt: through the chat template (with an optional system message) when there is one. */
export function promptTokens(tokenizer: CliTokenizer, prompt: string, opts: { system?: string; ignoreChatTemplate?: boolean } = {}): number[] {
  if (prompt.length === 0) throw new CliError('the prompt is empty');
  if (tokenizer.hasChatTemplate && !opts.ignoreChatTemplate) {
    const messages: Message[] = opts.system ? [{ role: 'system', content: opts.system }] : [];
    messages.push({ role: 'user', content: prompt });
    return chatTokens(tokenizer, messages);
  }
  return tokenizer.encode(prompt);
}

/** A conversation rendered by the chat template with the assistant's turn opened. */
export function chatTokens(tokenizer: CliTokenizer, messages: Message[]): number[] {
  return tokenizer.applyChatTemplate(messages, { addGenerationPrompt: true, tokenize: true });
}
