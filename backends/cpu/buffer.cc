#include "../common/buffer.h"
#include "../common/error.h"
#include "../common/device.h"
#include <cstdlib>
#include <cstring>
#if defined(__linux__)
#include <sys/mman.h>
#include <sys/sysinfo.h>
#endif
#if defined(__unix__) || defined(__APPLE__)
#include <sys/mman.h>
#endif

namespace kiln {

Buffer::~Buffer() {
  release_device_copies(*this);
#if defined(__unix__) || defined(__APPLE__)
  if (data && mapped) {
    munmap(data, (size_t)capacity);
    return;
  }
#endif
  if (data) Allocator::get().give_back(data, capacity);
}

// Small sizes round to 256 B, larger ones to 1/8 of their power of two so the cache reuses
// blocks across nearby sizes while wasting at most 12.5%.
int64_t bucket_size(int64_t n) {
  if (n <= 256) return 256;
  int64_t p = 1;
  while (p < n) p <<= 1;
  int64_t step = p >= 2048 ? p / 8 : 256;
  return (n + step - 1) / step * step;
}

Allocator& Allocator::get() {
  static Allocator* a = new Allocator();  // never destroyed: buffers may outlive static teardown
  return *a;
}

// Ids count up and wrap after 2^32 - 1; past the wrap an id still in use is skipped (a long-lived
// server allocates billions), so a new buffer never replaces a live one.
uint32_t Allocator::take_id_locked() {
  for (;;) {
    uint32_t id = next_id_++;
    if (next_id_ == 0) {
      next_id_ = 1;
      wrapped_ = true;
    }
    if (!wrapped_ || table_.find(id) == table_.end()) return id;
  }
}

uint32_t Allocator::create(int64_t nbytes) {
  if (nbytes < 0) fail("[alloc] invalid byte size ", nbytes);
  std::lock_guard<std::mutex> g(mu_);
  auto b = std::make_shared<Buffer>();
  uint32_t id = take_id_locked();
  b->id = id;
  b->nbytes = nbytes;
  table_[id] = b;
  return id;
}

uint32_t Allocator::adopt_mapping(void* data, int64_t nbytes) {
  std::lock_guard<std::mutex> g(mu_);
  auto b = std::make_shared<Buffer>();
  uint32_t id = take_id_locked();
  b->id = id;
  b->nbytes = b->capacity = nbytes;
  b->data = data;
  b->mapped = true;
  b->valid.store(1u);  // the file's bytes are the contents: a device must upload them
  table_[id] = b;
  return id;
}

BufferPtr Allocator::find(uint32_t id) {
  std::lock_guard<std::mutex> g(mu_);
  auto it = table_.find(id);
  return it == table_.end() ? nullptr : it->second;
}

void Allocator::release(uint32_t id) {
  BufferPtr keep;
  {
    std::lock_guard<std::mutex> g(mu_);
    auto it = table_.find(id);
    if (it == table_.end()) return;
    keep = std::move(it->second);
    table_.erase(it);
  }
  // keep's destructor (outside the lock) returns memory once no run or view holds it
}

void Allocator::materialize(Buffer& b) {
  if (b.data) return;
  int64_t cap = bucket_size(b.nbytes);
  std::lock_guard<std::mutex> g(mu_);
  // reuse a cached block of this bucket, or one up to 1.25x larger (the last freed first: warm in cache)
  auto it = cache_.lower_bound(cap);
  while (it != cache_.end() && it->first <= cap + cap / 4 && it->second.empty()) ++it;
  if (it != cache_.end() && it->first <= cap + cap / 4) {
    b.data = it->second.back();
    it->second.pop_back();
    b.capacity = it->first;
    cached_ -= it->first;
  } else {
    if (limit_ > 0 && active_ + cap > limit_) {
      trim_cache_locked(0);
      fail("[memory] allocating ", b.nbytes, " bytes would exceed the memory limit of ", limit_, " bytes (", active_,
           " bytes active)");
    }
    // Overcommit would let a huge request "succeed" and the process die later when touched.
    static const int64_t ram = [] {
#if defined(__linux__)
      struct sysinfo si;
      if (sysinfo(&si) == 0) return (int64_t)si.totalram * si.mem_unit;
#endif
      return (int64_t)1 << 40;
    }();
    if (cap > ram) fail("[memory] allocating ", b.nbytes, " bytes exceeds this machine's memory (", ram, " bytes)");
    // Big blocks: 2 MiB aligned and marked for transparent huge pages (fewer TLB misses and
    // page faults on streaming kernels, as numpy does on this kind of machine).
    const int64_t huge = (int64_t)2 << 20;
    bool big = cap >= 2 * huge;
    int64_t size = big ? (cap + huge - 1) / huge * huge : cap;
    void* p = std::aligned_alloc(big ? (size_t)huge : 64, (size_t)size);
    if (!p) {
      trim_cache_locked(0);
      p = std::aligned_alloc(big ? (size_t)huge : 64, (size_t)size);
      if (!p) fail("[memory] out of memory allocating ", b.nbytes, " bytes");
    }
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    if (big) madvise(p, (size_t)size, MADV_HUGEPAGE);
#endif
    b.data = p;
    b.capacity = cap;
  }
  active_ += b.capacity;
  if (active_ > peak_) peak_ = active_;
}

void Allocator::give_back(void* p, int64_t capacity) {
  std::lock_guard<std::mutex> g(mu_);
  active_ -= capacity;
  int64_t climit = cache_limit_ >= 0 ? cache_limit_ : (limit_ > 0 ? limit_ : (int64_t)4 << 30);
  if (cached_ + capacity <= climit) {
    cache_[capacity].push_back(p);
    cached_ += capacity;
  } else {
    std::free(p);
  }
}

void Allocator::trim_cache_locked(int64_t keep) {
  while (cached_ > keep && !cache_.empty()) {
    auto it = std::prev(cache_.end());  // largest first
    if (it->second.empty()) {
      cache_.erase(it);
      continue;
    }
    cached_ -= it->first;
    std::free(it->second.back());
    it->second.pop_back();
  }
}

MemoryStats Allocator::stats() {
  std::lock_guard<std::mutex> g(mu_);
  return {active_, peak_, cached_, limit_, cache_limit_, (int64_t)table_.size()};
}
void Allocator::set_limit(int64_t bytes) {
  std::lock_guard<std::mutex> g(mu_);
  limit_ = bytes;
}
void Allocator::set_cache_limit(int64_t bytes) {
  std::lock_guard<std::mutex> g(mu_);
  cache_limit_ = bytes;
  trim_cache_locked(bytes < 0 ? 0 : bytes);
}
void Allocator::reset_peak() {
  std::lock_guard<std::mutex> g(mu_);
  peak_ = active_;
}
void Allocator::clear_cache() {
  std::lock_guard<std::mutex> g(mu_);
  trim_cache_locked(0);
}

}  // namespace kiln
