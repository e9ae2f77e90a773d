// Orders every run, read and write in the order JS issued them, whether sync or async:
// a ticket is taken on the JS thread and served strictly in sequence.
#pragma once
#include <condition_variable>
#include <cstdint>
#include <mutex>

namespace kiln {

class Sequencer {
 public:
  static Sequencer& get() {
    static Sequencer* s = new Sequencer();
    return *s;
  }
  uint64_t take() {
    std::lock_guard<std::mutex> g(mu_);
    return next_++;
  }
  void wait(uint64_t t) {
    std::unique_lock<std::mutex> g(mu_);
    cv_.wait(g, [&] { return serving_ == t; });
  }
  // Blocks until the run holding ticket t has finished (without taking a turn).
  void wait_done(uint64_t t) {
    std::unique_lock<std::mutex> g(mu_);
    cv_.wait(g, [&] { return serving_ > t; });
  }
  void done() {
    {
      std::lock_guard<std::mutex> g(mu_);
      serving_++;
    }
    cv_.notify_all();
  }
  // RAII: take, wait, done for synchronous work on the JS thread
  struct Turn {
    Turn() {
      auto& s = Sequencer::get();
      s.wait(s.take());
    }
    ~Turn() { Sequencer::get().done(); }
  };

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  uint64_t next_ = 0, serving_ = 0;
};

}  // namespace kiln
