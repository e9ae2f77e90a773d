// kiln chat: a REPL over readline. The conversation is kept and re-rendered through the chat
// template each turn; the KV cache is reused for the part of the conversation it already holds.
// Ctrl-C stops the current answer (not the program); /reset, /quit, /help.
import * as readline from 'node:readline';
import { CliError, dtypeFlag, num, parse, str } from './args.js';
import { chatTokens, loadForCli, type Message } from './common.js';
import { samplingFlags } from './generate.js';

export const CHAT_HELP = `Usage: kiln chat --model M [options]

Chat with a model in the terminal. Commands: /reset (forget the conversation), /quit
(or Ctrl-D), /help. Ctrl-C stops the current answer.

Options:
  --model PATH               model folder, .gguf file or Hugging Face model id (required)
  -m, --max-tokens N         most tokens per answer (default 512)
  --temp T, --top-p P, --top-k K, --min-p P, --seed S    sampling (as kiln generate)
  --system-prompt TEXT       a system message at the start of the conversation
  --max-kv-size N            rotating KV cache of N tokens
  --adapter-path PATH        apply a LoRA adapter (kiln lora's folder or a PEFT folder)
  --dtype D                  float32, float16 or bfloat16
  -h, --help                 this help
`;

const REPL_HELP = '/reset  forget the conversation\n/quit   leave (also Ctrl-D)\n/help   this list\nCtrl-C  stop the current answer\n';

const OPTIONS = {
  model: { type: 'string' },
  'max-tokens': { type: 'string', short: 'm' },
  temp: { type: 'string' },
  'top-p': { type: 'string' },
  'top-k': { type: 'string' },
  'min-p': { type: 'string' },
  seed: { type: 'string' },
  'system-prompt': { type: 'string' },
  'max-kv-size': { type: 'string' },
  'adapter-path': { type: 'string' },
  dtype: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** Length of the common prefix of two id lists. */
const commonPrefix = (a: readonly number[], b: readonly number[]) => {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return i;
};

export async function chatCommand(argv: string[]): Promise<void> {
  const { values: v } = parse('chat', argv, OPTIONS as never);
  if (v.help) {
    process.stdout.write(CHAT_HELP);
    return;
  }
  const modelPath = str(v, 'model');
  if (!modelPath) throw new CliError('--model is required (see kiln chat --help)');
  const maxTokens = num(v, 'max-tokens', { int: true, min: 1 }) ?? 512;
  const sampling = samplingFlags(v);
  const system = str(v, 'system-prompt');
  const { kn, model, tokenizer } = await loadForCli(modelPath, dtypeFlag(v), str(v, 'adapter-path'));
  if (!tokenizer.hasChatTemplate) process.stderr.write('note: this tokenizer has no chat template; turns are sent as plain text\n');

  const fresh = (): Message[] => (system ? [{ role: 'system', content: system }] : []);
  let history = fresh();
  let cache = kn.models.makeCache(model, { maxKvSize: sampling.maxKvSize });
  let cached: number[] = []; // the ids the cache holds, in order
  const render = (msgs: Message[]): number[] =>
    tokenizer.hasChatTemplate ? chatTokens(tokenizer, msgs) : tokenizer.encode(msgs.map((m) => m.content).join('\n') + '\n');

  const rl = readline.createInterface({ input: process.stdin, output: process.stdout, terminal: process.stdin.isTTY === true, prompt: '>> ' });
  let generating = false,
    stopRequested = false;
  rl.on('SIGINT', () => {
    if (generating) stopRequested = true;
    else {
      process.stdout.write('\n(type /quit or press Ctrl-D to leave)\n');
      rl.prompt();
    }
  });
  // without a TTY, Ctrl-C reaches the process: stop the answer, keep the program
  const onSigint = () => {
    if (generating) stopRequested = true;
  };
  if (!process.stdin.isTTY) process.on('SIGINT', onSigint);
  // the iterator buffers lines typed (or piped) while an answer is generated
  const lines = rl[Symbol.asyncIterator]();
  const ask = async (): Promise<string | null> => {
    rl.prompt();
    const r = await lines.next();
    return r.done ? null : (r.value as string);
  };

  process.stdout.write('Chat with the model. /help lists the commands.\n');
  for (;;) {
    const line = await ask();
    if (line === null) break;
    const text = line.trim();
    if (!text) continue;
    if (text === '/quit' || text === '/exit') break;
    if (text === '/help') {
      process.stdout.write(REPL_HELP);
      continue;
    }
    if (text === '/reset') {
      history = fresh();
      kn.dispose(cache.flatMap((c) => c.state));
      cache = kn.models.makeCache(model, { maxKvSize: sampling.maxKvSize });
      cached = [];
      process.stdout.write('(conversation reset)\n');
      continue;
    }
    history.push({ role: 'user', content: text });
    const ids = render(history);
    // reuse the cached prefix when the cache can be trimmed back to it
    let feed = ids;
    // (the cache may hold one token fewer than `cached` when the answer hit maxTokens, or one more)
    const keep = Math.min(commonPrefix(cached, ids), ids.length - 1, cache[0].offset);
    if (cache.every((c) => c.isTrimmable())) {
      for (const c of cache) c.trim(c.offset - keep);
      feed = ids.slice(keep);
      cached = ids.slice(0, keep);
    } else {
      kn.dispose(cache.flatMap((c) => c.state));
      cache = kn.models.makeCache(model, { maxKvSize: sampling.maxKvSize });
      cached = [];
    }
    generating = true;
    stopRequested = false;
    let answer = '';
    const produced: number[] = [];
    try {
      for await (const r of kn.models.streamGenerate(model, tokenizer, feed, { maxTokens, ...sampling, promptCache: cache })) {
        process.stdout.write(r.text);
        answer += r.text;
        produced.push(r.token);
        if (stopRequested) break;
      }
    } catch (e) {
      if (/^\[generate\]/.test((e as Error).message)) throw new CliError((e as Error).message);
      throw e;
    } finally {
      generating = false;
    }
    process.stdout.write(stopRequested ? ' [stopped]\n' : '\n');
    cached = [...cached, ...feed, ...produced];
    history.push({ role: 'assistant', content: answer });
  }
  process.off('SIGINT', onSigint);
  rl.close();
}
