#include "thread_pool.h"
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define KILN_PAUSE() _mm_pause()
#else
#define KILN_PAUSE() std::this_thread::yield()
#endif

namespace kiln {
namespace {

thread_local bool in_pool_task = false;

using Clock = std::chrono::steady_clock;

// How long an idle worker spins for the next job before it sleeps on the condition variable:
// one decode step runs hundreds of small kernels back to back, and a sleeping worker costs a
// futex wake-up (tens of microseconds, more on a loaded machine) per kernel. KILN_SPIN_US=0 turns
// spinning off (shared machines).
int64_t spin_us() {
  static const int64_t us = [] {
    if (const char* e = std::getenv("KILN_SPIN_US")) {
      char* end = nullptr;
      long v = std::strtol(e, &end, 10);
      if (end != e && v >= 0) return (int64_t)std::min<long>(v, 1000000);
    }
    return (int64_t)50;
  }();
  return us;
}

// Workers spin, then sleep; the caller takes part in every job and waits for it by spinning
// (then yielding). Job state is atomic: a job is published by bumping `generation_`, chunks are
// claimed with one fetch_add each and counted done with another (no lock per chunk).
class Pool {
 public:
  explicit Pool(int n) : size_(n) {
    for (int i = 1; i < n; i++) workers_.emplace_back([this] { loop(); });
  }
  int size() const { return size_; }

  void run(int64_t chunks, const std::function<void(int64_t)>& task) {
    std::lock_guard<std::mutex> one_job(job_mu_);
    const uint64_t gen = generation_.load() + 1;
    error_ = nullptr;
    task_.store(&task);
    total_.store(chunks);
    done_.store(0);
    claim_.store(gen << kIndexBits);  // before the generation: a worker that sees it sees the job
    generation_.store(gen);
    if (sleepers_.load() > 0) {
      std::lock_guard<std::mutex> g(mu_);  // a worker between its check and its wait holds mu_
      cv_.notify_all();
    }
    work(gen);
    for (int spins = 0; done_.load(std::memory_order_acquire) != chunks; spins++) {
      if (spins < 4096) KILN_PAUSE();
      else std::this_thread::yield();  // a worker was descheduled: give it the core
    }
    task_.store(nullptr);
    if (error_) std::rethrow_exception(error_);
  }

 private:
  // The claim word holds the job's generation above its next chunk index, so a worker still
  // finishing an old job can never take (and lose) a chunk of the next one.
  static constexpr int kIndexBits = 24;
  static constexpr uint64_t kIndexMask = (uint64_t(1) << kIndexBits) - 1;

  void work(uint64_t gen) {
    in_pool_task = true;
    const int64_t total = total_.load();  // this job's, or a later one's (then the claim below fails)
    const std::function<void(int64_t)>* task = task_.load();
    uint64_t c = claim_.load();
    for (;;) {
      if ((c >> kIndexBits) != (gen & (~uint64_t(0) >> kIndexBits))) break;
      const int64_t i = (int64_t)(c & kIndexMask);
      if (i >= total) break;
      if (!claim_.compare_exchange_weak(c, c + 1)) continue;
      try {
        (*task)(i);
      } catch (...) {
        std::lock_guard<std::mutex> g(mu_);
        if (!error_) error_ = std::current_exception();
      }
      done_.fetch_add(1, std::memory_order_release);
      c = claim_.load();
    }
    in_pool_task = false;
  }
  void loop() {
    uint64_t seen = 0;
    for (;;) {
      if (generation_.load() == seen) {
        const int64_t us = spin_us();
        if (us > 0) {
          const auto until = Clock::now() + std::chrono::microseconds(us);
          for (int n = 0; generation_.load(std::memory_order_relaxed) == seen; n++) {
            KILN_PAUSE();
            if ((n & 255) == 255 && Clock::now() > until) break;
          }
        }
      }
      if (generation_.load() == seen) {
        std::unique_lock<std::mutex> g(mu_);
        sleepers_.fetch_add(1);
        cv_.wait(g, [&] { return generation_.load() != seen; });
        sleepers_.fetch_sub(1);
      }
      seen = generation_.load();
      work(seen);
    }
  }

  int size_;
  std::vector<std::thread> workers_;
  std::mutex job_mu_, mu_;
  std::condition_variable cv_;
  std::atomic<const std::function<void(int64_t)>*> task_{nullptr};
  std::atomic<uint64_t> claim_{0};
  std::atomic<int64_t> total_{0};
  std::atomic<int64_t> done_{0};
  std::atomic<uint64_t> generation_{0};
  std::atomic<int> sleepers_{0};
  std::exception_ptr error_;
};

int default_threads() {
  if (const char* e = std::getenv("KILN_NUM_THREADS")) {
    int n = std::atoi(e);
    if (n > 0) return std::min(n, 256);
  }
  unsigned hc = std::thread::hardware_concurrency();
  return hc == 0 ? 1 : (int)hc;
}

int requested = 0;
Pool* pool = nullptr;
std::mutex pool_mu;

Pool& get_pool() {
  std::lock_guard<std::mutex> g(pool_mu);
  static const int fallback = default_threads();  // hardware_concurrency() is a syscall: once
  int want = requested > 0 ? requested : fallback;
  if (!pool || pool->size() != want) {
    // Old pools are leaked deliberately: their threads may still be parked on them.
    pool = new Pool(want);
  }
  return *pool;
}

}  // namespace

int num_threads() { return get_pool().size(); }
void set_num_threads(int n) {
  std::lock_guard<std::mutex> g(pool_mu);
  requested = n > 0 ? std::min(n, 256) : 0;
}

void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn) {
  if (n <= 0) return;
  if (grain < 1) grain = 1;
  Pool& p = get_pool();
  if (in_pool_task || p.size() == 1 || n <= grain) {
    fn(0, n);
    return;
  }
  int64_t chunks = std::min<int64_t>((n + grain - 1) / grain, (int64_t)p.size() * 4);
  int64_t per = (n + chunks - 1) / chunks;
  chunks = (n + per - 1) / per;
  p.run(chunks, [&](int64_t c) {
    int64_t b = c * per, e = std::min(n, b + per);
    if (b < e) fn(b, e);
  });
}

ForkJoinTiming measure_fork_join(int iters, int64_t gap_us, int64_t work_us) {
  ForkJoinTiming t;
  t.threads = num_threads();
  if (iters < 1) iters = 1;
  auto spin_for = [](int64_t us) {
    const auto until = Clock::now() + std::chrono::microseconds(us);
    while (Clock::now() < until) {}
  };
  // one chunk per thread, each busy for work_us: the job's ideal time is work_us
  auto body = [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; i++) spin_for(work_us);
  };
  const int64_t n = (int64_t)t.threads;
  parallel_for(n, 1, body);  // starts the pool's threads
  std::vector<double> over((size_t)iters);
  for (int i = 0; i < iters; i++) {
    spin_for(gap_us);  // idle time between jobs, as between the kernels of a decode step
    const auto s = Clock::now();
    parallel_for(n, 1, body);
    over[(size_t)i] = std::chrono::duration<double, std::micro>(Clock::now() - s).count() - (double)work_us;
  }
  double total = 0;
  for (double v : over) total += v;
  std::sort(over.begin(), over.end());
  t.mean_us = total / iters;
  t.median_us = over[over.size() / 2];
  t.best_us = over[0];
  return t;
}

}  // namespace kiln
