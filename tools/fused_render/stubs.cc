// Link stubs for emulate.cc: fused.cc runs sequentially here, without the allocator or the
// command parser (only its replay path needs them, and emulate never replays).
#include <cstdint>
#include <functional>
#include <vector>
#include "../../backends/common/buffer.h"
#include "../../backends/common/command.h"
namespace kiln {
int num_threads() { return 1; }
void parallel_for(int64_t n, int64_t, const std::function<void(int64_t, int64_t)>& fn) {
  if (n > 0) fn(0, n);
}
Allocator& Allocator::get() { throw Error("emulate: no allocator"); }
uint32_t Allocator::create(int64_t) { throw Error("emulate: no allocator"); }
void Allocator::release(uint32_t) {}
Buffer::~Buffer() {}  // emulate owns the memory
std::vector<Command> parse_commands(const double*, size_t) { throw Error("emulate: no parser"); }
void execute_commands(std::vector<Command>&) {}
}  // namespace kiln
