// The kiln command, spawned as a user runs it (node cli/kiln.mjs): help on every command, one-line
// usage errors with exit code 2, and generate/info/bench on a tiny model folder.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as kn from '../index.js';
import { writeTinyModel } from './models/tiny_model.js';

const KILN = fileURLToPath(new URL('../cli/kiln.mjs', import.meta.url));
const kiln = (args: string[], input?: string) => {
  const r = spawnSync(process.execPath, [KILN, ...args], { encoding: 'utf8', input, timeout: 120_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
};

let dir: string;
beforeAll(() => {
  dir = writeTinyModel({ seed: 2 });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('kiln --help', () => {
  it('lists the commands', () => {
    const r = kiln(['--help']);
    expect(r.code).toBe(0);
    for (const c of ['generate', 'chat', 'info', 'bench']) expect(r.out).toContain(c);
  });
  it.each(['generate', 'chat', 'info', 'bench'])('kiln %s --help', (cmd) => {
    const r = kiln([cmd, '--help']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(new RegExp(`^Usage: kiln ${cmd}`));
    expect(r.err).toBe('');
  });
});

describe('usage errors: one line, exit code 2', () => {
  const cases: [string[], RegExp][] = [
    [['generate', '--model', 'x', '--bogus'], /^kiln generate: Unknown option '--bogus'/],
    [['frobnicate'], /^kiln: unknown command 'frobnicate'/],
    [['generate', '--prompt', 'hi'], /^kiln generate: --model is required/],
    [['generate', '--model', '/no/such/model', '-p', 'hi'], /^kiln generate: cannot load model '\/no\/such\/model'/],
    [['generate', '--model', 'x', '--temp', 'hot'], /^kiln generate: --temp must be a number, got 'hot'/],
    [['generate', '--model', 'x', '--max-tokens', '1.5'], /^kiln generate: --max-tokens must be an integer, got '1.5'/],
    [['generate', '--model', 'x', '--dtype', 'int8'], /^kiln generate: --dtype must be one of float32, float16, bfloat16, got 'int8'/],
    [['generate', '--model', '/no/such/model', '--adapter-path', 'a'], /^kiln generate: cannot load model '\/no\/such\/model'/],
    [['info'], /^kiln info: a model is required/],
    [['info', '/no/such/model'], /^kiln info: cannot load model/],
    [['bench'], /^kiln bench: pass exactly one of --model and --config/],
    [['bench', '--config', 'gpt-99'], /^kiln bench: unknown config 'gpt-99'/],
    [['chat', '--model', 'x', '--top-k=-1'], /^kiln chat: --top-k must be >= 0, got -1/],
  ];
  it.each(cases)('kiln %j', (args, msg) => {
    const r = kiln(args);
    expect(r.code).toBe(2);
    expect(r.out).toBe('');
    expect(r.err.trimEnd().split('\n')).toHaveLength(1);
    expect(r.err).toMatch(msg);
  });
  it('a sampling value the library rejects is a usage error too', () => {
    const r = kiln(['generate', '--model', dir, '-p', 'hi', '--top-p', '1.5']);
    expect(r.code).toBe(2);
    expect(r.err.trim()).toBe('kiln generate: [generate] topP must be in (0, 1], got 1.5');
  });
});

describe('kiln generate', () => {
  it('prints only the generated text on stdout, the statistics on stderr', async () => {
    const r = kiln(['generate', '--model', dir, '--prompt', 'In the beginning', '-m', '12']);
    expect(r.code).toBe(0);
    // the same text as the library gives for the chat-templated prompt
    const { model, tokenizer } = await kn.models.load(dir);
    const ids = tokenizer.applyChatTemplate([{ role: 'user', content: 'In the beginning' }], { addGenerationPrompt: true });
    const expected = await kn.models.generate(model, tokenizer, ids, { maxTokens: 12 });
    expect(r.out).toBe(expected + '\n');
    expect(r.err).toMatch(/^Prompt: \d+ tokens, [\d.]+ tokens-per-sec\nGeneration: 12 tokens, [\d.]+ tokens-per-sec\nPeak memory: [\d.]+ GB\n$/);
  });
  it('reads the prompt from stdin with -p - and can skip the chat template', async () => {
    const r = kiln(['generate', '--model', dir, '-p', '-', '-m', '6', '--ignore-chat-template'], 'And God said\n');
    expect(r.code).toBe(0);
    const { model, tokenizer } = await kn.models.load(dir);
    expect(r.out).toBe((await kn.models.generate(model, tokenizer, 'And God said', { maxTokens: 6 })) + '\n');
  });
  it('seeded sampling is reproducible from the command line', () => {
    const a = kiln(['generate', '--model', dir, '-p', 'hi', '-m', '8', '--temp', '0.9', '--seed', '5']);
    const b = kiln(['generate', '--model', dir, '-p', 'hi', '-m', '8', '--temp', '0.9', '--seed', '5']);
    expect(a.code).toBe(0);
    expect(a.out).toBe(b.out);
  });
});

describe('kiln chat', () => {
  it('answers each line, keeps going after /help and /reset, leaves on /quit', () => {
    const r = kiln(['chat', '--model', dir, '-m', '5'], 'In the beginning\n/help\n/reset\nAnd God said\n/quit\n');
    expect(r.code).toBe(0);
    expect(r.out).toContain('/reset  forget the conversation');
    expect(r.out).toContain('(conversation reset)');
    expect(r.out.split('>> ').length).toBeGreaterThanOrEqual(6);
  });
  it('Ctrl-C stops the current answer, not the program', async () => {
    const p = spawn(process.execPath, [KILN, 'chat', '--model', dir, '-m', '100000'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d) => (out += d));
    const exited = new Promise<number | null>((resolve) => p.on('exit', resolve));
    p.stdin.write('In the beginning\n');
    const t0 = Date.now();
    // the answer is on its way (100000 tokens: it would take minutes) once the prompt is echoed
    while (!out.includes('>> ') && Date.now() - t0 < 50_000) await new Promise((r) => setTimeout(r, 50));
    await new Promise((r) => setTimeout(r, 1500));
    p.kill('SIGINT');
    while (!out.includes('[stopped]') && Date.now() - t0 < 60_000) await new Promise((r) => setTimeout(r, 50));
    p.stdin.write('/quit\n');
    expect(await exited).toBe(0);
    expect(out).toMatch(/ \[stopped\]\n>> $/);
  });
});

describe('kiln info and bench', () => {
  it('info describes the model', () => {
    const r = kiln(['info', dir]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/architecture\s+llama \(LlamaForCausalLM\)/);
    expect(r.out).toMatch(/parameters\s+4\.12 M \(4122784\)/); // 128256 * 32 embedding + 2 layers + norm
    expect(r.out).toMatch(/dtype\s+float32/);
    expect(r.out).toMatch(/context length\s+4096/);
    expect(r.out).toMatch(/chat template\s+yes/);
  });
  it('bench prints a llama-bench table', () => {
    const r = kiln(['bench', '--model', dir, '-p', '16', '-g', '4', '-n', '1']);
    expect(r.code).toBe(0);
    const lines = r.out.trim().split('\n');
    expect(lines[0]).toMatch(/^\| model\s+\| params\s+\| size\s+\| dtype\s+\| device\s+\| test\s+\| t\/s\s+\| GB\/s\s+\|$/);
    expect(lines[2]).toMatch(/\| 4\.12 M \| .* \| cpu \d+t\s+\| pp16 \| [\d.]+ ± [\d.]+\s+\|\s+\|$/);
    const tg = lines[3].match(/\| tg4\s+\| ([\d.]+) ± [\d.]+\s+\| ([\d.]+)\s+\|$/);
    expect(tg).not.toBeNull();
    // GB/s is the weights' bytes (4122784 float32 parameters) times tokens per second
    expect(Number(tg![2])).toBeCloseTo((4122784 * 4 * Number(tg![1])) / 1e9, 1);
    expect(r.err).toMatch(
      /cpu \(.*\): memory bandwidth [\d.]+ GB\/s read \(kn.sum\), [\d.]+ GB\/s copy; generation reads the weights at [\d.]+ GB\/s, \d+ % of the larger/,
    );
  });
});
