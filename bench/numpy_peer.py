"""The numpy side of bench/ops.mjs: same cases, same sizes, median milliseconds as JSON."""
import json, sys, time
import numpy as np

def median_ms(fn, reps):
    fn()
    times = []
    for _ in range(reps):
        t = time.perf_counter(); fn(); times.append((time.perf_counter() - t) * 1e3)
    times.sort()
    return times[len(times) // 2]

def cases():
    rng = np.random.default_rng(0)
    n = 10_000_000
    a = rng.random(n, dtype=np.float32); b = rng.random(n, dtype=np.float32)
    m = rng.random((4000, 2500), dtype=np.float32)
    h = a.astype(np.float16)
    tiny = np.array([1, 2, 3, 4], dtype=np.float32)
    def dispatch():
        for _ in range(2000): tiny + 1
    sa = np.arange(100, dtype=np.float32); sb = np.ones(100, dtype=np.float32)
    def small_op():
        for _ in range(2000): sa + sb
    def small_chain():
        for _ in range(2000): ((sa + sb) * 2).sum().item()
    out = {
        'small op+eval 100 (us/call)': small_op,
        'small chain 100 (us/call)': small_chain,
        'small chain tidy (us/call)': small_chain,
        'tiny add+eval (dispatch)': dispatch,
        'add f32 10M': lambda: a + b,
        'multiply-add f32 10M': lambda: a * b + a,
        'exp f32 10M': lambda: np.exp(a),
        'tanh f32 10M': lambda: np.tanh(a),
        'cast f32->f16 10M': lambda: a.astype(np.float16),
        'add f16 10M': lambda: h + h,
        'sum f32 10M': lambda: a.sum(),
        'sum rows 4000x2500': lambda: m.sum(axis=1),
        'sum cols 4000x2500': lambda: m.sum(axis=0),
        'max f32 10M': lambda: a.max(),
        'transpose copy 4000x2500': lambda: np.ascontiguousarray(m.T),
    }
    for s in (256, 512, 1024):
        x = rng.random((s, s), dtype=np.float32); y = rng.random((s, s), dtype=np.float32)
        out[f'matmul f32 {s}'] = (lambda x=x, y=y: x @ y)
    x = rng.random((1024, 1024)); y = rng.random((1024, 1024))
    out['matmul f64 1024'] = lambda: x @ y
    return out

if __name__ == '__main__':
    names = json.loads(sys.argv[1]) if len(sys.argv) > 1 else None
    res = {}
    for name, fn in cases().items():
        if names is None or name in names:
            res[name] = median_ms(fn, 5 if 'matmul f32 1024' in name or 'f64' in name else 9)
            if 'dispatch' in name: res[name] /= 2000
            if '(us/call)' in name: res[name] /= 2  # 2000 calls in ms -> us per call
    print(json.dumps(res))
