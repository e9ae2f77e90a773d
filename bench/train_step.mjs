// Training-step benchmark: a small decoder-only transformer (the char example's shape), eager
// vs kn.compile, with the FLOP rate of its matmuls. Run after `npm run build:ts`:
//   node bench/train_step.mjs [--batch 64] [--seq 64] [--steps 5]
// KILN_DEBUG=2 adds the per-kernel time table at exit (fused programs as fused/<handle>, whose
// ops KILN_DEBUG=1 lists in the schedule).
import * as kn from '../dist/index.js';
import { medianMs, numberArg } from './lib/timing.mjs';

const V = 62,
  D = 128,
  H = 4,
  L = 4;
const B = numberArg('batch', 64),
  T = numberArg('seq', 64),
  STEPS = numberArg('steps', 5);
const { nn, optim } = kn;

class Block extends nn.Module {
  constructor() {
    super();
    this.n1 = new nn.RMSNorm(D);
    this.attn = new nn.MultiHeadAttention(D, H);
    this.n2 = new nn.RMSNorm(D);
    this.w1 = new nn.Linear(D, 4 * D, { bias: false });
    this.w2 = new nn.Linear(4 * D, D, { bias: false });
    this.w3 = new nn.Linear(D, 4 * D, { bias: false });
  }
  forward(x) {
    const h = this.n1.call(x);
    x = kn.add(x, this.attn.call(h, h, h, 'causal'));
    const z = this.n2.call(x);
    return kn.add(x, this.w2.call(kn.multiply(nn.silu(this.w1.call(z)), this.w3.call(z))));
  }
}
class Model extends nn.Module {
  constructor() {
    super();
    this.emb = new nn.Embedding(V, D);
    this.blocks = Array.from({ length: L }, () => new Block());
    this.norm = new nn.RMSNorm(D);
  }
  forward(x) {
    let h = this.emb.call(x);
    for (const b of this.blocks) h = b.call(h);
    return this.emb.asLinear(this.norm.call(h));
  }
}

function measure(compiled) {
  const model = new Model();
  const opt = new optim.AdamW(1e-3);
  opt.init(model.trainableParameters());
  kn.eval(model.parameters(), opt.state);
  const lossAndGrad = nn.valueAndGrad(model, (m, x, y) => kn.mean(nn.losses.crossEntropy(m.call(x), y)));
  const plain = (x, y) => {
    const [loss, g] = lossAndGrad(x, y);
    opt.update(model, g);
    return loss;
  };
  const step = compiled ? kn.compile(plain, { inputs: [model, opt], outputs: [model, opt] }) : plain;
  const x = kn.random.randint(0, V, [B, T], { key: kn.random.key(1) }),
    y = kn.random.randint(0, V, [B, T], { key: kn.random.key(2) });
  const run = () => kn.tidy(() => kn.eval(step(x, y), model.parameters(), opt.state));
  return { ms: medianMs(run, STEPS, 2), kernels: compiled ? step.info.kernels : null };
}

// matmul FLOPs of one step: forward 2·params·tokens for the dense layers, backward twice that,
// plus attention scores and values (causal: half of them are skipped by the kernel only)
const tokens = B * T,
  dense = L * (4 * D * D + 3 * 4 * D * D) + V * D;
const flops = 6 * dense * tokens + 3 * L * 2 * 2 * B * T * T * D;
console.log(`transformer training step: ${L} blocks, d=${D}, ${H} heads, batch ${B} x seq ${T}, AdamW (median of ${STEPS})`);
for (const compiled of process.env.ONLY ? [process.env.ONLY === 'compiled'] : [false, true]) {
  const r = measure(compiled);
  console.log(
    `${compiled ? 'compiled' : 'eager   '} ${r.ms.toFixed(1).padStart(7)} ms/step  ${((tokens / r.ms) * 1e3).toFixed(0).padStart(6)} tokens/s  ${(flops / r.ms / 1e6).toFixed(1)} GFLOP/s${r.kernels ? `  ${r.kernels} kernels` : ''}`,
  );
}
