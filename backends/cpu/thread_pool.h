// A fixed pool sized to the cores (KILN_NUM_THREADS overrides). The caller thread takes part.
#pragma once
#include <cstdint>
#include <functional>

namespace kiln {

int num_threads();
void set_num_threads(int n);  // takes effect for the next parallel_for

// Splits [0, n) into chunks of at least `grain` items and runs fn(begin, end) on the pool.
// Runs inline when the range is small or when called from inside a pool task.
void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn);

}  // namespace kiln
