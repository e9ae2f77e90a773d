"""The PyTorch side of the GPU benchmark (issue 13): the rows of bench/gpu/ops.mjs (same ids,
sizes and work) on the same GPU, timed with CUDA events after warm-up (median of 5 repeats),
one JSON line per row. Env: KILN_BENCH_SMALL=1, KILN_BENCH_OUT=file (default stdout),
KILN_BENCH_ROWS=id1,id2. TF32 is off for float32 matmul (kiln's default)."""
import json, math, os, time

import torch
import torch.nn.functional as F

small = os.environ.get("KILN_BENCH_SMALL") == "1"
only = set(os.environ["KILN_BENCH_ROWS"].split(",")) if os.environ.get("KILN_BENCH_ROWS") else None
out = os.environ.get("KILN_BENCH_OUT")
dev = torch.device("cuda" if torch.cuda.is_available() else "cpu")
torch.backends.cuda.matmul.allow_tf32 = False
torch.backends.cudnn.allow_tf32 = False


def emit(obj):
    line = json.dumps(obj)
    if out:
        with open(out, "a") as f:
            f.write(line + "\n")
    else:
        print(line, flush=True)


def sync():
    if dev.type == "cuda":
        torch.cuda.synchronize()


emit({"meta": True, "device": torch.cuda.get_device_name() if dev.type == "cuda" else "cpu", "torch": torch.__version__, "small": small})


def time_steps(step, target_ms=5 if small else 25, reps=5, max_iters=2000):
    """Median milliseconds per call of step(), N calls between two CUDA events."""
    for _ in range(2):
        step()
    sync()
    t = time.perf_counter(); step(); sync()
    one = (time.perf_counter() - t) * 1e3
    if one > 500:
        reps = 3
    iters = max(1, min(max_iters, math.ceil(target_ms / max(one, 1e-3))))
    samples = []
    for _ in range(reps):
        if dev.type == "cuda":
            a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            a.record()
            for _ in range(iters):
                step()
            b.record(); b.synchronize()
            samples.append(a.elapsed_time(b) / iters)
        else:
            t = time.perf_counter()
            for _ in range(iters):
                step()
            samples.append((time.perf_counter() - t) * 1e3 / iters)
    samples.sort()
    return samples[len(samples) // 2], iters


gen = torch.Generator(device=dev)
gen.manual_seed(0)


def uniform(shape, dtype=torch.float32):
    return (torch.rand(shape, device=dev, generator=gen) * 4 - 2).to(dtype)


def normal(shape, scale=1.0, dtype=torch.float32):
    return (torch.randn(shape, device=dev, generator=gen) * scale).to(dtype)


M = (lambda n: n >> 8) if small else (lambda n: n)
N16, N256, N64 = M(1 << 24), M(1 << 28), M(1 << 26)
S = 256 if small else 4096
BL, BD, BH, BF = (64, 256, 4, 512) if small else (512, 2048, 16, 5632)

rows = []


def row(id):
    def reg(fn):
        rows.append((id, fn))
        return fn
    return reg


@row("copy 1GiB f32")
def _():
    x = uniform([N256])
    return dict(step=lambda: x.clone(), bytes=8 * N256, note="clone()")


for tag, n in (("16M", N16), ("256M", N256)):
    def add(n=n):
        x, y = uniform([n]), uniform([n])
        return dict(step=lambda: x + y, bytes=12 * n)
    def exp(n=n):
        x = uniform([n])
        return dict(step=lambda: torch.exp(x), bytes=8 * n)
    def cast(n=n):
        x = uniform([n])
        return dict(step=lambda: x.to(torch.bfloat16), bytes=6 * n)
    rows += [(f"add f32 {tag}", add), (f"exp f32 {tag}", exp), (f"cast f32->bf16 {tag}", cast)]


@row(f"sum last axis f32 {S}x{S}")
def _():
    x = uniform([S, S])
    return dict(step=lambda: x.sum(-1), bytes=4 * S * S + 4 * S)


@row(f"sum all f32 {'256K' if small else '64M'}")
def _():
    x = uniform([N64])
    return dict(step=lambda: x.sum(), bytes=4 * N64)


for dt, short, sz in ((torch.float32, "f32", 4), (torch.bfloat16, "bf16", 2)):
    def sm(dt=dt, sz=sz):
        x = normal([S, S], 1, dt)
        return dict(step=lambda: torch.softmax(x, -1), bytes=2 * sz * S * S)
    rows.append((f"softmax last axis {short} {S}x{S}", sm))

for dt, short in ((torch.bfloat16, "bf16"), (torch.float16, "f16"), (torch.float32, "f32")):
    def mm(dt=dt):
        a, b = normal([S, S], 1 / math.sqrt(S), dt), normal([S, S], 1, dt)
        return dict(step=lambda: a @ b, flops=2 * S ** 3, dtype=str(dt).replace("torch.", ""))
    rows.append((f"matmul {short} {S}^3" + (" (no TF32)" if dt == torch.float32 else ""), mm))


@row(f"compiled gelu f32 {'64K' if small else '16M'}")
def _():
    x = normal([N16])
    return dict(step=lambda: F.gelu(x), bytes=8 * N16, note="eager F.gelu (erf)")


def rms(x, g):
    xf = x.float()
    return (xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + 1e-6)).to(x.dtype) * g


def block(x, n1, wq, wk, wv, wo, n2, w1, w3, w2):
    L, D, H = BL, BD, BH
    Dh = D // H
    heads = lambda a: a.reshape(1, L, H, Dh).transpose(1, 2)
    h = rms(x, n1)
    q, k, v = heads(h @ wq), heads(h @ wk), heads(h @ wv)
    o = F.scaled_dot_product_attention(q, k, v, is_causal=True).transpose(1, 2).reshape(1, L, D)
    x2 = x + o @ wo
    h2 = rms(x2, n2)
    a, g = h2 @ w1, h2 @ w3
    return x2 + (F.silu(a) * g) @ w2


@row(f"compiled block bf16 L{BL} D{BD} H{BH}")
def _():
    L, D, Fh = BL, BD, BF
    bf = torch.bfloat16
    args = [normal([1, L, D], 1, bf), normal([D], 1, bf)] + [normal([D, D], 1 / math.sqrt(D), bf) for _ in range(4)] + [
        normal([D], 1, bf), normal([D, Fh], 1 / math.sqrt(D), bf), normal([D, Fh], 1 / math.sqrt(D), bf), normal([Fh, D], 1 / math.sqrt(Fh), bf)]
    flops = 2 * L * D * D * 4 + 2 * L * D * Fh * 3 + 2 * 2 * L * L * D
    return dict(step=lambda: block(*args), flops=flops, dtype="bfloat16", note="torch eager (SDPA causal)")


@row(f"sort f32 {'64K' if small else '16M'}")
def _():
    x = uniform([N16])
    return dict(step=lambda: torch.sort(x).values, keys=N16)


@row("tiny add + item()")
def _():
    x = torch.tensor([0.5], device=dev)
    def direct(n):
        for _ in range(n):
            (x + 1).item()
    return dict(direct=direct, per_op=1)


@row("1000 tiny adds, one eval")
def _():
    x = torch.tensor([0.5], device=dev)
    def direct(n):
        for _ in range(n):
            y = x
            for _ in range(1000):
                y = y + 1
            y.item()
    return dict(direct=direct, per_op=1000)


for id, fn in rows:
    if only and id not in only:
        continue
    t0 = time.perf_counter()
    try:
        with torch.no_grad():
            c = fn()
            if "direct" in c:
                c["direct"](20)
                n = 50 if small else (10 if c["per_op"] > 1 else 1000)
                s = []
                for _ in range(5):
                    t = time.perf_counter(); c["direct"](n); s.append((time.perf_counter() - t) * 1e3 / n)
                s.sort()
                ms, iters = s[2] / c["per_op"], n
            else:
                ms, iters = time_steps(c["step"])
        emit(dict(id=id, ms=ms, iters=iters, bytes=c.get("bytes"), flops=c.get("flops"), keys=c.get("keys"), dtype=c.get("dtype"),
                  usPerOp="direct" in c, note=c.get("note"), wallS=time.perf_counter() - t0))
    except Exception as e:  # one failing row must not stop the others
        emit(dict(id=id, error=str(e).split("\n")[0][:200], wallS=time.perf_counter() - t0))
    finally:
        if dev.type == "cuda":
            torch.cuda.empty_cache()
