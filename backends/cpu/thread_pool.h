// A fixed pool sized to the cores (KILN_NUM_THREADS overrides). The caller thread takes part.
// Idle workers spin for KILN_SPIN_US microseconds (default 50) before they sleep, so the many
// small kernels of one decode step do not each pay a thread wake-up.
#pragma once
#include <cstdint>
#include <functional>

namespace kiln {

int num_threads();
void set_num_threads(int n);  // takes effect for the next parallel_for

// Splits [0, n) into chunks of at least `grain` items and runs fn(begin, end) on the pool.
// Runs inline when the range is small or when called from inside a pool task.
void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn);

// Fork/join cost: `iters` parallel_for calls of one chunk per thread, each chunk busy for
// work_us, each call after gap_us of idle time (0: back to back; a gap longer than the spin lets
// the workers sleep). The overhead of a call is its time minus work_us.
struct ForkJoinTiming {
  int threads = 1;
  double mean_us = 0, median_us = 0, best_us = 0;
};
ForkJoinTiming measure_fork_join(int iters, int64_t gap_us, int64_t work_us);

}  // namespace kiln
