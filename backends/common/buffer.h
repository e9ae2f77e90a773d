// Buffers: ids handed to JS, host memory from a size-bucketed caching allocator, device copies
// from the device backends (backends/common/device.h).
#pragma once
#include <cstdint>
#include <atomic>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <map>
#include <vector>

namespace kiln {

// Device 0 is the CPU (host memory, `data`); 1.. are accelerators (backends/common/device.h).
constexpr int kMaxDevices = 8;

struct Buffer {
  uint32_t id = 0;
  int64_t nbytes = 0;    // requested size
  int64_t capacity = 0;  // bucketed size actually held
  void* data = nullptr;  // null until materialized (first write or kernel output)
  bool mapped = false;   // data is a private file mapping (mapFile): released with munmap
  // 1 + the Sequencer ticket of the latest queued asynchronous run writing this buffer (0: none),
  // set on the JS thread when the run is queued: a read waits for that run only.
  std::atomic<uint64_t> writer{0};
  // Device copies (dev[0] unused: the host copy is `data`) and which copies hold the current
  // contents: bit d for device d. 0 means never written (any copy may be used as it is).
  void* dev[kMaxDevices] = {};
  int64_t dev_capacity[kMaxDevices] = {};
  std::atomic<uint32_t> valid{0};
  bool valid_on(int device) const { return valid.load() & (1u << device); }
  ~Buffer();
};
using BufferPtr = std::shared_ptr<Buffer>;

struct MemoryStats {
  int64_t active, peak, cache, limit, cache_limit, buffers;
};

class Allocator {
 public:
  static Allocator& get();
  // Creates a buffer record; memory comes later through materialize().
  uint32_t create(int64_t nbytes);
  // Registers memory from mmap (capacity = nbytes); not counted as active, munmapped on release.
  uint32_t adopt_mapping(void* data, int64_t nbytes);
  BufferPtr find(uint32_t id);  // null when unknown
  void release(uint32_t id);    // drop the JS reference; memory returns to cache when unused
  void materialize(Buffer& b);  // throws when the memory limit would be crossed
  void give_back(void* p, int64_t capacity);
  MemoryStats stats();
  void set_limit(int64_t bytes);
  void set_cache_limit(int64_t bytes);
  void reset_peak();
  void clear_cache();

 private:
  void trim_cache_locked(int64_t keep);
  uint32_t take_id_locked();
  std::mutex mu_;
  std::unordered_map<uint32_t, BufferPtr> table_;
  // capacity -> free blocks of that capacity: a stack per size, so freeing and reusing a block
  // allocates nothing once its size has been seen (a multimap made a node per free)
  std::map<int64_t, std::vector<void*>> cache_;
  uint32_t next_id_ = 1;
  bool wrapped_ = false;  // ids passed 2^32 - 1 once: new ids skip those in use
  int64_t active_ = 0, peak_ = 0, cached_ = 0;
  int64_t limit_ = 0, cache_limit_ = -1;  // limit 0 = unlimited; cache limit -1 = default
};

int64_t bucket_size(int64_t nbytes);

}  // namespace kiln
