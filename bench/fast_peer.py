"""The numpy side of bench/fast.ts: the same fused ops written with numpy, median ms as JSON."""
import json, sys, time
import numpy as np

def best_ms(fn, reps):
    fn()
    times = []
    for _ in range(reps):
        t = time.perf_counter(); fn(); times.append((time.perf_counter() - t) * 1e3)
    return min(times)

def rms_norm(x, w, eps=1e-5):
    return x * (1 / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + eps)) * w

def layer_norm(x, w, b, eps=1e-5):
    mu = x.mean(-1, keepdims=True)
    xc = x - mu
    return xc / np.sqrt((xc * xc).mean(-1, keepdims=True) + eps) * w + b

def rope(x, dims, base=10000.0):
    L, half = x.shape[-2], dims // 2
    theta = np.arange(L, dtype=np.float64)[:, None] * base ** (-np.arange(half) * 2.0 / dims)[None, :]
    c, s = np.cos(theta).astype(x.dtype), np.sin(theta).astype(x.dtype)
    x1, x2 = x[..., :half], x[..., half:dims]
    return np.concatenate([x1 * c - x2 * s, x1 * s + x2 * c, x[..., dims:]], axis=-1)

def attention(q, k, v, scale, causal):
    rep = q.shape[1] // k.shape[1]
    if rep > 1:
        k, v = np.repeat(k, rep, axis=1), np.repeat(v, rep, axis=1)
    s = (q * np.float32(scale)) @ k.swapaxes(-1, -2)
    if causal:
        L, S = s.shape[-2:]
        s = np.where(np.arange(S)[None, :] <= np.arange(L)[:, None] + S - L, s, np.finfo(s.dtype).min)
    s = np.exp(s - s.max(-1, keepdims=True))
    return (s / s.sum(-1, keepdims=True)) @ v

def main():
    cases = json.loads(sys.argv[1])
    rng = np.random.default_rng(0)
    f = lambda *shape: rng.standard_normal(shape, dtype=np.float32)
    out = {}
    for name, c in cases.items():
        op, sh = c['op'], c['shape']
        if op == 'rmsNorm':
            x, w = f(*sh), f(sh[-1]); fn = lambda: rms_norm(x, w)
        elif op == 'layerNorm':
            x, w, b = f(*sh), f(sh[-1]), f(sh[-1]); fn = lambda: layer_norm(x, w, b)
        elif op == 'rope':
            x = f(*sh); fn = lambda: rope(x, sh[-1])
        else:
            B, Hq, Hkv, L, S, D = sh
            q, k, v = f(B, Hq, L, D), f(B, Hkv, S, D), f(B, Hkv, S, D)
            fn = lambda: attention(q, k, v, 1 / np.sqrt(D), c.get('causal', False))
        out[name] = best_ms(fn, c['reps'])
    print(json.dumps(out))

main()
