#include "replay_graphs.h"
#include <cstdio>
#include <cstdlib>
#include "backend.h"

namespace kiln {
namespace cuda {
namespace {

constexpr size_t kGraphsPerList = 4;  // a step whose buffers cycle through a few address sets
constexpr size_t kLists = 32;

bool enabled() {
  static const bool on = [] {
    const char* e = std::getenv("KILN_CUDA_GRAPHS");
    return !(e && std::string(e) == "0");
  }();
  return on;
}

bool debug() {
  static const bool on = [] {
    const char* d = std::getenv("KILN_DEBUG");
    return d && std::atoi(d) >= 1;
  }();
  return on;
}

std::vector<uintptr_t> addresses_of(const std::vector<const Command*>& cmds, int device) {
  std::vector<uintptr_t> a;
  a.reserve(cmds.size() * 3);
  for (const Command* c : cmds)
    for (const View& v : c->ops) a.push_back(reinterpret_cast<uintptr_t>(v.device_data(device)));
  return a;
}

// KILN_DEBUG=1: which operands moved since the last recording (the buffers to keep in place)
void describe_miss(const std::vector<const Command*>& cmds, const std::vector<uintptr_t>& was,
                   const std::vector<uintptr_t>& now) {
  size_t k = 0, moved = 0;
  std::string shown;
  for (size_t i = 0; i < cmds.size(); i++)
    for (size_t j = 0; j < cmds[i]->ops.size(); j++, k++) {
      if (k >= was.size() || was[k] == now[k]) continue;
      if (moved++ < 6) {
        const View& v = cmds[i]->ops[j];
        // kernel ids as in kn.info() (the catalog's names live in the core addon)
        shown += " kernel " + std::to_string(cmds[i]->kernel) + " #" + std::to_string(i) + (j < (size_t)cmds[i]->n_inputs ? ".in" : ".out") +
                 std::to_string(j) + "(" + std::to_string((long long)v.buf->nbytes) + " B)";
      }
    }
  std::fprintf(stderr, "[kiln] cuda: a compiled replay's operands moved since it was recorded: %zu of %zu:%s\n", moved,
               now.size(), shown.c_str());
}

}  // namespace

ReplayGraphs::~ReplayGraphs() {
  for (auto& [k, e] : lists_)
    for (Graph& g : e.graphs) destroy(g);
}

void ReplayGraphs::destroy(Graph& g) {
  // an in-flight launch finishes first (the exec is freed on completion); its scratch must
  // outlive it, so wait before freeing that
  if (!g.scratch.empty()) cudaStreamSynchronize(ctx_.stream);
  if (g.exec) cudaGraphExecDestroy(g.exec);
  for (void* p : g.scratch) cudaFree(p);
  g.exec = nullptr;
  g.scratch.clear();
}

void ReplayGraphs::evict_lists() {
  while (lists_.size() > kLists) {
    auto oldest = lists_.begin();
    for (auto it = lists_.begin(); it != lists_.end(); ++it)
      if (it->second.used < oldest->second.used) oldest = it;
    for (Graph& g : oldest->second.graphs) destroy(g);
    lists_.erase(oldest);
  }
}

bool ReplayGraphs::record(const std::vector<const Command*>& cmds, Graph& g, std::string& why) {
  cudaStream_t s = ctx_.stream;
  cudaError_t e = cudaStreamBeginCapture(s, cudaStreamCaptureModeRelaxed);
  if (e != cudaSuccess) {
    cudaGetLastError();
    why = std::string("cudaStreamBeginCapture: ") + cudaGetErrorString(e);
    return false;
  }
  ctx_.capture_scratch = &g.scratch;
  ctx_.deferred = backend_.deferred_record();
  bool ok = true;
  try {
    for (const Command* c : cmds) backend_.run(*c);
  } catch (const std::exception& ex) {
    ok = false;
    why = ex.what();
  }
  ctx_.capture_scratch = nullptr;
  ctx_.deferred = nullptr;
  cudaGraph_t graph = nullptr;
  e = cudaStreamEndCapture(s, &graph);
  if (ok && e != cudaSuccess) {
    ok = false;
    why = std::string("cudaStreamEndCapture: ") + cudaGetErrorString(e);
  }
  if (ok) {
    e = cudaGraphInstantiate(&g.exec, graph, 0);
    if (e != cudaSuccess) {
      ok = false;
      why = std::string("cudaGraphInstantiate: ") + cudaGetErrorString(e);
      g.exec = nullptr;
    }
  }
  if (graph) cudaGraphDestroy(graph);
  cudaGetLastError();  // a failed capture leaves a non-sticky error behind
  if (!ok) {
    for (void* p : g.scratch) cudaFree(p);  // never launched
    g.scratch.clear();
  }
  return ok;
}

bool ReplayGraphs::run(uint64_t key, const std::vector<const Command*>& cmds) {
  if (!enabled() || cmds.empty()) return false;
  Entry& e = lists_[key];
  e.used = ++clock_;
  // the first call runs command by command: fused programs get compiled, algorithms chosen,
  // and any check that must wait on the host runs as it always does
  if (e.uncapturable || ++e.calls == 1) {
    evict_lists();
    return false;
  }
  std::vector<uintptr_t> addr = addresses_of(cmds, ctx_.device);
  Graph* hit = nullptr;
  for (Graph& g : e.graphs)
    if (g.addresses == addr) hit = &g;
  if (hit) {
    e.hits++;
  } else {
    if (debug() && !e.graphs.empty() && e.recordings < 4) describe_miss(cmds, e.graphs.back().addresses, addr);
    // addresses that never repeat would record a graph per call: give up on such a list
    if (e.recordings >= 8 && e.hits < 2 * e.recordings) {
      e.uncapturable = true;
      for (Graph& g : e.graphs) destroy(g);
      e.graphs.clear();
      if (debug())
        std::fprintf(stderr,
                     "[kiln] cuda: a compiled replay (%zu kernels) runs kernel by kernel: its buffers' addresses do "
                     "not repeat (%llu recordings, %llu relaunches)\n",
                     cmds.size(), (unsigned long long)e.recordings, (unsigned long long)e.hits);
      return false;
    }
    Graph g;
    g.addresses = std::move(addr);
    std::string why;
    if (!record(cmds, g, why)) {
      e.uncapturable = true;
      if (debug())
        std::fprintf(stderr, "[kiln] cuda: a compiled replay (%zu kernels) runs kernel by kernel: %s\n", cmds.size(),
                     why.c_str());
      return false;
    }
    recordings_++;
    e.recordings++;
    if (e.graphs.size() >= kGraphsPerList) {
      size_t lru = 0;
      for (size_t i = 1; i < e.graphs.size(); i++)
        if (e.graphs[i].used < e.graphs[lru].used) lru = i;
      destroy(e.graphs[lru]);
      e.graphs.erase(e.graphs.begin() + (std::ptrdiff_t)lru);
    }
    e.graphs.push_back(std::move(g));
    hit = &e.graphs.back();
    if (debug())
      std::fprintf(stderr,
                   "[kiln] cuda: recorded a compiled replay as a CUDA graph (%zu kernels; %lld recordings, %lld "
                   "launches so far)\n",
                   cmds.size(), (long long)recordings_, (long long)launches_);
  }
  hit->used = clock_;
  cudaError_t err = cudaGraphLaunch(hit->exec, ctx_.stream);
  if (err != cudaSuccess) backend_.raise(err, "replay", "launching a recorded CUDA graph");
  launches_++;
  return true;
}

}  // namespace cuda
}  // namespace kiln
