"""The numpy side of bench/fft.mjs: same transforms, same sizes and dtypes, best milliseconds as JSON."""
import json, time
import numpy as np


def best_ms(fn, reps):
    fn()
    best = float('inf')
    for _ in range(reps):
        t = time.perf_counter(); fn(); best = min(best, (time.perf_counter() - t) * 1e3)
    return best


rng = np.random.default_rng(0)
def c64(*shape):
    return (rng.standard_normal(shape, dtype=np.float32) + 1j * rng.standard_normal(shape, dtype=np.float32)).astype(np.complex64)
a = c64(1 << 20)
r = rng.standard_normal(1 << 20, dtype=np.float32)
m = c64(1000, 1000)
mr = rng.standard_normal((1000, 1000), dtype=np.float32)
b = c64(1024, 1024)
p = c64(1 << 16 | 1)  # 65537, a prime
out = {
    'fft 2^20': best_ms(lambda: np.fft.fft(a), 5),
    'rfft 2^20': best_ms(lambda: np.fft.rfft(r), 5),
    'fft2 1000x1000': best_ms(lambda: np.fft.fft2(m), 5),
    'rfft2 1000x1000': best_ms(lambda: np.fft.rfft2(mr), 5),
    'fft 1024 rows of 1024': best_ms(lambda: np.fft.fft(b), 5),
    'fft 65537 (prime)': best_ms(lambda: np.fft.fft(p), 5),
}
print(json.dumps({'numpy': np.__version__, 'dtype': str(np.fft.fft(a).dtype), 'ms': out}))
