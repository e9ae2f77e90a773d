// kiln lora / kiln fuse / kiln generate --adapter-path as a user runs them, on the shipped model:
// a short training run from a YAML config (files in mlx-lm's layout, reports, checkpoints), --test,
// --export-peft, fusing (folder and GGUF) with the same greedy tokens as base + adapter, and
// one-line usage errors.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as kn from '../../index.js';

const KILN = fileURLToPath(new URL('../../cli/kiln.mjs', import.meta.url));
const kiln = (args: string[]) => {
  const r = spawnSync(process.execPath, [KILN, ...args], { encoding: 'utf8', timeout: 240_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
};
const MODEL = 'examples/models/kjv-llama-5m';
const tmp = mkdtempSync(join(tmpdir(), 'kiln-lora-cli-'));
const data = join(tmp, 'data'),
  ad = join(tmp, 'adapters');
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const chat = (u: string, a: string) =>
  JSON.stringify({
    messages: [
      { role: 'user', content: u },
      { role: 'assistant', content: a },
    ],
  });
let train: ReturnType<typeof kiln>;
beforeAll(() => {
  mkdirSync(data);
  const lines = ['Thou art', 'Ye shall', 'He hath', 'Unto thee', 'Thy word', 'Thou shalt', 'He saith', 'Thine eyes'].map((v) =>
    chat(
      `In plain English: ${v} spoken.`,
      `${v
        .replace(/Thou|Ye/, 'You')
        .replace('hath', 'has')
        .replace(/Unto thee/, 'To you')
        .replace(/Thy|Thine/, 'Your')
        .replace('shalt', 'shall')
        .replace('saith', 'says')} spoken.`,
    ),
  );
  writeFileSync(join(data, 'train.jsonl'), lines.join('\n') + '\n');
  writeFileSync(join(data, 'valid.jsonl'), lines.slice(0, 4).join('\n') + '\n');
  writeFileSync(join(data, 'test.jsonl'), lines.slice(4).join('\n') + '\n');
  writeFileSync(
    join(tmp, 'config.yaml'),
    [
      `model: ${MODEL}`,
      `data: ${data}`,
      `adapter_path: ${ad}`,
      'mask_prompt: true',
      'num_layers: 2',
      'lora_parameters:',
      '  rank: 4',
      '  scale: 10.0',
      '  keys: [q_proj, v_proj, down_proj]',
      'learning_rate: 2.0e-3',
      'batch_size: 2',
      'iters: 6',
      'steps_per_report: 3',
      'steps_per_eval: 6',
      'save_every: 3',
    ].join('\n') + '\n',
  );
  train = kiln(['lora', '-c', join(tmp, 'config.yaml'), '--train', '--seed', '1']);
}, 240_000);

describe('kiln lora --train', () => {
  it('trains from a YAML config and writes the adapter, its config and numbered checkpoints', () => {
    expect(train.err).toMatch(/6 layers adapted/);
    expect(train.code).toBe(0);
    expect(train.err).toMatch(/Iter 0: Val loss \d+\.\d{3}/);
    expect(train.err).toMatch(
      /Iter 3: Train loss \d+\.\d{3}, Learning Rate 2\.000e-3, It\/sec [\d.]+, Tokens\/sec [\d.]+, Trained Tokens \d+, Peak mem [\d.]+ GB/,
    );
    expect(train.err).toMatch(/Iter 6: Val loss/);
    const val = [...train.err.matchAll(/Val loss (\d+\.\d+)/g)].map((m) => +m[1]);
    expect(val[1]).toBeLessThan(val[0]);
    for (const f of ['adapters.safetensors', 'adapter_config.json', '0000003_adapters.safetensors', '0000003_optimizer.safetensors', '0000006_state.json'])
      expect(existsSync(join(ad, f)), f).toBe(true);
    const cfg = JSON.parse(readFileSync(join(ad, 'adapter_config.json'), 'utf8'));
    expect(cfg).toMatchObject({
      fine_tune_type: 'lora',
      num_layers: 2,
      lora_parameters: { rank: 4, scale: 10, keys: ['q_proj', 'v_proj', 'down_proj'] },
      seed: 1,
    });
    expect(Object.keys(kn.loadSafetensors(join(ad, 'adapters.safetensors')).tensors)).toContain('model.layers.5.mlp.down_proj.lora_b');
  });
  it('--test reports the loss of the adapter; --export-peft writes a PEFT folder with the same logits', { timeout: 240_000 }, async () => {
    const r = kiln(['lora', '--model', MODEL, '--adapter-path', ad, '--data', data, '--test', '--export-peft', join(tmp, 'peft')]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^Test loss \d+\.\d{3}, Test ppl \d+\.\d{3}\.\n$/);
    const peft = JSON.parse(readFileSync(join(tmp, 'peft', 'adapter_config.json'), 'utf8'));
    expect(peft).toMatchObject({ peft_type: 'LORA', r: 4, lora_alpha: 40, target_modules: ['down_proj', 'q_proj', 'v_proj'], layers_to_transform: [4, 5] });
    const t = kn.array([[2042, 286, 387, 376]], 'int32');
    const a = (await kn.models.load(MODEL, { adapterPath: ad })).model.forward(t).tolist();
    const b = (await kn.models.load(MODEL, { adapterPath: join(tmp, 'peft') })).model.forward(t).tolist();
    expect(b).toEqual(a);
    const base = (await kn.models.load(MODEL)).model.forward(t).tolist();
    expect(base).not.toEqual(a);
  });
  it('resumes from a numbered checkpoint', { timeout: 240_000 }, () => {
    const r = kiln([
      'lora',
      '-c',
      join(tmp, 'config.yaml'),
      '--train',
      '--seed',
      '1',
      '--adapter-path',
      join(tmp, 'resumed'),
      '--resume-adapter-file',
      join(ad, '0000003_adapters.safetensors'),
    ]);
    expect(r.code).toBe(0);
    expect(r.err).toMatch(/Resuming at iteration 3/);
    expect(readFileSync(join(tmp, 'resumed', 'adapters.safetensors')).equals(readFileSync(join(ad, 'adapters.safetensors')))).toBe(true);
  });
});

describe('Ctrl-C', () => {
  it('saves the adapter and a resumable checkpoint, then exits', { timeout: 240_000 }, async () => {
    const out = join(tmp, 'interrupted');
    const child = spawn(process.execPath, [
      KILN,
      'lora',
      '-c',
      join(tmp, 'config.yaml'),
      '--train',
      '--iters',
      '100000',
      '--steps-per-report',
      '1',
      '--adapter-path',
      out,
    ]);
    let err = '';
    await new Promise<void>((done) => {
      child.stderr.on('data', (d: Buffer) => {
        err += d.toString();
        if (/Iter 2: Train loss/.test(err) && !child.killed) child.kill('SIGINT');
      });
      child.on('exit', () => done());
    });
    expect(err).toMatch(/Interrupted: saving the adapter/);
    expect(err).toMatch(/Stopped after \d+ iterations/);
    expect(child.exitCode).toBe(0);
    const ckpt = readdirSync(out).filter((f) => /^\d{7}_adapters\.safetensors$/.test(f));
    expect(ckpt.length).toBe(1);
    expect(existsSync(join(out, ckpt[0].replace('adapters', 'optimizer')))).toBe(true);
    expect(readFileSync(join(out, ckpt[0])).equals(readFileSync(join(out, 'adapters.safetensors')))).toBe(true);
  });
});

describe('kiln fuse and kiln generate --adapter-path', () => {
  it('the fused folder and GGUF file generate the tokens of base + adapter', { timeout: 240_000 }, async () => {
    const f = kiln(['fuse', '--model', MODEL, '--adapter-path', ad, '--save-path', join(tmp, 'fused'), '--export-gguf', join(tmp, 'fused.gguf')]);
    expect(f.code).toBe(0);
    expect(f.err).toMatch(/Fused 6 adapter layers/);
    const prompt = 'In plain English: Thou art spoken.';
    const cli = kiln(['generate', '--model', MODEL, '--adapter-path', ad, '-p', prompt, '-m', '12']);
    expect(cli.code).toBe(0);
    const text = async (path: string, opts = {}) => {
      const { model, tokenizer } = await kn.models.load(path, opts);
      const ids = tokenizer.applyChatTemplate([{ role: 'user', content: prompt }], { addGenerationPrompt: true });
      return kn.models.generate(model, tokenizer, ids, { maxTokens: 12 });
    };
    const adapted = await text(MODEL, { adapterPath: ad });
    expect(cli.out).toBe(adapted + '\n');
    expect(await text(join(tmp, 'fused'))).toBe(adapted);
    expect(await text(join(tmp, 'fused.gguf'))).toBe(adapted);
    expect(await text(MODEL)).not.toBe(adapted);
  });
});

describe('usage errors: one line, exit code 2', () => {
  it('an adapter that is not there', { timeout: 120_000 }, () => {
    const r = kiln(['generate', '--model', MODEL, '--adapter-path', join(tmp, 'none')]);
    expect(r.err).toMatch(/^kiln generate: cannot apply adapter '.*none': \[lora\] adapter path .* does not exist/);
    expect(r.err.trimEnd().split('\n')).toHaveLength(1);
    expect(r.code).toBe(2);
  });
  it('a bad data line names the file and line', { timeout: 120_000 }, () => {
    mkdirSync(join(tmp, 'bd'), { recursive: true });
    writeFileSync(join(tmp, 'bd', 'train.jsonl'), chat('a', 'b') + '\n{"prompt": "x"}\n');
    const r = kiln(['lora', '--model', MODEL, '--train', '--data', join(tmp, 'bd')]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/^kiln lora: \[lora.data\] .*train.jsonl line 2: expected a chat record \("messages"\) like line 1, got keys \["prompt"\]\n$/);
  });
  it('settings: flags and config files are checked, flags win over the file', async () => {
    const { mergeSettings, readConfigFile } = await import('../../cli/lora_config.js');
    writeFileSync(join(tmp, 'bad.yaml'), 'itrs: 3\n');
    await expect(readConfigFile(join(tmp, 'bad.yaml'))).rejects.toThrow(/-c .*bad.yaml: unknown setting 'itrs'/);
    writeFileSync(join(tmp, 'bad2.yaml'), 'iters: [3\n');
    await expect(readConfigFile(join(tmp, 'bad2.yaml'))).rejects.toThrow(/bad2.yaml is not valid YAML/);
    expect(() => mergeSettings({}, { 'fine-tune-type': 'qlora' })).toThrow(/--fine-tune-type must be one of lora, dora, full, got 'qlora'/);
    expect(() => mergeSettings({ iters: 'many' }, {}, 'c.yaml')).toThrow(/-c c.yaml: iters must be an integer, got "many"/);
    expect(() => mergeSettings({}, { 'lora-dropout': '1' })).toThrow(/lora dropout must be in \[0, 1\), got 1/);
    const s = mergeSettings({ iters: 5, lora_parameters: { rank: 4 } }, { iters: '7', 'lora-scale': '3', 'lora-keys': 'q_proj,v_proj' }, 'c.yaml');
    expect([s.iters, s.lora_parameters]).toEqual([7, { rank: 4, dropout: 0, scale: 3, keys: ['q_proj', 'v_proj'] }]);
  });
});
