// kiln info M: what a model is (architecture, size, dtype, context, template) without generating.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { CliError, parse } from './args.js';
import { loadForCli } from './common.js';

export const INFO_HELP = `Usage: kiln info MODEL

Print a model's architecture, parameter count, dtype, size on disk, context length and whether
its tokenizer has a chat template. MODEL is a model folder, a .gguf file or a model id in the
local Hugging Face cache.

Options:
  -h, --help    this help
`;

/** Bytes of the weight files (and the rest of the folder) on disk. */
function diskSize(path: string): number {
  const st = statSync(path);
  if (!st.isDirectory()) return st.size;
  let total = 0;
  for (const f of readdirSync(path)) {
    const s = statSync(join(path, f));
    if (s.isFile()) total += s.size;
  }
  return total;
}

const human = (n: number): string => (n >= 1e9 ? `${(n / 1e9).toFixed(2)} B` : n >= 1e6 ? `${(n / 1e6).toFixed(2)} M` : `${n}`);
const bytes = (n: number): string => (n >= 2 ** 30 ? `${(n / 2 ** 30).toFixed(2)} GiB` : `${(n / 2 ** 20).toFixed(2)} MiB`);

export async function infoCommand(argv: string[]): Promise<void> {
  const { values: v, positionals } = parse('info', argv, { help: { type: 'boolean', short: 'h' } }, 1);
  if (v.help) {
    process.stdout.write(INFO_HELP);
    return;
  }
  const path = positionals[0];
  if (!path) throw new CliError('a model is required: kiln info MODEL (see kiln info --help)');
  const { kn, model, tokenizer, config } = await loadForCli(path);
  const params = kn.tree.flatten((model as unknown as InstanceType<typeof kn.nn.Module>).parameters()) as [string, InstanceType<typeof kn.Array>][];
  const count = params.reduce((s, [, a]) => s + a.size, 0);
  const byDtype = new Map<string, number>();
  for (const [, a] of params) byDtype.set(a.dtype, (byDtype.get(a.dtype) ?? 0) + a.size);
  const dtypes = [...byDtype.entries()].sort((a, b) => b[1] - a[1]).map(([d]) => d);
  const args = model.args as Record<string, unknown>;
  const resolved = kn.models.resolveModelPath(path);
  const rows: [string, string][] = [
    ['path', resolved],
    ['architecture', `${model.modelType}${Array.isArray(config.architectures) ? ` (${(config.architectures as string[]).join(', ')})` : ''}`],
    ['parameters', `${human(count)} (${count})`],
    ['dtype', dtypes.join(', ')],
    ['size on disk', bytes(diskSize(resolved))],
    ['context length', String(args.max_position_embeddings ?? config.max_position_embeddings ?? 'unknown')],
    ['layers', String(model.numLayers)],
    ['hidden size', String(args.hidden_size ?? config.hidden_size ?? '?')],
    ['attention heads', `${args.num_attention_heads ?? '?'} (${args.num_key_value_heads ?? '?'} key/value)`],
    ['vocabulary', `${model.vocabSize} (tokenizer: ${tokenizer.vocabSize})`],
    ['eos token ids', tokenizer.eosTokenIds.join(', ') || 'none'],
    ['chat template', tokenizer.hasChatTemplate ? 'yes' : 'no'],
  ];
  const w = Math.max(...rows.map(([k]) => k.length));
  process.stdout.write(rows.map(([k, val]) => `${k.padEnd(w)}  ${val}`).join('\n') + '\n');
}
