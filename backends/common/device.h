// Devices other than the CPU (CUDA now, Metal later). A device backend is a shared library beside
// the core addon, loaded at run time when present (backends/cpu/devices.cc), so a CPU-only machine
// never needs its libraries. The core owns buffers, command parsing and validation, and the order
// of work; it moves buffer contents between host and device copies at the edges (a kernel on
// device d first makes every operand valid on d). A backend owns its memory, its queue (one
// stream per device: work is queued in command order) and its kernels.
//
// The boundary is C++ built by the same compiler on both sides; kDeviceAbi changes whenever this
// header or buffer.h / command.h change layout, and a library of another ABI is refused.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>
#include "command.h"

namespace kiln {

constexpr int kDeviceAbi = 2;
// Commands carry their device in the kernel word: word = kernel id + kDeviceStride * device.
constexpr int kDeviceStride = 4096;

struct DeviceMemoryStats {
  int64_t active = 0, peak = 0, cache = 0, limit = 0, cache_limit = -1;
  int64_t total = 0;  // the device's memory
};

class DeviceBackend {
 public:
  virtual ~DeviceBackend() = default;
  virtual const char* backend() const = 0;  // "cuda"
  virtual std::string name() const = 0;     // "NVIDIA H100 80GB HBM3"
  virtual std::string arch() const = 0;     // "sm_90"
  virtual int ordinal() const = 0;          // the device number within its backend
  virtual int64_t total_memory() const = 0;

  // Whether this device runs the command natively; the core runs every other command on the CPU
  // (documented fallback, moved transparently). Called once per command, at parse time.
  virtual bool supports(const Command& c) const = 0;
  // Names of the kernels with a native implementation here (some only for some dtypes).
  virtual std::vector<std::string> kernels() const = 0;

  // Device memory for one buffer copy; `capacity` returns what was reserved. Throws kiln::Error
  // naming the request, the limit and the device when it cannot be had (after emptying the cache).
  virtual void* alloc(int64_t nbytes, int64_t* capacity) = 0;
  // Returns memory taken by alloc; stream-ordered (work already queued may still use it).
  virtual void release(void* p, int64_t capacity) = 0;
  // Host -> device, queued on the device's stream; `src` may be reused as soon as this returns.
  virtual void upload(void* dst, const void* src, int64_t nbytes) = 0;
  // Device -> host; returns once the bytes are in `dst` (after all work queued before it).
  virtual void download(void* dst, const void* src, int64_t nbytes) = 0;

  // Queues one command; operand data are this device's copies (View::device_data).
  virtual void run(const Command& c) = 0;
  // Waits for all queued work; throws the first asynchronous error (naming its kernel).
  virtual void synchronize() = 0;

  // A compiled function's stored command list (kn.compile's replay), every command on this
  // device with its operands resident: `key` names the list (the same commands and parameters
  // at every call, only the buffers change). A backend may record the launches once and relaunch
  // them while the operands' addresses repeat. Returns false when it did not run the list (the
  // core then runs it command by command). Checks that would wait on the host (out-of-range
  // indices) are reported by the next synchronize or download instead.
  virtual bool run_replay(uint64_t key, const std::vector<const Command*>& cmds) = 0;

  // Fused programs (kn.compile): every registered program is announced to every device; a
  // backend may translate it now or on first use. `fused` commands name the handle.
  virtual void program_registered(int64_t handle, const double* words, size_t n) = 0;
  virtual void program_released(int64_t handle) = 0;

  virtual DeviceMemoryStats memory() = 0;
  virtual void set_limit(int64_t bytes) = 0;
  virtual void set_cache_limit(int64_t bytes) = 0;
  virtual void reset_peak() = 0;
  virtual void clear_cache() = 0;
};

// The library's one entry point: creates a backend per usable device, at most `max`, into `out`.
// `kernel_names[id]` is the core's catalog (a command's kernel id indexes it). Returns how many;
// 0 with a reason in `err` when none can be used (no driver, no GPU).
extern "C" {
typedef int (*CreateDeviceBackendsFn)(int abi, const char* const* kernel_names, int n_kernels, DeviceBackend** out,
                                      int max, char* err, size_t errlen);
}
constexpr const char* kCreateDeviceBackendsSymbol = "kiln_create_device_backends";

// Core side (backends/cpu/devices.cc). Device 0 is the CPU and has no DeviceBackend.
DeviceBackend* device_backend(int device);  // null when absent
int device_count();                         // devices loaded, the CPU included (loads them once)
const std::string& device_unavailable_reason();
// Makes `b` hold its current contents on `device` (transfers through the host when needed).
void make_resident(Buffer& b, int device);
// A read of part of a buffer whose only current copy is on a device: copies just those bytes into
// `dst` (the host copy stays stale). False when the host copy is current or nothing was written.
bool read_device_copy(Buffer& b, int64_t offset, int64_t nbytes, void* dst);
// After a kernel on `device` wrote `b`: that copy is now the only current one.
inline void mark_written(Buffer& b, int device) { b.valid.store(1u << device); }
// Frees the device copies of a buffer being destroyed.
void release_device_copies(Buffer& b);
void synchronize_devices();
// Fused programs, kept for and forwarded to every device backend.
void announce_program(int64_t handle, const double* words, size_t n);
void forget_program(int64_t handle);

}  // namespace kiln
