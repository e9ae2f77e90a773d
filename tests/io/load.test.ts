// kn.load: dispatch on the extension, magic-byte sniffing for other names, clear errors for
// missing or unknown files, bool normalisation, and scoping with tidy.
import { describe, it, expect } from 'vitest';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import * as kn from '../../index.js';
import { FIXTURES, loadArray, loadRecord, tempDir } from './util.js';

const tmp = tempDir('load');

describe('kn.load', () => {
  it('dispatches on the extension', () => {
    kn.save(tmp('a.npy'), kn.arange(3));
    kn.savez(tmp('b.npz'), { x: kn.arange(2) });
    kn.saveSafetensors(tmp('c.safetensors'), { y: kn.ones([2]) });
    kn.saveGguf(tmp('d.gguf'), { tensors: { z: kn.zeros([2]) }, metadata: { k: 'v' } });
    expect(loadArray(tmp('a.npy')).tolist()).toEqual([0, 1, 2]);
    expect(loadRecord(tmp('b.npz')).x.tolist()).toEqual([0, 1]);
    expect(loadRecord(tmp('c.safetensors')).y.tolist()).toEqual([1, 1]);
    const g = kn.load(tmp('d.gguf')) as kn.GgufFile;
    expect(g.metadata.k).toBe('v');
    expect(g.tensors.z.tolist()).toEqual([0, 0]);
  });

  it('recognises files with other names by their first bytes', () => {
    for (const [src, name] of [
      ['a.npy', 'a.bin'],
      ['b.npz', 'b.zip'],
      ['c.safetensors', 'c.st'],
      ['d.gguf', 'd.model'],
    ])
      copyFileSync(tmp(src), tmp(name));
    expect(kn.load(tmp('a.bin'))).toBeInstanceOf(kn.Array);
    expect(Object.keys(kn.load(tmp('b.zip')) as object)).toEqual(['x']);
    expect(Object.keys(kn.load(tmp('c.st')) as object)).toEqual(['y']);
    expect(Object.keys(kn.load(tmp('d.model')) as object)).toContain('tensors');
    writeFileSync(tmp('junk.dat'), 'not an array file at all');
    expect(() => kn.load(tmp('junk.dat'))).toThrow(/cannot tell the format/);
  });

  it('names the file that cannot be opened or written', () => {
    expect(() => kn.load(tmp('missing.npy'))).toThrow(/^\[load\] npy cannot open .*missing\.npy/);
    expect(() => kn.load(tmp('missing.gguf'))).toThrow(/^\[load\] gguf cannot open/);
    expect(() => kn.save(tmp('no/such/dir/x.npy'), kn.ones([1]))).toThrow(/^\[save\] cannot write/);
    expect(() => kn.load('' as string)).toThrow(/non-empty string/);
  });

  it('reads any non-zero bool byte as True (as numpy does) and keeps bools 0/1', () => {
    const p = tmp('bool.npy');
    kn.save(p, kn.array([true, false, true]));
    const b = readFileSync(p);
    b[b.length - 1] = 7;
    writeFileSync(p, b);
    const a = loadArray(p);
    expect(a.tolist()).toEqual([true, false, true]);
    expect(a.astype('uint8').tolist()).toEqual([1, 0, 1]);
  });

  it('arrays loaded inside kn.tidy are freed unless returned', () => {
    const before = kn.memory.buffers();
    const kept = kn.tidy(() => {
      const all = loadRecord(FIXTURES + 'named.npz');
      return all.weights;
    });
    expect(kn.memory.buffers()).toBe(before + 1);
    kept.dispose();
    expect(kn.memory.buffers()).toBe(before);
  });
});

it('the native addon provides mapFile (zero-copy loading is not silently skipped)', async () => {
  const { native } = await import('../../backends/native.js');
  expect(typeof native.mapFile).toBe('function');
});
