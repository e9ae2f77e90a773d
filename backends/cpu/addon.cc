// The Node-API surface of the CPU backend (DESIGN.md §3): buffers, run/runAsync, info, memory.
#include <optional>
#include <napi.h>
#include <cstdlib>
#include <cstring>
#include <utility>
#include "../common/buffer.h"
#include "../common/command.h"
#include "../common/device.h"
#include "sequencer.h"
#include "simd.h"
#include "thread_pool.h"
#include "../common/ops.h"
#include "kernels/fused.h"
#include "replay.h"
#if defined(__unix__) || defined(__APPLE__)
#include <cerrno>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#endif

namespace kiln {
namespace {

int64_t reported_bytes = 0;

// Tell V8 about native memory so its GC pressure heuristics see it. Only changes of 1 MiB or
// more: a call per small evaluation nudged V8 into GC work that cost more than the op (issue 17).
void report_memory(Napi::Env env) {
  int64_t active = Allocator::get().stats().active;
  int64_t delta = active - reported_bytes;
  if (delta >= (1 << 20) || delta <= -(1 << 20)) {
    int64_t result;
    napi_adjust_external_memory(env, delta, &result);
    reported_bytes = active;
  }
}

template <typename F> Napi::Value guarded(const Napi::CallbackInfo& info, F&& f) {
  try {
    return f();
  } catch (const std::exception& e) {
    throw Napi::Error::New(info.Env(), e.what());
  }
}

double number_arg(const Napi::CallbackInfo& info, size_t i, const char* fn, const char* what) {
  if (info.Length() <= i || !info[i].IsNumber()) fail("[", fn, "] ", what, " must be a number");
  return info[i].As<Napi::Number>().DoubleValue();
}

uint32_t id_arg(const Napi::CallbackInfo& info, size_t i, const char* fn) {
  double v = number_arg(info, i, fn, "buffer id");
  if (!(v >= 1 && v <= 4294967295.0 && v == (double)(uint32_t)v)) fail("[", fn, "] invalid buffer id ", v);
  return (uint32_t)v;
}

BufferPtr buffer_arg(const Napi::CallbackInfo& info, size_t i, const char* fn) {
  uint32_t id = id_arg(info, i, fn);
  BufferPtr b = Allocator::get().find(id);
  if (!b) fail("[", fn, "] unknown or freed buffer id ", id);
  return b;
}

Napi::Value Alloc(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    double n = number_arg(info, 0, "alloc", "byte size");
    if (!(n >= 0 && n == (double)(int64_t)n && n <= 9007199254740992.0)) fail("[alloc] invalid byte size ", n);
    return Napi::Number::New(info.Env(), Allocator::get().create((int64_t)n));
  });
}

Napi::Value Free(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    Allocator::get().release(id_arg(info, 0, "free"));
    report_memory(info.Env());
    return info.Env().Undefined();
  });
}

Napi::Value Write(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    BufferPtr b = buffer_arg(info, 0, "write");
    double off = number_arg(info, 1, "write", "byte offset");
    if (info.Length() < 3 || !info[2].IsTypedArray()) fail("[write] data must be a typed array");
    auto ta = info[2].As<Napi::TypedArray>();
    size_t n = ta.ByteLength();
    const char* src = static_cast<const char*>(ta.ArrayBuffer().Data()) + ta.ByteOffset();
    if (!(off >= 0 && off == (double)(int64_t)off) || (int64_t)off + (int64_t)n > b->nbytes)
      fail("[write] ", n, " bytes at offset ", off, " do not fit in buffer ", b->id, " of ", b->nbytes, " bytes");
    Sequencer::Turn turn;
    make_resident(*b, 0);  // a partial write keeps the rest of the current contents
    if (n) std::memcpy(static_cast<char*>(b->data) + (int64_t)off, src, n);
    mark_written(*b, 0);
    report_memory(info.Env());
    return info.Env().Undefined();
  });
}

Napi::Value Read(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    BufferPtr b = buffer_arg(info, 0, "read");
    double off = number_arg(info, 1, "read", "byte offset");
    double n = number_arg(info, 2, "read", "byte count");
    if (!(off >= 0 && n >= 0 && off == (double)(int64_t)off && n == (double)(int64_t)n) ||
        (int64_t)off + (int64_t)n > b->nbytes)
      fail("[read] ", n, " bytes at offset ", off, " are outside buffer ", b->id, " of ", b->nbytes, " bytes");
    // A read waits for the run that writes this buffer, not for every run queued after it (decode
    // queues step n+1 before reading step n's token). Safe because a later run never writes a
    // buffer JS still holds (donation takes dead buffers only); an unwritten buffer takes a turn.
    std::optional<Sequencer::Turn> turn;
    if (uint64_t w = b->writer.load()) Sequencer::get().wait_done(w - 1);
    // malloc + external ArrayBuffer: a failed V8 allocation would be fatal, a failed malloc throws
    void* mem = std::malloc(n > 0 ? (size_t)n : 1);
    if (!mem) fail("[read] out of memory copying ", n, " bytes to JavaScript");
    bool done = false;
    if (!b->data || !b->valid_on(0)) {
      turn.emplace();
      try {
        // a device result: only the bytes asked for cross (item() of a big buffer reads 8 bytes)
        done = read_device_copy(*b, (int64_t)off, (int64_t)n, mem);
        if (!done) make_resident(*b, 0);
      } catch (...) {
        std::free(mem);
        throw;
      }
    }
    if (!done && n > 0) std::memcpy(mem, static_cast<char*>(b->data) + (int64_t)off, (size_t)n);
    return Napi::ArrayBuffer::New(info.Env(), mem, (size_t)n, [](Napi::Env, void* p) { std::free(p); });
  });
}

// Copies bytes into a JS typed array (the reverse of write): no external ArrayBuffer and
// finalizer per read, which cost more than the copy for the small reads of item() (issue 17).
Napi::Value ReadInto(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    BufferPtr b = buffer_arg(info, 0, "readInto");
    double off = number_arg(info, 1, "readInto", "byte offset");
    if (info.Length() < 3 || !info[2].IsTypedArray()) fail("[readInto] destination must be a typed array");
    auto ta = info[2].As<Napi::TypedArray>();
    size_t n = ta.ByteLength();
    char* dst = static_cast<char*>(ta.ArrayBuffer().Data()) + ta.ByteOffset();
    if (!(off >= 0 && off == (double)(int64_t)off) || (int64_t)off + (int64_t)n > b->nbytes)
      fail("[readInto] ", n, " bytes at offset ", off, " are outside buffer ", b->id, " of ", b->nbytes, " bytes");
    Sequencer::Turn turn;
    if (!read_device_copy(*b, (int64_t)off, (int64_t)n, dst)) {
      make_resident(*b, 0);
      if (n) std::memcpy(dst, static_cast<char*>(b->data) + (int64_t)off, n);
    }
    return info.Env().Undefined();
  });
}

Napi::Value HostView(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    BufferPtr b = buffer_arg(info, 0, "hostView");
    Sequencer::Turn turn;
    make_resident(*b, 0);
    // JS may write through the view: from now on only the host copy is current
    mark_written(*b, 0);
    // the view keeps the buffer alive until V8 collects it
    auto* hold = new BufferPtr(b);
    return Napi::ArrayBuffer::New(
        info.Env(), b->data, (size_t)b->nbytes, [](Napi::Env, void*, BufferPtr* h) { delete h; }, hold);
  });
}

// Maps a file read-only into a buffer (zero-copy weights). MAP_PRIVATE + PROT_WRITE: a stray
// kernel write is copy-on-write in memory and never reaches the file; NORESERVE keeps a big
// writable private mapping from being refused by overcommit accounting.
Napi::Value MapFile(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    if (info.Length() < 1 || !info[0].IsString()) fail("[mapFile] path must be a string");
    std::string path = info[0].As<Napi::String>().Utf8Value();
#if defined(__unix__) || defined(__APPLE__)
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) fail("[mapFile] cannot open ", path, ": ", std::strerror(errno));
    struct stat st;
    if (::fstat(fd, &st) != 0) {
      int err = errno;
      ::close(fd);
      fail("[mapFile] cannot stat ", path, ": ", std::strerror(err));
    }
    if (!S_ISREG(st.st_mode)) {
      ::close(fd);
      fail("[mapFile] ", path, " is not a regular file");
    }
    int64_t size = (int64_t)st.st_size;
    if (size == 0) {
      ::close(fd);
      return Napi::Number::New(info.Env(), Allocator::get().create(0));
    }
    int flags = MAP_PRIVATE;
#ifdef MAP_NORESERVE
    flags |= MAP_NORESERVE;
#endif
    // no read-only fallback: a write into a PROT_READ mapping would crash instead of copying
    void* p = ::mmap(nullptr, (size_t)size, PROT_READ | PROT_WRITE, flags, fd, 0);
    int err = errno;
    ::close(fd);
    if (p == MAP_FAILED) fail("[mapFile] cannot map ", path, " (", size, " bytes): ", std::strerror(err));
    try {
      return Napi::Number::New(info.Env(), Allocator::get().adopt_mapping(p, size));
    } catch (...) {
      ::munmap(p, (size_t)size);
      throw;
    }
#else
    fail("[mapFile] memory-mapping files is not supported on this platform (", path, ")");
#endif
  });
}

// The words (and their count) of a run's command list argument.
std::pair<const double*, size_t> words_arg(const Napi::CallbackInfo& info, const char* fn) {
  if (info.Length() < 1 || !info[0].IsTypedArray() ||
      info[0].As<Napi::TypedArray>().TypedArrayType() != napi_float64_array)
    fail("[", fn, "] commands must be a Float64Array");
  auto words = info[0].As<Napi::Float64Array>();
  // an optional word count: the JS side encodes into one reused array (no allocation per run)
  size_t n = words.ElementLength();
  if (info.Length() >= 2 && !info[1].IsUndefined()) {
    double len = number_arg(info, 1, fn, "word count");
    if (!(len >= 0 && len <= (double)n && len == (double)(size_t)len))
      fail("[", fn, "] word count ", len, " is not an integer in [0, ", n, "]");
    n = (size_t)len;
  }
  return {words.Data(), n};
}

std::vector<Command> parse_arg(const Napi::CallbackInfo& info, const char* fn) {
  auto [w, n] = words_arg(info, fn);
  return parse_commands(w, n);
}

// The synchronous run's commands, kept between runs so their vectors are not reallocated
// (JS thread only; execute_commands drops every buffer reference it holds).
std::vector<Command>& sync_commands() {
  static std::vector<Command>* cmds = new std::vector<Command>();
  return *cmds;
}

Napi::Value Run(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    auto [w, n] = words_arg(info, "run");
    auto& cmds = sync_commands();
    parse_commands_into(cmds, w, n);
    try {
      Sequencer::Turn turn;
      execute_commands(cmds);
    } catch (...) {
      for (auto& c : cmds) c.ops.clear();
      throw;
    }
    report_memory(info.Env());
    return info.Env().Undefined();
  });
}

class RunWorker : public Napi::AsyncWorker {
 public:
  RunWorker(Napi::Env env, std::vector<Command> cmds)
      : Napi::AsyncWorker(env),
        cmds_(std::move(cmds)),
        deferred_(Napi::Promise::Deferred::New(env)),
        ticket_(Sequencer::get().take()) {
    for (auto& c : cmds_)
      for (size_t i = (size_t)c.n_inputs; i < c.ops.size(); i++) c.ops[i].buf->writer.store(ticket_ + 1);
  }
  Napi::Promise promise() { return deferred_.Promise(); }
  void Execute() override {
    Sequencer::get().wait(ticket_);
    try {
      execute_commands(cmds_);
    } catch (const std::exception& e) {
      SetError(e.what());
    }
    cmds_.clear();
    Sequencer::get().done();
  }
  void OnOK() override {
    report_memory(Env());
    deferred_.Resolve(Env().Undefined());
  }
  void OnError(const Napi::Error& e) override {
    report_memory(Env());
    deferred_.Reject(e.Value());
  }

 private:
  std::vector<Command> cmds_;
  Napi::Promise::Deferred deferred_;
  uint64_t ticket_;
};

Napi::Value RunAsync(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    auto* w = new RunWorker(info.Env(), parse_arg(info, "runAsync"));
    auto p = w->promise();
    w->Queue();
    return p;
  });
}

// Fused programs and compiled replays (kn.compile): register a program, forget it, and run a
// stored command list after allocating its new buffers (one crossing per compiled call).
Napi::Value CompileProgram(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    if (info.Length() < 1 || !info[0].IsTypedArray() ||
        info[0].As<Napi::TypedArray>().TypedArrayType() != napi_float64_array)
      fail("[compileProgram] program must be a Float64Array");
    auto w = info[0].As<Napi::Float64Array>();
    int64_t h = fused_compile(w.Data(), w.ElementLength());
    announce_program(h, w.Data(), w.ElementLength());
    return Napi::Number::New(info.Env(), (double)h);
  });
}
Napi::Value ReleaseProgram(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    int64_t h = (int64_t)number_arg(info, 0, "releaseProgram", "handle");
    fused_release(h);
    forget_program(h);
    return info.Env().Undefined();
  });
}
Napi::Value Replay(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    for (size_t i = 0; i < 2; i++)
      if (info.Length() <= i || !info[i].IsTypedArray() ||
          info[i].As<Napi::TypedArray>().TypedArrayType() != napi_float64_array)
        fail("[replay] commands and allocations must be Float64Arrays");
    auto w = info[0].As<Napi::Float64Array>();
    auto a = info[1].As<Napi::Float64Array>();
    // the third argument names the stored list (kn.compile's plan id; absent: 0, none)
    uint64_t key = info.Length() > 2 && info[2].IsNumber() ? (uint64_t)std::max(0.0, info[2].As<Napi::Number>().DoubleValue()) : 0;
    auto ids = replay_commands(w.Data(), w.ElementLength(), a.Data(), a.ElementLength(), key);
    report_memory(info.Env());
    auto out = Napi::Float64Array::New(info.Env(), ids.size());
    for (size_t i = 0; i < ids.size(); i++) out[i] = ids[i];
    return out;
  });
}

Napi::Value Synchronize(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    Sequencer::Turn turn;
    synchronize_devices();
    return info.Env().Undefined();
  });
}

// The accelerators the device backend libraries found (loading them on the first call):
// { devices: [{ index, backend, name, arch, ordinal, totalMemory, kernels }], unavailable }.
Napi::Value Devices(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    Napi::Env env = info.Env();
    auto list = Napi::Array::New(env);
    for (int d = 1; d < device_count(); d++) {
      DeviceBackend* be = device_backend(d);
      auto o = Napi::Object::New(env);
      o.Set("index", d);
      o.Set("backend", be->backend());
      o.Set("name", be->name());
      o.Set("arch", be->arch());
      o.Set("ordinal", be->ordinal());
      o.Set("totalMemory", (double)be->total_memory());
      auto ks = Napi::Array::New(env);
      uint32_t i = 0;
      for (auto& k : be->kernels()) ks.Set(i++, k);
      o.Set("kernels", ks);
      list.Set((uint32_t)(d - 1), o);
    }
    auto out = Napi::Object::New(env);
    out.Set("devices", list);
    const std::string& why = device_unavailable_reason();
    out.Set("unavailable", why.empty() ? env.Null() : Napi::Value(Napi::String::New(env, why)));
    return out;
  });
}

// An optional device argument (memory functions): 0 or absent is the CPU.
DeviceBackend* device_arg(const Napi::CallbackInfo& info, size_t i, const char* fn) {
  if (info.Length() <= i || info[i].IsUndefined() || info[i].IsNull()) return nullptr;
  double d = number_arg(info, i, fn, "device");
  if (d == 0) return nullptr;
  if (!(d >= 1 && d < kMaxDevices && d == std::floor(d)) || !device_backend((int)d))
    fail("[", fn, "] device ", d, " is not available");
  return device_backend((int)d);
}

Napi::Object name_table(Napi::Env env, const std::vector<const char*>& names) {
  auto o = Napi::Object::New(env);
  for (size_t i = 0; i < names.size(); i++) o.Set(names[i], Napi::Number::New(env, (double)i));
  return o;
}

Napi::Value Info(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    Napi::Env env = info.Env();
    auto o = Napi::Object::New(env);
    o.Set("backend", "cpu");
    auto dt = Napi::Array::New(env);
    for (int d = 0; d < kNumDtypes; d++) dt.Set((uint32_t)d, dtype_name(d));
    o.Set("dtypes", dt);
    std::vector<const char*> kn;
    for (auto& k : kernel_catalog()) kn.push_back(k.name);
    o.Set("kernels", name_table(env, kn));
#define KILN_NAME(n) #n,
    o.Set("unaryOps", name_table(env, {KILN_UNARY_OPS(KILN_NAME)}));
    o.Set("binaryOps", name_table(env, {KILN_BINARY_OPS(KILN_NAME)}));
    o.Set("reduceOps", name_table(env, {KILN_REDUCE_OPS(KILN_NAME)}));
    o.Set("sortOps", name_table(env, {KILN_SORT_OPS(KILN_NAME)}));
    o.Set("scanOps", name_table(env, {KILN_SCAN_OPS(KILN_NAME)}));
#undef KILN_NAME
    o.Set("threads", Napi::Number::New(env, num_threads()));
    o.Set("maxDims", Napi::Number::New(env, kMaxDims));
    // the level the kernels use, the best one this build has on this CPU, the switch that
    // lowered it (or null), and the CPU's features (simd.h)
    const IsaState& st = isa_state();
    auto isa = Napi::Object::New(env);
    isa.Set("level", isa_name(st.level));
    isa.Set("best", isa_name(st.best));
    isa.Set("forced", st.forced[0] ? Napi::Value(Napi::String::New(env, st.forced)) : env.Null());
    const CpuFeatures& f = st.cpu;
    const std::pair<const char*, bool> feats[] = {{"avx2", f.avx2},
                                                  {"fma", f.fma},
                                                  {"f16c", f.f16c},
                                                  {"avx512f", f.avx512f},
                                                  {"avx512bw", f.avx512bw},
                                                  {"avx512vl", f.avx512vl},
                                                  {"avx512dq", f.avx512dq},
                                                  {"avx512vnni", f.avx512vnni},
                                                  {"avx512bf16", f.avx512bf16}};
    for (auto& kv : feats) isa.Set(kv.first, Napi::Boolean::New(env, kv.second));
    o.Set("isa", isa);
    return o;
  });
}

Napi::Value Memory(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    auto o = Napi::Object::New(info.Env());
    if (DeviceBackend* be = device_arg(info, 0, "memory")) {
      DeviceMemoryStats m = be->memory();
      o.Set("active", (double)m.active);
      o.Set("peak", (double)m.peak);
      o.Set("cache", (double)m.cache);
      o.Set("limit", (double)m.limit);
      o.Set("cacheLimit", (double)m.cache_limit);
      o.Set("total", (double)m.total);
      return o;
    }
    auto s = Allocator::get().stats();
    o.Set("active", (double)s.active);
    o.Set("peak", (double)s.peak);
    o.Set("cache", (double)s.cache);
    o.Set("limit", (double)s.limit);
    o.Set("cacheLimit", (double)s.cache_limit);
    o.Set("buffers", (double)s.buffers);
    return o;
  });
}

double bytes_arg(const Napi::CallbackInfo& info, const char* fn) {
  double v = number_arg(info, 0, fn, "bytes");
  if (!(v >= 0 && v == std::floor(v))) fail("[", fn, "] bytes must be a non-negative integer, got ", v);
  return v;
}

Napi::Value SetLimit(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    int64_t bytes = (int64_t)bytes_arg(info, "memory.setLimit");
    if (DeviceBackend* be = device_arg(info, 1, "memory.setLimit")) be->set_limit(bytes);
    else Allocator::get().set_limit(bytes);
    return info.Env().Undefined();
  });
}
Napi::Value SetCacheLimit(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    int64_t bytes = (int64_t)bytes_arg(info, "memory.setCacheLimit");
    if (DeviceBackend* be = device_arg(info, 1, "memory.setCacheLimit")) be->set_cache_limit(bytes);
    else Allocator::get().set_cache_limit(bytes);
    return info.Env().Undefined();
  });
}
Napi::Value ResetPeak(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    if (DeviceBackend* be = device_arg(info, 0, "memory.resetPeak")) be->reset_peak();
    else Allocator::get().reset_peak();
    return info.Env().Undefined();
  });
}
Napi::Value ClearCache(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    if (DeviceBackend* be = device_arg(info, 0, "memory.clearCache")) {
      Sequencer::Turn turn;  // queued work may still hold blocks: release them in order
      be->clear_cache();
    } else Allocator::get().clear_cache();
    return info.Env().Undefined();
  });
}
// The pool's fork/join overhead in microseconds (bench/pool.mjs): thread_pool.h measure_fork_join.
Napi::Value MeasureForkJoin(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    const char* fn = "measureForkJoin";
    const double iters = number_arg(info, 0, fn, "iterations"), gap = number_arg(info, 1, fn, "gap (us)"),
                 work = number_arg(info, 2, fn, "work (us)");
    if (!(iters >= 1 && iters <= 1e6 && iters == std::floor(iters)))
      fail("[measureForkJoin] iterations must be an integer in [1, 1e6], got ", iters);
    if (!(gap >= 0 && gap <= 1e6 && work >= 0 && work <= 1e6))
      fail("[measureForkJoin] gap and work must be in [0, 1e6] microseconds, got ", gap, " and ", work);
    const ForkJoinTiming t = measure_fork_join((int)iters, (int64_t)gap, (int64_t)work);
    auto o = Napi::Object::New(info.Env());
    o.Set("threads", (double)t.threads);
    o.Set("meanUs", t.mean_us);
    o.Set("medianUs", t.median_us);
    o.Set("bestUs", t.best_us);
    return o;
  });
}

Napi::Value SetNumThreads(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    double n = number_arg(info, 0, "setNumThreads", "thread count");
    if (!(n >= 0 && n <= 256 && n == std::floor(n))) fail("[setNumThreads] invalid thread count ", n);
    set_num_threads((int)n);
    return info.Env().Undefined();
  });
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  // An unknown KILN_ISA fails the load with its message: a typo must not silently test another level.
  if (isa_state().error[0]) throw Napi::Error::New(env, isa_state().error);
  exports.Set("alloc", Napi::Function::New(env, Alloc));
  exports.Set("free", Napi::Function::New(env, Free));
  exports.Set("write", Napi::Function::New(env, Write));
  exports.Set("read", Napi::Function::New(env, Read));
  exports.Set("readInto", Napi::Function::New(env, ReadInto));
  exports.Set("hostView", Napi::Function::New(env, HostView));
  exports.Set("mapFile", Napi::Function::New(env, MapFile));
  exports.Set("run", Napi::Function::New(env, Run));
  exports.Set("runAsync", Napi::Function::New(env, RunAsync));
  exports.Set("synchronize", Napi::Function::New(env, Synchronize));
  exports.Set("compileProgram", Napi::Function::New(env, CompileProgram));
  exports.Set("releaseProgram", Napi::Function::New(env, ReleaseProgram));
  exports.Set("replay", Napi::Function::New(env, Replay));
  exports.Set("info", Napi::Function::New(env, Info));
  exports.Set("devices", Napi::Function::New(env, Devices));
  exports.Set("memory", Napi::Function::New(env, Memory));
  exports.Set("setLimit", Napi::Function::New(env, SetLimit));
  exports.Set("setCacheLimit", Napi::Function::New(env, SetCacheLimit));
  exports.Set("resetPeak", Napi::Function::New(env, ResetPeak));
  exports.Set("clearCache", Napi::Function::New(env, ClearCache));
  exports.Set("setNumThreads", Napi::Function::New(env, SetNumThreads));
  exports.Set("measureForkJoin", Napi::Function::New(env, MeasureForkJoin));
  return exports;
}

}  // namespace
}  // namespace kiln

static Napi::Object InitModule(Napi::Env env, Napi::Object exports) { return kiln::Init(env, exports); }
NODE_API_MODULE(kiln_cpu, InitModule)
