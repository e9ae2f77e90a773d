"""The PyTorch side of the GPU LLM benchmark (issue 14; bench/gpu/llm.sh runs both sides and
bench/gpu/llm_table.mjs joins them). For each config of models/configs/ (or a config.json path) it
builds transformers' LlamaForCausalLM with random weights straight on the GPU in bfloat16 and
measures, batch 1:
  a. HF eager `generate` (greedy) of G tokens after a P-token prompt: prefill tok/s = P / time of
     generate(max_new_tokens=1); decode tok/s = (G - 1) / (time of generate(G) - that time);
  b. a compiled static-cache decode (gpt-fast style): the one-token step (model forward over a
     transformers StaticCache + argmax on the GPU) in torch.compile(mode="reduce-overhead",
     fullgraph=True), i.e. CUDA graphs; the token stays on the GPU, no host sync per token;
     decode tok/s = (G - 1) steps / their time, compile warm-up excluded. Falls back to
     fullgraph=False, then to our own minimal Llama decode over the same weights ("own"),
     saying which ran in compiled_mode and why in errors;
  c. prefill tok/s at 2048 tokens: one forward (SDPA attention, logits of the last position only);
  d. HBM copy bandwidth: clone() of a 1 GiB tensor, (read + write bytes) / time, best of 5.
Prints one line `TORCH_JSON {...}` per config (and one meta line first) on stdout; progress on stderr.
Timed with CUDA events after warm-up. Every part is guarded: a failing part prints its error and
the others still run.
  python3 bench/gpu/llm_torch.py [--configs llama-3.2-1b,llama-2-7b,llama-2-13b] [--prompt 512] [--gen 128]
      [--prefill-long 2048] [--parts eager,compiled,prefill,copy] [--compiled hf|own] [--tuning]
      [--device cuda|cpu] [--dtype bfloat16|float32]   (--device cpu: checks the script without a GPU)
"""
import argparse, gc, inspect, json, os, sys, time, traceback

import torch
import torch.nn.functional as F

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
ap.add_argument("--configs", default="llama-3.2-1b,llama-2-7b,llama-2-13b", help="names in models/configs/ or config.json paths, comma-separated")
ap.add_argument("--prompt", type=int, default=512, help="prompt tokens P (default 512)")
ap.add_argument("--gen", type=int, default=128, help="generated tokens G (default 128)")
ap.add_argument("--prefill-long", type=int, default=2048, help="tokens of the long prefill (default 2048)")
ap.add_argument("--parts", default="eager,compiled,prefill,copy", help="which parts to run (default all)")
ap.add_argument("--compiled", default="hf", choices=["hf", "own"], help="compiled decode: hf (transformers forward + StaticCache, default) or own (our minimal Llama decode)")
ap.add_argument("--tuning", action="store_true", help="inductor coordinate-descent tuning (gpt-fast's setting; longer compile)")
ap.add_argument("--device", default="cuda")
ap.add_argument("--dtype", default="bfloat16", choices=["bfloat16", "float16", "float32"])
args = ap.parse_args()
if args.gen < 2 or args.prompt < 1:
    sys.exit(f"llm_torch.py: --gen must be >= 2 and --prompt >= 1, got --gen {args.gen} --prompt {args.prompt}")
parts = set(p.strip() for p in args.parts.split(",") if p.strip())
unknown = parts - {"eager", "compiled", "prefill", "copy"}
if unknown:
    sys.exit(f"llm_torch.py: unknown --parts {sorted(unknown)}; known: eager, compiled, prefill, copy")

dev = torch.device(args.device)
cuda = dev.type == "cuda"
if cuda and not torch.cuda.is_available():
    sys.exit("llm_torch.py: --device cuda but torch.cuda.is_available() is False (use --device cpu to check the script)")
DT = getattr(torch, args.dtype)
P, G = args.prompt, args.gen

import transformers
from transformers import LlamaConfig, LlamaForCausalLM

try:
    transformers.logging.set_verbosity_error()  # generate's notes on pad tokens and flags
except Exception:
    pass
if args.tuning:  # gpt-fast's inductor settings
    import torch._inductor.config as icfg

    for obj, key in ((icfg, "coordinate_descent_tuning"), (icfg.triton, "unique_kernel_names")):
        try:
            setattr(obj, key, True)
        except Exception as e:
            print(f"[llm_torch] --tuning: cannot set inductor {key}: {e}", file=sys.stderr)


def log(*a):
    print("[llm_torch]", *a, file=sys.stderr, flush=True)


def emit(obj):
    print("TORCH_JSON " + json.dumps(obj), flush=True)


def sync():
    if cuda:
        torch.cuda.synchronize()


def timed(fn):
    """Seconds of fn() on the device (CUDA events around it; the host waits at the end)."""
    if cuda:
        a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        sync()
        a.record()
        r = fn()
        b.record()
        b.synchronize()
        return a.elapsed_time(b) / 1e3, r
    t = time.perf_counter()
    r = fn()
    return time.perf_counter() - t, r


def err(e):
    return f"{type(e).__name__}: {str(e).strip().splitlines()[0] if str(e).strip() else ''}"[:400]


def gpu_name():
    return torch.cuda.get_device_name() if cuda else "cpu"


def free():
    gc.collect()
    if cuda:
        torch.cuda.empty_cache()


def read_config(name):
    path = name if name.endswith(".json") else os.path.join(ROOT, "models", "configs", name + ".json")
    with open(path) as f:
        return json.load(f)


def build(cfg_json):
    d = {k: v for k, v in cfg_json.items() if k not in ("torch_dtype", "dtype", "transformers_version", "_name_or_path")}
    config = LlamaConfig(**d, attn_implementation="sdpa")
    try:
        config._attn_implementation = "sdpa"
    except Exception:
        pass
    # random weights made on the device in the target dtype (no float32 CPU copy of 13B weights):
    # the default dtype makes parameters bf16; buffers made float32 on purpose (RoPE inv_freq) stay so
    prev = torch.get_default_dtype()
    torch.set_default_dtype(DT)
    try:
        with torch.device(dev):
            model = LlamaForCausalLM(config)
    finally:
        torch.set_default_dtype(prev)
    if any(p.dtype != DT for p in model.parameters()):
        for p in model.parameters():
            p.data = p.data.to(DT)
    model.eval()
    model.requires_grad_(False)
    return model, config


def forward_kwargs(model):
    sig = inspect.signature(model.forward).parameters
    if "logits_to_keep" in sig:
        return {"logits_to_keep": 1}
    if "num_logits_to_keep" in sig:
        return {"num_logits_to_keep": 1}
    return {}


# ---- a. HF eager generate -------------------------------------------------------------------
def eager_generate(model, ids):
    mask = torch.ones_like(ids)
    pad = model.config.eos_token_id
    pad = pad[0] if isinstance(pad, list) else pad
    pad = 0 if pad is None else pad

    def gen(n):
        return model.generate(ids, attention_mask=mask, max_new_tokens=n, min_new_tokens=n, do_sample=False, pad_token_id=pad)

    gen(4)  # warm-up: kernels, cuBLAS handles, allocator
    t1 = min(timed(lambda: gen(1))[0] for _ in range(2))
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    tG, out = timed(lambda: gen(G))
    peak = torch.cuda.max_memory_allocated() if cuda else None
    new = out[0, ids.shape[1] :].tolist()
    if len(new) != G:
        raise RuntimeError(f"generate made {len(new)} tokens, expected {G}")
    return {"prefill512_tps": P / t1, "eager_decode_tps": (G - 1) / max(tG - t1, 1e-9), "eager_generate_s": tG, "peak_bytes": peak}, new


# ---- b. compiled static-cache decode --------------------------------------------------------
def static_cache(config, max_len):
    from transformers import StaticCache

    # transformers >= 4.56 takes (config, max_cache_len) and sizes the layers lazily at the first
    # update (**kwargs swallow the rest); 4.45-4.55 take max_batch_size, device and dtype
    return StaticCache(config=config, max_batch_size=1, max_cache_len=max_len, device=dev, dtype=DT)


class HfStep:
    """The transformers forward over a StaticCache: prefill (eager) and the one-token step.
    Positions go in as position_ids, and as cache_position where the forward takes one (4.x);
    transformers 5 dropped cache_position: its static cache counts the written positions itself
    (a tensor), so the cache is reset before each prefill."""

    name = "hf"

    def __init__(self, model, config, max_len):
        self.model, self.kw = model, forward_kwargs(model)
        self.cache = static_cache(config, max_len)
        self.cache_position = "cache_position" in inspect.signature(model.forward).parameters

    @staticmethod
    def _logits(out):
        return out[0] if isinstance(out, tuple) else out.logits

    def _call(self, tok, pos, kw):
        extra = {"cache_position": pos} if self.cache_position else {}
        out = self.model(input_ids=tok, position_ids=pos[None], past_key_values=self.cache, use_cache=True, return_dict=False, **extra, **kw)
        return torch.argmax(self._logits(out)[:, -1, :], dim=-1, keepdim=True)

    def prefill(self, ids):
        self.cache.reset()  # in place (the tensors keep their static addresses)
        return self._call(ids, torch.arange(ids.shape[1], device=dev), self.kw)

    def step(self, tok, pos):
        return self._call(tok, pos, {})


class OwnStep:
    """Our minimal Llama decode (gpt-fast style) over the transformers model's weights: fixed KV
    buffers [1, kv_heads, max_len, head_dim] written with index_copy_, SDPA over the whole buffer
    with a mask, RoPE tables from the model's own inv_freq (so llama3 scaling is included)."""

    name = "own"

    def __init__(self, model, config, max_len):
        m = model.model
        self.H = config.num_attention_heads
        self.Hk = config.num_key_value_heads
        self.D = getattr(config, "head_dim", None) or config.hidden_size // self.H
        self.eps = config.rms_norm_eps
        self.embed = m.embed_tokens.weight
        self.head = model.lm_head.weight
        self.norm = m.norm.weight
        self.layers = []
        for L in m.layers:
            a, f = L.self_attn, L.mlp
            self.layers.append(
                dict(
                    ln1=L.input_layernorm.weight,
                    ln2=L.post_attention_layernorm.weight,
                    wq=a.q_proj.weight,
                    wk=a.k_proj.weight,
                    wv=a.v_proj.weight,
                    wo=a.o_proj.weight,
                    wg=f.gate_proj.weight,
                    wu=f.up_proj.weight,
                    wd=f.down_proj.weight,
                    kc=torch.zeros(1, self.Hk, max_len, self.D, dtype=DT, device=dev),
                    vc=torch.zeros(1, self.Hk, max_len, self.D, dtype=DT, device=dev),
                )
            )
        for L in self.layers:
            torch._dynamo.mark_static_address(L["kc"])
            torch._dynamo.mark_static_address(L["vc"])
        rot = m.rotary_emb
        inv = rot.inv_freq.to(device=dev, dtype=torch.float32)
        scale = float(getattr(rot, "attention_scaling", 1.0))
        freqs = torch.outer(torch.arange(max_len, device=dev, dtype=torch.float32), inv)
        emb = torch.cat([freqs, freqs], dim=-1)
        self.cos, self.sin = (emb.cos() * scale).to(DT), (emb.sin() * scale).to(DT)
        self.ar = torch.arange(max_len, device=dev)
        for t in (self.cos, self.sin, self.ar):  # fixed addresses: CUDA graphs read them in place
            torch._dynamo.mark_static_address(t)
        self.max_len = max_len

    def _rms(self, x, w):
        xf = x.float()
        return w * (xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + self.eps)).to(x.dtype)

    @staticmethod
    def _rope(x, cos, sin):
        h = x.shape[-1] // 2
        return x * cos + torch.cat([-x[..., h:], x[..., :h]], dim=-1) * sin

    def forward(self, tok, pos):
        T = tok.shape[1]
        H, Hk, D = self.H, self.Hk, self.D
        x = F.embedding(tok, self.embed)
        cos, sin = self.cos[pos][None, None], self.sin[pos][None, None]  # [1, 1, T, D]
        mask = (self.ar[None, :] <= pos[:, None])[None, None]  # key j visible from query at position p when j <= p
        for L in self.layers:
            h = self._rms(x, L["ln1"])
            q = F.linear(h, L["wq"]).view(1, T, H, D).transpose(1, 2)
            k = F.linear(h, L["wk"]).view(1, T, Hk, D).transpose(1, 2)
            v = F.linear(h, L["wv"]).view(1, T, Hk, D).transpose(1, 2)
            q, k = self._rope(q, cos, sin), self._rope(k, cos, sin)
            L["kc"].index_copy_(2, pos, k)
            L["vc"].index_copy_(2, pos, v)
            kk, vv = L["kc"], L["vc"]
            if Hk != H:
                kk, vv = kk.repeat_interleave(H // Hk, dim=1), vv.repeat_interleave(H // Hk, dim=1)
            o = F.scaled_dot_product_attention(q, kk, vv, attn_mask=mask)
            x = x + F.linear(o.transpose(1, 2).reshape(1, T, H * D), L["wo"])
            h = self._rms(x, L["ln2"])
            x = x + F.linear(F.silu(F.linear(h, L["wg"])) * F.linear(h, L["wu"]), L["wd"])
        x = self._rms(x[:, -1:, :], self.norm)
        return torch.argmax(F.linear(x, self.head)[:, -1, :], dim=-1, keepdim=True)

    def prefill(self, ids):
        return self.forward(ids, torch.arange(ids.shape[1], device=dev))

    def step(self, tok, pos):
        return self.forward(tok, pos)


def counters():
    try:
        from torch._dynamo.utils import counters as c

        return {"cudagraph_skips": sum(c["inductor"].get(k, 0) for k in ("cudagraph_skips",)), "graph_breaks": sum(c["graph_break"].values())}
    except Exception:
        return {}


def compiled_decode(model, config, ids, impl, fullgraph):
    """Decode tok/s of the compiled step; returns (result dict, tokens)."""
    torch._dynamo.reset()
    before = counters()
    runner = (HfStep if impl == "hf" else OwnStep)(model, config, P + G)
    step = torch.compile(runner.step, mode="reduce-overhead", fullgraph=fullgraph)
    mark = getattr(torch.compiler, "cudagraph_mark_step_begin", None)

    def decode(n):
        tok = runner.prefill(ids)  # eager; the first token comes from the prompt's last position
        toks = [tok]
        pos = torch.tensor([P], device=dev, dtype=torch.long)
        for _ in range(n):
            if mark:
                mark()
            tok = step(tok, pos).clone()  # the graph's output buffer is reused by the next replay
            pos += 1
            toks.append(tok)
        return toks

    t = time.perf_counter()
    decode(min(G - 1, 6))  # compile, CUDA-graph warm-up and record, replays
    sync()
    compile_s = time.perf_counter() - t
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    # the timed run: prefill untimed, then G - 1 steps between two events
    tok = runner.prefill(ids)
    toks = [tok]
    pos = torch.tensor([P], device=dev, dtype=torch.long)

    def loop():
        nonlocal tok
        for _ in range(G - 1):
            if mark:
                mark()
            tok = step(tok, pos).clone()
            pos.add_(1)
            toks.append(tok)

    sync()
    secs, _ = timed(loop)
    peak = torch.cuda.max_memory_allocated() if cuda else None
    tokens = torch.cat(toks, dim=1)[0].tolist()
    after = counters()
    diff = {k: after[k] - before.get(k, 0) for k in after}
    del runner, step
    return {"compiled_decode_tps": (G - 1) / secs, "compile_s": compile_s, "peak_bytes_compiled": peak, **diff}, tokens


# ---- c. long prefill -------------------------------------------------------------------------
def prefill_long(model, n, vocab):
    ids = torch.tensor([[(i * 7919 + 13) % vocab for i in range(n)]], device=dev)
    kw = forward_kwargs(model)
    run = lambda: model(input_ids=ids, use_cache=True, **kw)
    run()  # warm-up
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    best = min(timed(run)[0] for _ in range(3))
    return n / best, (torch.cuda.max_memory_allocated() if cuda else None)


# ---- d. copy bandwidth -------------------------------------------------------------------------
def copy_bandwidth():
    n = 2**28  # 1 GiB of float32
    x = torch.ones(n, device=dev)
    x.clone()
    best = min(timed(lambda: x.clone())[0] for _ in range(5))
    del x
    free()
    return 2 * n * 4 / best / 1e9


meta = {"meta": True, "torch_version": torch.__version__, "transformers_version": transformers.__version__, "gpu": gpu_name(), "dtype": args.dtype}
if "copy" in parts:
    try:
        meta["copy_gbs"] = copy_bandwidth()
    except Exception as e:
        meta["copy_error"] = err(e)
emit(meta)
log(f"torch {torch.__version__}, transformers {transformers.__version__}, {gpu_name()}, copy {meta.get('copy_gbs', 0):.0f} GB/s")

with torch.no_grad():
    for name in [c for c in args.configs.split(",") if c]:
        t_cfg = time.perf_counter()
        row = {"config": os.path.basename(name)[:-5] if name.endswith(".json") else name, "prompt": P, "gen": G, "prefill_long": args.prefill_long, "dtype": args.dtype}
        row.update(torch_version=torch.__version__, transformers_version=transformers.__version__, gpu=gpu_name(), copy_gbs=meta.get("copy_gbs"))
        errors = {}
        model = None
        try:
            cfg = read_config(name)
            if cuda:
                torch.cuda.reset_peak_memory_stats()
            t = time.perf_counter()
            model, config = build(cfg)
            sync()
            row["build_s"] = time.perf_counter() - t
            row["params"] = sum(p.numel() for p in model.parameters())
            row["weight_bytes"] = sum(p.numel() * p.element_size() for p in model.parameters())
            hd = getattr(config, "head_dim", None) or config.hidden_size // config.num_attention_heads
            row["kv_bytes_per_token"] = 2 * config.num_hidden_layers * config.num_key_value_heads * hd * torch.finfo(DT).bits // 8
            row["attn_implementation"] = getattr(config, "_attn_implementation", None)
            log(f"{row['config']}: {row['params'] / 1e9:.2f} B params built in {row['build_s']:.1f} s")
        except Exception as e:
            errors["build"] = err(e)
            traceback.print_exc()
        ids = torch.tensor([[(i * 7919 + 13) % cfg["vocab_size"] for i in range(P)]], device=dev) if model is not None else None
        eager_tokens = None
        if model is not None and "eager" in parts:
            try:
                r, eager_tokens = eager_generate(model, ids)
                row.update(r)
                log(f"{row['config']}: eager decode {r['eager_decode_tps']:.1f} tok/s, prefill{P} {r['prefill512_tps']:.0f} tok/s")
            except Exception as e:
                errors["eager"] = err(e)
                traceback.print_exc()
            free()
        if model is not None and "prefill" in parts:
            try:
                # fixed keys whatever the sizes (prompt and prefill_long say them): prefill512_tps is the
                # P-token prompt's, prefill2048_tps the long prefill's
                row["prefill2048_tps"], row["peak_bytes_prefill"] = prefill_long(model, args.prefill_long, cfg["vocab_size"])
                log(f"{row['config']}: prefill{args.prefill_long} {row['prefill2048_tps']:.0f} tok/s")
            except Exception as e:
                errors["prefill"] = err(e)
                traceback.print_exc()
            free()
        if model is not None and "compiled" in parts:
            tries = [(args.compiled, True), (args.compiled, False)] + ([("own", True)] if args.compiled == "hf" else [])
            for impl, fullgraph in tries:
                try:
                    r, toks = compiled_decode(model, config, ids, impl, fullgraph)
                    row.update(r)
                    row["compiled_mode"] = f"{impl} reduce-overhead fullgraph={fullgraph}" + (" tuning" if args.tuning else "")
                    if eager_tokens is not None:
                        same = 0
                        while same < min(len(toks), len(eager_tokens)) and toks[same] == eager_tokens[same]:
                            same += 1
                        row["compiled_tokens_agree"] = same  # leading tokens equal to eager generate's (bf16 may part early)
                    log(f"{row['config']}: compiled ({row['compiled_mode']}) decode {r['compiled_decode_tps']:.1f} tok/s, compile {r['compile_s']:.0f} s")
                    break
                except Exception as e:
                    errors[f"compiled {impl} fullgraph={fullgraph}"] = err(e)
                    log(f"{row['config']}: compiled {impl} fullgraph={fullgraph} failed: {err(e)}")
                    traceback.print_exc()
                finally:
                    try:
                        torch._dynamo.reset()
                    except Exception:
                        pass
                    free()
        if cuda:  # the most held at once in any part (each part resets the peak before it starts)
            row["peak_bytes_all"] = max([torch.cuda.max_memory_allocated()] + [row.get(k) or 0 for k in ("peak_bytes", "peak_bytes_prefill", "peak_bytes_compiled")])
        if errors:
            row["errors"] = errors
        row["total_s"] = time.perf_counter() - t_cfg
        emit(row)
        del model, ids
        free()
