#include "thread_pool.h"
#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace kiln {
namespace {

thread_local bool in_pool_task = false;

class Pool {
 public:
  explicit Pool(int n) : size_(n) {
    for (int i = 1; i < n; i++) workers_.emplace_back([this] { loop(); });
  }
  int size() const { return size_; }

  void run(int64_t chunks, const std::function<void(int64_t)>& task) {
    std::lock_guard<std::mutex> one_job(job_mu_);
    {
      std::lock_guard<std::mutex> g(mu_);
      task_.store(&task);
      total_.store(chunks);
      done_ = 0;
      next_.store(0);  // last: a worker that sees it also sees the task and total
      error_ = nullptr;
      generation_++;
    }
    cv_.notify_all();
    work();
    std::unique_lock<std::mutex> g(mu_);
    done_cv_.wait(g, [&] { return done_ == total_; });
    task_.store(nullptr);
    if (error_) std::rethrow_exception(error_);
  }

 private:
  void work() {
    in_pool_task = true;
    for (;;) {
      int64_t i = next_.fetch_add(1);
      if (i >= total_) break;
      try {
        (*task_.load())(i);
      } catch (...) {
        std::lock_guard<std::mutex> g(mu_);
        if (!error_) error_ = std::current_exception();
      }
      std::lock_guard<std::mutex> g(mu_);
      if (++done_ == total_) done_cv_.notify_all();
    }
    in_pool_task = false;
  }
  void loop() {
    uint64_t seen = 0;
    for (;;) {
      {
        std::unique_lock<std::mutex> g(mu_);
        cv_.wait(g, [&] { return generation_ != seen; });
        seen = generation_;
        if (!task_.load()) continue;
      }
      work();
    }
  }

  int size_;
  std::vector<std::thread> workers_;
  std::mutex job_mu_, mu_;
  std::condition_variable cv_, done_cv_;
  std::atomic<const std::function<void(int64_t)>*> task_{nullptr};
  std::atomic<int64_t> next_{1 << 30};
  std::atomic<int64_t> total_{0};
  int64_t done_ = 0;
  uint64_t generation_ = 0;
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

}  // namespace kiln
