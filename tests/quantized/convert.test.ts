// kiln convert (cli/convert.ts), spawned as a user runs it: -q writes an MLX-layout folder that
// loads back quantized and close to the source, --dequantize turns it back into float weights,
// --kv-bits reaches generate, and bad flags are one-line usage errors (exit code 2).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import * as kn from '../../index.js';

const KILN = fileURLToPath(new URL('../../cli/kiln.mjs', import.meta.url));
const KJV = fileURLToPath(new URL('../../examples/models/kjv-llama-5m', import.meta.url));
const kiln = (args: string[]) => {
  const r = spawnSync(process.execPath, [KILN, ...args], { encoding: 'utf8', timeout: 180_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
};

describe('kiln convert', () => {
  it('-q writes a quantized folder; --dequantize brings float weights back', async () => {
    const q = join(mkdtempSync(join(tmpdir(), 'kiln-convert-')), 'q8');
    let r = kiln(['convert', '--model', KJV, '-q', '--q-bits', '8', '--q-group-size', '64', '--out', q]);
    expect(r.code, r.err).toBe(0);
    const cfg = JSON.parse(readFileSync(join(q, 'config.json'), 'utf8'));
    expect(cfg.quantization).toMatchObject({ group_size: 64, bits: 8 });
    expect(existsSync(join(q, 'tokenizer.json'))).toBe(true);
    const src = await kn.models.load(KJV),
      got = await kn.models.load(q);
    const ids = kn.array([src.tokenizer.encode('And God said')]);
    const a = src.model.forward(ids),
      b = got.model.forward(ids);
    expect(kn.argmax(a, -1).tolist()).toEqual(kn.argmax(b, -1).tolist());

    const f = join(q, '..', 'f');
    r = kiln(['convert', '--model', q, '--dequantize', '--dtype', 'float32', '--out', f]);
    expect(r.code, r.err).toBe(0);
    const fcfg = JSON.parse(readFileSync(join(f, 'config.json'), 'utf8'));
    expect(fcfg.quantization).toBeUndefined();
    expect(fcfg.torch_dtype).toBe('float32');
    // the float32 folder computes what the 8-bit folder computes at float32
    const back = await kn.models.load(f),
      q32 = await kn.models.load(q, { dtype: 'float32' });
    expect(kn.allclose(back.model.forward(ids), q32.model.forward(ids), { atol: 1e-3 })).toBe(true);

    r = kiln(['generate', '--model', q, '--prompt', 'And God said', '-m', '6', '--kv-bits', '8', '--ignore-chat-template']);
    expect(r.code, r.err).toBe(0);
    expect(r.out.trim().length).toBeGreaterThan(0);
  }, 300_000);

  it('bad flags are one-line usage errors', () => {
    const cases: [string[], RegExp][] = [
      [['convert', '--model', KJV], /^kiln convert: --out is required/],
      [['convert', '--out', '/tmp/x'], /^kiln convert: --model is required/],
      [['convert', '--model', KJV, '-q', '--q-bits', '7', '--out', '/tmp/kiln-x'], /--q-bits must be 2, 3, 4, 5, 6 or 8, got 7/],
      [['convert', '--model', KJV, '--q-bits', '4', '--out', '/tmp/kiln-x'], /--q-bits and --q-group-size need -q/],
      [['convert', '--model', KJV, '-q', '--dequantize', '--out', '/tmp/kiln-x'], /cannot be combined/],
      [['convert', '--model', KJV, '--out', KJV], /is not empty/],
    ];
    for (const [args, re] of cases) {
      const r = kiln(args);
      expect(r.code, r.err).toBe(2);
      expect(r.err).toMatch(re);
      expect(r.err.trim().split('\n')).toHaveLength(1);
    }
    const h = kiln(['convert', '--help']);
    expect(h.code).toBe(0);
    expect(h.out).toMatch(/^Usage: kiln convert/);
  }, 300_000);
});
