#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <set>
#include <cstring>
#include <mutex>
#include <string>
#include <unordered_map>
#include <algorithm>
#include "../common/command.h"
#include "../common/device.h"
#include "kernels/fused.h"
#include <cmath>
#include <sstream>

namespace kiln {

const char* kernel_name(const Command& c) { return kernel_catalog()[c.kernel].name; }

void expect_same_shape(const Command& c, const View& a, const View& b, const char* what) {
  bool same = a.ndim == b.ndim;
  for (int d = 0; same && d < a.ndim; d++) same = a.shape[d] == b.shape[d];
  if (!same) fail("[", kernel_name(c), "] ", what, ": shapes differ (", a.describe(), " vs ", b.describe(), ")");
}

void expect_dtype(const Command& c, const View& v, int dtype, const char* what) {
  if (v.dtype != dtype)
    fail("[", kernel_name(c), "] ", what, " must be ", dtype_name(dtype), ", got ", dtype_name(v.dtype));
}

int kernel_id(const char* name) {
  const auto& cat = kernel_catalog();
  for (size_t i = 0; i < cat.size(); i++)
    if (std::string(cat[i].name) == name) return (int)i;
  return -1;
}

namespace {

struct Reader {
  const double* w;
  size_t n, pos = 0;
  double next(const char* what) {
    if (pos >= n) fail("[run] command list ends early while reading ", what, " at word ", pos);
    return w[pos++];
  }
  int64_t integer(const char* what, int64_t lo, int64_t hi) {
    double v = next(what);
    if (!(v == std::floor(v)) || v < (double)lo || v > (double)hi)
      fail("[run] invalid ", what, " ", v, " at word ", pos - 1, " (expected an integer in [", lo, ", ", hi, "])");
    return (int64_t)v;
  }
};

constexpr int64_t kMaxInt = (int64_t)1 << 53;

View read_operand(Reader& r, std::vector<size_t>* id_positions) {
  View v;
  if (id_positions) id_positions->push_back(r.pos);
  uint32_t id = (uint32_t)r.integer("buffer id", 1, 0xffffffffLL);
  v.buf = Allocator::get().find(id);
  if (!v.buf) fail("[run] unknown or freed buffer id ", id);
  v.dtype = (int32_t)r.integer("dtype", 0, kNumDtypes - 1);
  v.offset = r.integer("offset", 0, kMaxInt);
  v.ndim = (int32_t)r.integer("ndim", 0, kMaxDims);
  for (int d = 0; d < v.ndim; d++) v.shape[d] = r.integer("shape entry", 0, kMaxInt);
  for (int d = 0; d < v.ndim; d++) {
    v.strides[d] = r.integer("stride", -kMaxInt, kMaxInt);
    if (v.shape[d] <= 1) v.strides[d] = 0;  // never stepped over: any value is harmless
  }
  // size and the element range touched, with overflow checks
  int64_t size = 1, lo = v.offset, hi = v.offset;
  for (int d = 0; d < v.ndim; d++) {
    if (v.shape[d] == 0) {
      size = 0;
      break;
    }
    if (size > kMaxInt / v.shape[d]) fail("[run] operand too large: ", v.describe());
    size *= v.shape[d];
    double span = (double)(v.shape[d] - 1) * (double)v.strides[d];
    if (std::fabs(span) > (double)kMaxInt) fail("[run] stride span too large: ", v.describe());
    if (span < 0) lo += (int64_t)span;
    else hi += (int64_t)span;
  }
  v.size = size;
  int64_t isz = dtype_size(v.dtype);
  if (size > 0 && (lo < 0 || (hi + 1) > v.buf->nbytes / isz))
    fail("[run] view reaches outside its buffer (", v.buf->nbytes, " bytes): ", v.describe());
  return v;
}

// KILN_DEBUG=1: say once per kernel and dtype when a device hands a command to the CPU.
void note_fallback(const Command& c, const char* name) {
  static const bool on = [] {
    const char* d = std::getenv("KILN_DEBUG");
    return d && std::atoi(d) >= 1;
  }();
  if (!on) return;
  static std::mutex mu;
  static std::set<std::string> seen;
  std::string key = std::string(name) + " (" + (c.ops.empty() ? "no operands" : dtype_name(c.ops[0].dtype)) + ")";
  if (!c.params.empty() &&
      (std::strcmp(name, "unary") == 0 || std::strcmp(name, "binary") == 0 || std::strcmp(name, "reduce") == 0 ||
       std::strcmp(name, "sort") == 0 || std::strcmp(name, "scan") == 0))
    key += " op " + std::to_string((long long)c.params[0]);
  std::lock_guard<std::mutex> g(mu);
  if (seen.insert(key).second)
    std::fprintf(stderr, "[kiln] %s: %s runs on the CPU (no native kernel for it)\n",
                 device_backend(c.device)->backend(), key.c_str());
}

}  // namespace

// complex64 reaches only the kernels written for it (byte moves, casts, fft), by catalog id
static std::vector<bool> complex_kernels() {
  std::vector<bool> ok(kernel_catalog().size(), false);
  for (const char* name : {"copy", "fill", "where", "gather", "scatter", "fft"}) ok[kernel_id(name)] = true;
  return ok;
}

std::vector<Command> parse_commands(const double* words, size_t n, std::vector<size_t>* id_positions) {
  std::vector<Command> cmds;
  cmds.reserve(n < 64 ? 2 : n / 24);  // a kernel takes ~20-40 words
  parse_commands_into(cmds, words, n, id_positions);
  return cmds;
}

void parse_commands_into(std::vector<Command>& cmds, const double* words, size_t n, std::vector<size_t>* id_positions) {
  Reader r{words, n};
  const auto& cat = kernel_catalog();
  static const int fused_id = kernel_id("fused");
  size_t count = 0;
  // on an error no command keeps a buffer reference (a reused vector would hold it until the next run)
  struct Unwind {
    std::vector<Command>& cmds;
    bool ok = false;
    ~Unwind() {
      if (!ok)
        for (auto& c : cmds) c.ops.clear();
    }
  } unwind{cmds};
  while (r.pos < n) {
    if (count == cmds.size()) cmds.emplace_back();
    Command& c = cmds[count];
    c.params.clear();
    c.ops.clear();
    c.n_inputs = 0;
    int64_t word = r.integer("kernel id", 0, (int64_t)kDeviceStride * kMaxDevices - 1);
    c.kernel = (int32_t)(word % kDeviceStride);
    c.device = (int32_t)(word / kDeviceStride);
    if (c.kernel >= (int64_t)cat.size())
      fail("[run] invalid kernel id ", c.kernel, " at word ", r.pos - 1, " (the catalog has ", cat.size(), " kernels)");
    const KernelDef& k = cat[c.kernel];
    if (c.device && !device_backend(c.device))
      fail("[", k.name, "] device ", c.device, " is not available (", device_count() - 1, " accelerator(s) loaded",
           device_unavailable_reason().empty() ? "" : ": ", device_unavailable_reason(), ")");
    int64_t np = r.integer("parameter count", 0, 64);
    c.params.reserve((size_t)np);
    for (int64_t i = 0; i < np; i++) c.params.push_back(r.next("parameter"));
    if (np < k.min_params || np > k.max_params)
      fail("[", k.name, "] expects ", k.min_params, "..", k.max_params, " parameters, got ", np);
    int64_t nops = r.integer("operand count", 0, 64);
    c.ops.reserve((size_t)nops);
    for (int64_t i = 0; i < nops; i++) c.ops.push_back(read_operand(r, id_positions));
    c.n_inputs = k.n_inputs >= 0 ? k.n_inputs : (int32_t)(nops - k.n_outputs);
    if ((k.n_inputs >= 0 && nops != k.n_inputs + k.n_outputs) || c.n_inputs < 0 || (k.n_inputs < 0 && c.n_inputs < 1))
      fail("[", k.name, "] expects ", k.n_inputs, " inputs and ", k.n_outputs, " outputs, got ", nops, " operands");
    // An output written through a zero stride would write one element over and over: a hang
    // for a hostile command, never something JS asks for.
    for (size_t i = c.n_inputs; i < c.ops.size(); i++)
      for (int d = 0; d < c.ops[i].ndim && c.ops[i].size > 0; d++)
        if (c.ops[i].strides[d] == 0 && c.ops[i].shape[d] > 1)
          fail("[", k.name, "] output ", c.ops[i].describe(), " has a zero stride");
    // complex64 reaches only the kernels written for it (byte moves, casts, fft); the others
    // dispatch on real types and would skip the operand silently
    static const std::vector<bool> complex_ok = complex_kernels();
    if (!complex_ok[c.kernel])
      for (const View& v : c.ops)
        if (v.dtype == kComplex64) fail("[", k.name, "] does not support complex64 operands");
    if (k.check) k.check(c);
    // a fused command's program says how many operands are inputs (the catalog entry cannot):
    // without it no output would be marked written (a device result read back as stale host bytes)
    if (c.kernel == fused_id) c.n_inputs = fused_input_count(c);
    // a device runs what it supports; anything else runs on the CPU, operands moved as needed
    if (c.device && (c.kernel == 0 || !device_backend(c.device)->supports(c))) {
      if (c.kernel != 0) note_fallback(c, k.name);
      c.device = 0;
    }
    count++;
  }
  cmds.resize(count);
  unwind.ok = true;
}

// KILN_DEBUG=2: time every kernel and print a table per kernel (and op code) when the process
// exits — where the time of a training step or a decode loop goes.
namespace {
struct KernelStat {
  double seconds = 0, host = 0;  // host: queueing a device kernel (its launch cost on the CPU)
  int64_t calls = 0, elements = 0;
};
struct Profile {
  std::mutex mu;
  std::map<std::string, KernelStat> stats;
  ~Profile() {
    if (stats.empty()) return;
    std::vector<std::pair<std::string, KernelStat>> rows(stats.begin(), stats.end());
    std::sort(rows.begin(), rows.end(), [](auto& a, auto& b) { return a.second.seconds > b.second.seconds; });
    double total = 0;
    for (auto& r : rows) total += r.second.seconds;
    std::fprintf(stderr, "[kiln] kernel time (KILN_DEBUG=2), total %.3f s\n", total);
    for (auto& [name, st] : rows) {
      std::fprintf(stderr, "  %-28s %9.3f ms %5.1f%% %8lld calls %12lld elements out", name.c_str(), st.seconds * 1e3,
                   100 * st.seconds / (total > 0 ? total : 1), (long long)st.calls, (long long)st.elements);
      // device kernels: what queueing one costs the CPU (the launch), apart from waiting for it
      if (name.find(':') != std::string::npos)
        std::fprintf(stderr, " %8.1f us host per call", st.calls ? 1e6 * st.host / st.calls : 0.0);
      std::fprintf(stderr, "\n");
    }
  }
};
bool profiling() {
  static const bool on = [] {
    const char* d = std::getenv("KILN_DEBUG");
    return d && std::atoi(d) >= 2;
  }();
  return on;
}
Profile& profile() {
  static Profile p;
  return p;
}
}  // namespace

bool execute_replay(uint64_t key, std::vector<Command>& cmds) {
  if (key == 0 || profiling()) return false;
  int dev = -1;
  std::vector<const Command*> list;
  for (auto& c : cmds) {
    if (c.kernel == 0) continue;  // frees are the core's (run below, after the kernels)
    if (dev < 0) dev = c.device;
    if (c.device != dev || dev == 0) return false;
    list.push_back(&c);
  }
  DeviceBackend* be = dev > 0 ? device_backend(dev) : nullptr;
  if (!be) return false;
  // residency first (allocations and uploads queued ahead of the kernels; buffers freed by the
  // list are reused only by the next call), then the list in one piece
  std::unordered_map<uint32_t, size_t> first_use;  // buffer id -> order of first use
  first_use.reserve(2 * cmds.size());
  for (const Command* c : list)
    for (const View& v : c->ops) {
      first_use.emplace(v.buf->id, first_use.size());
      make_resident(*v.buf, dev);
    }
  if (!be->run_replay(key, list)) return false;
  const auto& cat = kernel_catalog();
  std::vector<std::pair<size_t, Command*>> frees;
  for (auto& c : cmds) {
    if (c.kernel == 0) {
      auto it = first_use.find((uint32_t)c.params[0]);
      frees.emplace_back(it == first_use.end() ? 0 : it->second, &c);
      continue;
    }
    for (size_t i = c.n_inputs; i < c.ops.size(); i++) mark_written(*c.ops[i].buf, dev);
    c.ops.clear();
  }
  // freed in reverse order of first use: a device's block cache hands blocks back last freed
  // first, so the next call's buffers get the same addresses in the same order (a recorded
  // graph of the list then matches every call)
  std::stable_sort(frees.begin(), frees.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  for (auto& [order, c] : frees) {
    cat[0].run(*c);
    c->ops.clear();
  }
  return true;
}

void execute_commands(std::vector<Command>& cmds) {
  const auto& cat = kernel_catalog();
  const bool prof = profiling();
  for (auto& c : cmds) {
    // every operand current on the command's device (outputs too: a kernel may write part of a
    // buffer, as concatenate's copies do, and the rest must already be there)
    const int dev = c.device;
    for (auto& v : c.ops) make_resident(*v.buf, dev);
    DeviceBackend* be = dev ? device_backend(dev) : nullptr;
    auto launch = [&] {
      if (be) be->run(c);
      else cat[c.kernel].run(c);
      for (size_t i = c.n_inputs; i < c.ops.size(); i++) mark_written(*c.ops[i].buf, dev);
    };
    if (!prof) {
      launch();
    } else {
      auto t0 = std::chrono::steady_clock::now();
      launch();
      auto t1 = std::chrono::steady_clock::now();
      if (be) be->synchronize();  // device work is queued: time it to completion
      double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      double host = std::chrono::duration<double>(t1 - t0).count();
      std::string key = std::string(be ? be->backend() : "") + (be ? ":" : "") + cat[c.kernel].name;
      // op-coded families: the first parameter is the op (codes in kn.info()) or the fused program
      static const std::string coded[] = {"unary", "binary", "reduce", "sort", "scan", "fused"};
      if (!c.params.empty() && std::find(std::begin(coded), std::end(coded), key) != std::end(coded))
        key += "/" + std::to_string((long long)c.params[0]);
      std::lock_guard<std::mutex> lock(profile().mu);
      auto& st = profile().stats[key];
      st.seconds += dt;
      st.host += host;
      st.calls++;
      if (c.ops.size() > (size_t)c.n_inputs) st.elements += c.out().size;
    }
    c.ops.clear();  // drop buffer references now so freed intermediates return to the cache
  }
}

}  // namespace kiln
