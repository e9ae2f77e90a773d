// kiln serve: the OpenAI-compatible server (models/serve) on a port. Loopback only unless --host
// says otherwise; SIGINT/SIGTERM stop accepting, let running streams finish (up to
// --drain-timeout) and exit 0. A second signal exits at once.
import { totalmem } from 'node:os';
import { basename } from 'node:path';
import { CliError, dtypeFlag, num, parse, str } from './args.js';
import { loadForCli } from './common.js';

export const SERVE_HELP = `Usage: kiln serve --model M [options]

An OpenAI-compatible HTTP server with continuous batching, a paged KV cache and prefix reuse.
Endpoints: POST /v1/chat/completions, POST /v1/completions (stream: true for SSE),
GET /v1/models, GET /health, GET /metrics (Prometheus text).

Options:
  --model PATH               model folder, .gguf file or Hugging Face model id (required)
  --host HOST                address to listen on (default 127.0.0.1: this machine only)
  --port N                   port (default 8080; 0 picks a free one)
  --model-name NAME          the model id clients send (default: the folder or file name)
  --max-concurrency N        most sequences decoded together (default 32)
  --max-queue N              most sequences waiting; past it requests get 429 (default 256)
  --max-tokens N             the largest max_tokens a request may ask, and its default (default 512)
  --kv-budget SIZE           KV pool size: bytes (1073741824, 512MB, 2GiB) or a share of RAM (10%)
                             (default: room for max-concurrency full contexts, at most 1 GiB)
  --block-size N             token slots per KV block (default 16)
  --prefill-chunk N          most prompt tokens prefilled per step, shared by new requests (default 256)
  --no-prefix-cache          do not reuse KV blocks of shared prompt prefixes
  --api-key KEY              require Authorization: Bearer KEY (also read from KILN_API_KEY)
  --allowed-origins LIST     comma-separated browser origins allowed (CORS; '*' for any);
                             requests from other origins get 403 (default: none)
  --drain-timeout S          seconds running streams get to finish on SIGINT/SIGTERM (default 30)
  --adapter-path PATH        LoRA adapter (not supported yet)
  --dtype D                  convert weights to float32, float16 or bfloat16 on load
  -h, --help                 this help
`;

const OPTIONS = {
  model: { type: 'string' },
  host: { type: 'string' },
  port: { type: 'string' },
  'model-name': { type: 'string' },
  'max-concurrency': { type: 'string' },
  'max-queue': { type: 'string' },
  'max-tokens': { type: 'string' },
  'kv-budget': { type: 'string' },
  'block-size': { type: 'string' },
  'prefill-chunk': { type: 'string' },
  'no-prefix-cache': { type: 'boolean' },
  'api-key': { type: 'string' },
  'allowed-origins': { type: 'string' },
  'drain-timeout': { type: 'string' },
  'adapter-path': { type: 'string' },
  dtype: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

const UNITS: Record<string, number> = { '': 1, b: 1, k: 1e3, kb: 1e3, m: 1e6, mb: 1e6, g: 1e9, gb: 1e9, kib: 2 ** 10, mib: 2 ** 20, gib: 2 ** 30 };

/** --kv-budget: bytes with an optional unit, or a percentage of the machine's memory. */
export function parseKvBudget(raw: string, total = totalmem()): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(%|[a-zA-Z]*)\s*$/.exec(raw);
  const bad = () => new CliError(`--kv-budget must be bytes (1073741824, 512MB, 2GiB) or a share of memory (10%), got '${raw}'`);
  if (!m) throw bad();
  const v = Number(m[1]);
  if (m[2] === '%') {
    if (!(v > 0 && v <= 90)) throw new CliError(`--kv-budget percentage must be in (0, 90], got ${v}%`);
    return Math.floor((total * v) / 100);
  }
  const unit = UNITS[m[2].toLowerCase()];
  if (unit === undefined) throw bad();
  const bytes = Math.floor(v * unit);
  if (bytes < 1) throw bad();
  return bytes;
}

export async function serveCommand(argv: string[]): Promise<void> {
  const { values: v } = parse('serve', argv, OPTIONS);
  if (v.help) {
    process.stdout.write(SERVE_HELP);
    return;
  }
  const modelPath = str(v, 'model');
  if (!modelPath) throw new CliError('--model is required (see kiln serve --help)');
  if (str(v, 'adapter-path') !== undefined) throw new CliError('--adapter-path is not supported yet (LoRA adapters come with the LoRA issue)');
  const host = str(v, 'host') ?? '127.0.0.1';
  const port = num(v, 'port', { int: true, min: 0, max: 65535 }) ?? 8080;
  const maxConcurrency = num(v, 'max-concurrency', { int: true, min: 1 }) ?? 32;
  const maxQueue = num(v, 'max-queue', { int: true, min: 0 }) ?? 256;
  const maxTokens = num(v, 'max-tokens', { int: true, min: 1 }) ?? 512;
  const blockSize = num(v, 'block-size', { int: true, min: 1, max: 1024 }) ?? 16;
  const prefillChunk = num(v, 'prefill-chunk', { int: true, min: 1 }) ?? 256;
  const drainS = num(v, 'drain-timeout', { min: 0 }) ?? 30;
  const kvRaw = str(v, 'kv-budget');
  const kvBudgetBytes = kvRaw === undefined ? undefined : parseKvBudget(kvRaw);
  const apiKey = str(v, 'api-key') ?? process.env.KILN_API_KEY ?? null;
  if (apiKey !== null && apiKey.length === 0) throw new CliError('--api-key must not be empty');
  const origins = (str(v, 'allowed-origins') ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const dtype = dtypeFlag(v);
  const modelId = str(v, 'model-name') ?? basename(modelPath.replace(/[/\\]+$/, ''));

  const { kn, model, tokenizer } = await loadForCli(modelPath, dtype);
  let server;
  try {
    server = kn.models.createServer({
      model,
      tokenizer,
      modelId,
      apiKey,
      allowedOrigins: origins,
      maxQueue,
      maxTokens,
      maxConcurrency,
      blockSize,
      prefillChunk,
      prefixCache: v['no-prefix-cache'] !== true,
      ...(kvBudgetBytes !== undefined ? { kvBudgetBytes } : {}),
    });
  } catch (e) {
    throw new CliError((e as Error).message.replace(/^\[(serve|createServer)\] /, ''));
  }
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) =>
      reject(new CliError(e.code === 'EADDRINUSE' ? `port ${port} on ${host} is in use (--port)` : `cannot listen on ${host}:${port}: ${e.message}`)),
    );
    server.listen(port, host, () => resolve());
  });
  const addr = server.address();
  const where = typeof addr === 'object' && addr ? `http://${addr.family === 'IPv6' ? `[${addr.address}]` : addr.address}:${addr.port}` : String(addr);
  const e = server.engine;
  process.stderr.write(
    `kiln serve: ${modelId} on ${where}/v1 (KV pool ${e.pool.numBlocks} blocks x ${e.blockSize} tokens = ${e.capacityTokens} tokens, ` +
      `${(e.kv.bytes / 2 ** 20).toFixed(1)} MiB; max concurrency ${e.maxConcurrency}${apiKey ? '; API key required' : ''})\n`,
  );
  if (host !== '127.0.0.1' && host !== 'localhost' && host !== '::1' && !apiKey)
    process.stderr.write(`kiln serve: warning: listening on ${host} without --api-key; anyone who can reach this address can use the model\n`);
  await new Promise<void>((resolve) => {
    let stopping = false;
    const stop = (sig: string) => {
      if (stopping) process.exit(1);
      stopping = true;
      process.stderr.write(`kiln serve: ${sig}: draining (running streams get ${drainS} s)\n`);
      server.drain(drainS * 1000).then(resolve, resolve);
    };
    process.on('SIGINT', () => stop('SIGINT'));
    process.on('SIGTERM', () => stop('SIGTERM'));
  });
  process.stderr.write('kiln serve: stopped\n');
}
