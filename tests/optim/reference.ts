// Float64 reference optimizers written as plain loops over flat number arrays, from the update
// rules in MLX's documentation (not from kiln's code). Each keeps its own state per parameter
// name; `step(name, p, g, shape)` returns the new parameter values. `t` counts updates from 1.

export type Vec = number[];
export type Shape = number[];

export abstract class RefOptimizer {
  t = 0;
  state = new Map<string, Record<string, Vec>>();
  /** learning rate used at update t (1-based); the kiln optimizer stores it as float32 */
  constructor(public lr: (t: number) => number) {}
  begin(): void {
    this.t++;
  }
  protected slot(name: string, init: () => Record<string, Vec>): Record<string, Vec> {
    if (!this.state.has(name)) this.state.set(name, init());
    return this.state.get(name)!;
  }
  abstract step(name: string, p: Vec, g: Vec, shape: Shape): Vec;
}

const zeros = (n: number) => new Array<number>(n).fill(0);
const f32 = Math.fround;

export class RefSGD extends RefOptimizer {
  constructor(
    lr: (t: number) => number,
    public o: { momentum?: number; weightDecay?: number; dampening?: number; nesterov?: boolean } = {},
  ) {
    super(lr);
  }
  step(name: string, p: Vec, g: Vec): Vec {
    const mu = this.o.momentum ?? 0,
      wd = this.o.weightDecay ?? 0,
      damp = this.o.dampening ?? 0;
    const lr = f32(this.lr(this.t));
    const s = this.slot(name, () => ({ v: zeros(p.length) }));
    const out: Vec = [];
    for (let i = 0; i < p.length; i++) {
      const gi = g[i] + wd * p[i];
      if (mu <= 0) {
        out.push(p[i] - lr * gi);
        continue;
      }
      s.v[i] = mu * s.v[i] + (damp > 0 ? (1 - damp) * gi : gi);
      const u = this.o.nesterov ? gi + mu * s.v[i] : s.v[i];
      out.push(p[i] - lr * u);
    }
    return out;
  }
}

export class RefAdam extends RefOptimizer {
  constructor(
    lr: (t: number) => number,
    public o: { betas?: [number, number]; eps?: number; biasCorrection?: boolean; weightDecay?: number } = {},
  ) {
    super(lr);
  }
  step(name: string, p0: Vec, g: Vec): Vec {
    const [b1, b2] = this.o.betas ?? [0.9, 0.999];
    const eps = this.o.eps ?? 1e-8,
      lr = f32(this.lr(this.t));
    const s = this.slot(name, () => ({ m: zeros(p0.length), v: zeros(p0.length) }));
    const wd = this.o.weightDecay ?? 0;
    const out: Vec = [];
    for (let i = 0; i < p0.length; i++) {
      const p = p0[i] * (1 - lr * wd);
      s.m[i] = b1 * s.m[i] + (1 - b1) * g[i];
      s.v[i] = b2 * s.v[i] + (1 - b2) * g[i] * g[i];
      if (this.o.biasCorrection) {
        const mHat = s.m[i] / (1 - b1 ** this.t),
          vHat = s.v[i] / (1 - b2 ** this.t);
        out.push(p - (lr * mHat) / (Math.sqrt(vHat) + eps));
      } else out.push(p - (lr * s.m[i]) / (Math.sqrt(s.v[i]) + eps));
    }
    return out;
  }
}

export class RefAdamax extends RefOptimizer {
  constructor(
    lr: (t: number) => number,
    public o: { betas?: [number, number]; eps?: number } = {},
  ) {
    super(lr);
  }
  step(name: string, p: Vec, g: Vec): Vec {
    const [b1, b2] = this.o.betas ?? [0.9, 0.999];
    const eps = this.o.eps ?? 1e-8,
      lr = f32(this.lr(this.t));
    const s = this.slot(name, () => ({ m: zeros(p.length), v: zeros(p.length) }));
    return p.map((pi, i) => {
      s.m[i] = b1 * s.m[i] + (1 - b1) * g[i];
      s.v[i] = Math.max(b2 * s.v[i], Math.abs(g[i]));
      return pi - (lr * s.m[i]) / (s.v[i] + eps);
    });
  }
}

export class RefAdagrad extends RefOptimizer {
  constructor(
    lr: (t: number) => number,
    public o: { eps?: number } = {},
  ) {
    super(lr);
  }
  step(name: string, p: Vec, g: Vec): Vec {
    const eps = this.o.eps ?? 1e-8,
      lr = f32(this.lr(this.t));
    const s = this.slot(name, () => ({ v: zeros(p.length) }));
    return p.map((pi, i) => {
      s.v[i] += g[i] * g[i];
      return pi - (lr * g[i]) / (Math.sqrt(s.v[i]) + eps);
    });
  }
}

export class RefRMSprop extends RefOptimizer {
  constructor(
    lr: (t: number) => number,
    public o: { alpha?: number; eps?: number } = {},
  ) {
    super(lr);
  }
  step(name: string, p: Vec, g: Vec): Vec {
    const a = this.o.alpha ?? 0.99,
      eps = this.o.eps ?? 1e-8,
      lr = f32(this.lr(this.t));
    const s = this.slot(name, () => ({ v: zeros(p.length) }));
    return p.map((pi, i) => {
      s.v[i] = a * s.v[i] + (1 - a) * g[i] * g[i];
      return pi - (lr * g[i]) / (Math.sqrt(s.v[i]) + eps);
    });
  }
}

export class RefAdaDelta extends RefOptimizer {
  constructor(
    lr: (t: number) => number,
    public o: { rho?: number; eps?: number } = {},
  ) {
    super(lr);
  }
  step(name: string, p: Vec, g: Vec): Vec {
    const rho = this.o.rho ?? 0.9,
      eps = this.o.eps ?? 1e-6,
      lr = f32(this.lr(this.t));
    const s = this.slot(name, () => ({ v: zeros(p.length), u: zeros(p.length) }));
    return p.map((pi, i) => {
      s.v[i] = rho * s.v[i] + (1 - rho) * g[i] * g[i];
      const d = (Math.sqrt(s.u[i] + eps) / Math.sqrt(s.v[i] + eps)) * g[i];
      s.u[i] = rho * s.u[i] + (1 - rho) * d * d;
      return pi - lr * d;
    });
  }
}

export class RefLion extends RefOptimizer {
  constructor(
    lr: (t: number) => number,
    public o: { betas?: [number, number]; weightDecay?: number } = {},
  ) {
    super(lr);
  }
  step(name: string, p: Vec, g: Vec): Vec {
    const [b1, b2] = this.o.betas ?? [0.9, 0.99];
    const wd = this.o.weightDecay ?? 0,
      lr = f32(this.lr(this.t));
    const s = this.slot(name, () => ({ m: zeros(p.length) }));
    return p.map((pi, i) => {
      const c = b1 * s.m[i] + (1 - b1) * g[i];
      s.m[i] = b2 * s.m[i] + (1 - b2) * g[i];
      const decayed = wd > 0 ? pi * (1 - lr * wd) : pi;
      return decayed - lr * Math.sign(c);
    });
  }
}

export interface RefAdafactorOptions {
  lr?: number;
  eps?: [number, number];
  clipThreshold?: number;
  decayRate?: number;
  beta1?: number;
  weightDecay?: number;
  scaleParameter?: boolean;
  relativeStep?: boolean;
  warmupInit?: boolean;
}

const rms = (x: Vec) => Math.sqrt(x.reduce((s, v) => s + v * v, 0) / x.length);

/** Adafactor from the paper's algorithm: factored second moments over the last two axes. */
export class RefAdafactor extends RefOptimizer {
  constructor(public o: RefAdafactorOptions = {}) {
    super(() => o.lr ?? NaN);
  }
  step(name: string, p: Vec, g: Vec, shape: Shape): Vec {
    const o = this.o,
      t = this.t;
    const [eps1, eps2] = o.eps ?? [1e-30, 1e-3];
    const relative = o.relativeStep ?? true;
    let alpha = relative ? Math.min(o.warmupInit ? 1e-6 * t : 1e-2, 1 / Math.sqrt(t)) : f32(o.lr!);
    if (o.scaleParameter ?? true) alpha *= Math.max(eps2, rms(p));
    const beta2 = 1 - t ** (o.decayRate ?? -0.8);
    const factored = shape.length >= 2;
    const C = shape[shape.length - 1],
      R = factored ? shape[shape.length - 2] : 1,
      B = p.length / (R * C);
    const s = this.slot(name, () => {
      const st: Record<string, Vec> = factored ? { row: zeros(B * R), col: zeros(B * C) } : { v: zeros(p.length) };
      if (o.beta1 !== undefined) st.m = zeros(p.length);
      return st;
    });
    const sq = g.map((v) => v * v + eps1);
    let u: Vec = new Array(p.length);
    if (factored) {
      for (let b = 0; b < B; b++) {
        for (let r = 0; r < R; r++) {
          let acc = 0;
          for (let c = 0; c < C; c++) acc += sq[(b * R + r) * C + c];
          s.row[b * R + r] = beta2 * s.row[b * R + r] + (1 - beta2) * (acc / C);
        }
        for (let c = 0; c < C; c++) {
          let acc = 0;
          for (let r = 0; r < R; r++) acc += sq[(b * R + r) * C + c];
          s.col[b * C + c] = beta2 * s.col[b * C + c] + (1 - beta2) * (acc / R);
        }
        let rowMean = 0;
        for (let r = 0; r < R; r++) rowMean += s.row[b * R + r] / R;
        for (let r = 0; r < R; r++)
          for (let c = 0; c < C; c++) {
            const vHat = (s.row[b * R + r] * s.col[b * C + c]) / rowMean;
            u[(b * R + r) * C + c] = g[(b * R + r) * C + c] / Math.sqrt(vHat);
          }
      }
    } else {
      u = g.map((gi, i) => {
        s.v[i] = beta2 * s.v[i] + (1 - beta2) * sq[i];
        return gi / Math.sqrt(s.v[i]);
      });
    }
    const d = Math.max(1, rms(u) / (o.clipThreshold ?? 1));
    u = u.map((v) => (alpha * v) / d);
    if (o.beta1 !== undefined) {
      u = u.map((v, i) => (s.m[i] = o.beta1! * s.m[i] + (1 - o.beta1!) * v));
    }
    const wd = o.weightDecay ?? 0;
    return p.map((pi, i) => pi - wd * alpha * pi - u[i]);
  }
}
