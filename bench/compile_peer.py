"""The numpy side of bench/compile.mjs: the same cases at the same sizes, median milliseconds as
JSON, plus this machine's copy bandwidth seen from numpy (GB/s, read + write)."""
import json, sys, time
import numpy as np

try:
    from scipy.special import erf
except ImportError:  # numpy has no vectorised erf: the gelu case is skipped without scipy
    erf = None


def median_ms(fn, reps):
    fn()
    times = []
    for _ in range(reps):
        t = time.perf_counter(); fn(); times.append((time.perf_counter() - t) * 1e3)
    times.sort()
    return times[len(times) // 2]


def chain8(x):
    y = x * np.float32(1.5) + np.float32(0.25)
    y = np.tanh(y)
    y = y * y + x
    y = y / (np.abs(y) + np.float32(1))
    return np.maximum(y, np.float32(-0.5))


def softmax(x):
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def block(x, w):
    B, L, D = x.shape
    H = 8; Dh = D // H
    def rms(a, g):
        return a * (1 / np.sqrt(np.mean(a * a, axis=-1, keepdims=True) + np.float32(1e-6))) * g
    def heads(a):
        return a.reshape(B, L, H, Dh).transpose(0, 2, 1, 3)
    h = rms(x, w['n1'])
    q, k, v = heads(h @ w['wq']), heads(h @ w['wk']), heads(h @ w['wv'])
    s = (q @ k.swapaxes(-1, -2)) * np.float32(1 / np.sqrt(Dh)) + w['mask']
    o = (softmax(s) @ v).transpose(0, 2, 1, 3).reshape(B, L, D)
    x2 = x + o @ w['wo']
    h2 = rms(x2, w['n2'])
    a = h2 @ w['w1']; g = h2 @ w['w3']
    return x2 + (a / (1 + np.exp(-a)) * g) @ w['w2']


def main():
    opts = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    quick = opts.get('quick', False)
    names = opts.get('names')
    rng = np.random.default_rng(0)
    f32 = np.float32
    S = dict(gelu=(4, 1000, 4096), chain=1 << 22, sm=1024, B=2, L=128, D=256, F=768) if quick else \
        dict(gelu=(32, 1000, 4096), chain=1 << 24, sm=4096, B=4, L=256, D=512, F=1536)
    res = {}

    def run(name, make, reps):
        if names is not None and name not in names:
            return
        fn = make()
        res[name] = median_ms(fn, reps)

    if erf is not None:
        def gelu_case():
            x = rng.standard_normal(S['gelu'], dtype=f32)
            return lambda: x * (1 + erf(x / f32(np.sqrt(2)))) / 2
        run(f"gelu f32 [{','.join(map(str, S['gelu']))}]", gelu_case, 9 if quick else 5)

    def chain_case():
        x = rng.standard_normal(S['chain'], dtype=f32)
        return lambda: chain8(x)
    run(f"8-op chain f32 {S['chain'] >> 20}M", chain_case, 9)

    def affine_case():
        x = rng.standard_normal(S['chain'], dtype=f32); y = rng.standard_normal(S['chain'], dtype=f32)
        return lambda: (x * f32(1.5) + y) * f32(0.5) + f32(0.25)
    run(f"4-op affine f32 {S['chain'] >> 20}M", affine_case, 9)

    def softmax_case():
        x = rng.standard_normal((S['sm'], S['sm']), dtype=f32)
        return lambda: softmax(x)
    run(f"softmax f32 [{S['sm']}, {S['sm']}]", softmax_case, 9)

    def block_case():
        B, L, D, F = S['B'], S['L'], S['D'], S['F']
        def sc(shape, s):
            return (rng.standard_normal(shape, dtype=f32) * f32(s)).astype(f32)
        w = dict(n1=rng.standard_normal(D, dtype=f32), n2=rng.standard_normal(D, dtype=f32),
                 wq=sc((D, D), D ** -0.5), wk=sc((D, D), D ** -0.5), wv=sc((D, D), D ** -0.5), wo=sc((D, D), D ** -0.5),
                 w1=sc((D, F), D ** -0.5), w3=sc((D, F), D ** -0.5), w2=sc((F, D), F ** -0.5),
                 mask=np.triu(np.full((L, L), -np.inf, dtype=f32), 1))
        x = rng.standard_normal((B, L, D), dtype=f32)
        return lambda: block(x, w)
    run(f"transformer block [{S['B']}, {S['L']}, {S['D']}]", block_case, 9)

    n = 1 << 26 if quick else 1 << 28
    a = np.ones(n, dtype=f32); b = np.empty_like(a)
    res['bandwidth'] = 8 * n / median_ms(lambda: np.copyto(b, a), 7) / 1e6
    print(json.dumps(res))


if __name__ == '__main__':
    main()
