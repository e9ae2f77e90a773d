// vitest setup file (glue/dump_cases.sh): records every fused launch the test file makes — the
// program's words and each operand's dtype, offset, shape and strides — one case per line in
// $KZ_DUMP (appended), for glue_emulate to replay through the GPU glue on the host.
import { appendFileSync } from 'node:fs';
import { K, native } from '../../../backends/native.js';

const out = process.env.KZ_DUMP;
if (out) {
  const words = new Map<number, string>();
  const n = native as unknown as Record<string, (...a: unknown[]) => unknown>;
  const compile = n.compileProgram.bind(native);
  n.compileProgram = (w: unknown) => {
    const h = compile(w) as number;
    words.set(h, Array.from(w as Float64Array, (x) => (Object.is(x, -0) ? '-0' : String(x))).join(' '));
    return h;
  };
  const replay = n.replay.bind(native);
  const fused = (K as Record<string, number>).fused;
  n.replay = (w: unknown, a: unknown) => {
    const cw = w as Float64Array;
    const lines: string[] = [];
    for (let p = 0; p < cw.length; ) {
      const kernel = cw[p++] % 4096;
      const np = cw[p++];
      const params = Array.from(cw.subarray(p, p + np));
      p += np;
      const nops = cw[p++];
      const ops: string[] = [];
      let shape: number[] = [];
      for (let k = 0; k < nops; k++) {
        const dtype = cw[p + 1],
          offset = cw[p + 2],
          ndim = cw[p + 3];
        shape = Array.from(cw.subarray(p + 4, p + 4 + ndim));
        const strides = Array.from(cw.subarray(p + 4 + ndim, p + 4 + 2 * ndim));
        ops.push(`${dtype} ${offset} ${strides.join(' ')}`);
        p += 4 + 2 * ndim;
      }
      if (kernel === fused && words.has(params[0]))
        lines.push(`${params[0]}|${words.get(params[0])}|${shape.length} ${shape.join(' ')}|${ops.join('|')}\n`);
    }
    if (lines.length) appendFileSync(out, lines.join(''));
    return replay(w, a);
  };
}
