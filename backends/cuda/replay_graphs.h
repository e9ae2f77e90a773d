// Captured replays: a compiled function's command list (kn.compile) is recorded into a CUDA graph
// the second time it runs, and later calls relaunch it with one cudaGraphLaunch instead of one
// launch per kernel, as long as every operand has the address it had when recorded (a call that
// repeats allocates the same blocks from the caching allocator, so decode steps do). A list whose
// addresses alternate keeps a few graphs; one that cannot be captured (a kernel that waits on the
// host) runs command by command from then on. KILN_CUDA_GRAPHS=0 turns capture off.
#pragma once
#include <cuda_runtime.h>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>
#include "../common/command.h"
#include "context.h"

namespace kiln {
namespace cuda {

class CudaBackend;

class ReplayGraphs {
 public:
  ReplayGraphs(CudaBackend& backend, Context& ctx) : backend_(backend), ctx_(ctx) {}
  ~ReplayGraphs();
  // Runs the list from a graph (recording one first when needed); false when it did not run it.
  bool run(uint64_t key, const std::vector<const Command*>& cmds);
  // Graph launches and recordings so far (KILN_DEBUG=1 prints them with each recording).
  int64_t launches() const { return launches_; }
  int64_t recordings() const { return recordings_; }

 private:
  struct Graph {
    std::vector<uintptr_t> addresses;  // every operand's device address, in command order
    cudaGraphExec_t exec = nullptr;
    std::vector<void*> scratch;  // device memory the recorded kernels use (owned by the graph)
    uint64_t used = 0;
  };
  struct Entry {
    uint64_t calls = 0, used = 0, hits = 0, recordings = 0;
    bool uncapturable = false;
    std::vector<Graph> graphs;
  };
  bool record(const std::vector<const Command*>& cmds, Graph& g, std::string& why);
  void destroy(Graph& g);
  void evict_lists();
  CudaBackend& backend_;
  Context& ctx_;
  std::unordered_map<uint64_t, Entry> lists_;
  uint64_t clock_ = 0;
  int64_t launches_ = 0, recordings_ = 0;
};

}  // namespace cuda
}  // namespace kiln
