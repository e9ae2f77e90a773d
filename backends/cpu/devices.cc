// The device registry of the core addon: loads device backend libraries (kiln_cuda.so) from the
// addon's own folder on first use, and moves buffer contents between host and device copies.
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>
#include "../common/device.h"
#if defined(__unix__) || defined(__APPLE__)
#include <dlfcn.h>
#include <sys/stat.h>
#endif

namespace kiln {
namespace {

struct Registry {
  std::once_flag once;
  DeviceBackend* devices[kMaxDevices] = {};  // [0] stays null: the CPU
  int count = 1;
  std::string reason;  // why no accelerator is available ("" when one is)
  // every live fused program, announced to devices loaded after it was registered
  std::mutex programs_mu;
  std::map<int64_t, std::vector<double>> programs;
};

Registry& registry() {
  static Registry* r = new Registry();  // never destroyed: buffers may outlive static teardown
  return *r;
}

#if defined(__unix__) || defined(__APPLE__)
std::string own_folder() {
  Dl_info info;
  if (!dladdr(reinterpret_cast<void*>(&own_folder), &info) || !info.dli_fname) return ".";
  std::string p = info.dli_fname;
  size_t slash = p.rfind('/');
  return slash == std::string::npos ? "." : p.substr(0, slash);
}

bool file_exists(const std::string& p) {
  struct stat st;
  return stat(p.c_str(), &st) == 0;
}
#endif

void load(Registry& r) {
#if defined(__unix__) || defined(__APPLE__)
  const char* env = std::getenv("KILN_CUDA_LIB");
  std::string path = env && *env ? env : own_folder() + "/kiln_cuda.so";
  if (!file_exists(path)) {
    r.reason = env && *env ? "KILN_CUDA_LIB names " + path + ", which does not exist"
                           : "this build has no CUDA backend (" + path +
                                 " was not built: the CUDA toolkit with cuBLAS was not found at install time)";
    return;
  }
  void* lib = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!lib) {
    const char* e = dlerror();
    r.reason = std::string("cannot load ") + path + ": " + (e ? e : "unknown error");
    return;
  }
  auto create = reinterpret_cast<CreateDeviceBackendsFn>(dlsym(lib, kCreateDeviceBackendsSymbol));
  if (!create) {
    r.reason = path + " has no " + kCreateDeviceBackendsSymbol;
    return;
  }
  char err[512] = {0};
  DeviceBackend* out[kMaxDevices - 1] = {};
  int n = 0;
  try {
    std::vector<const char*> names;
    for (auto& k : kernel_catalog()) names.push_back(k.name);
    n = create(kDeviceAbi, names.data(), (int)names.size(), out, kMaxDevices - 1, err, sizeof err);
  } catch (const std::exception& e) {
    r.reason = std::string("initialising ") + path + ": " + e.what();
    return;
  }
  if (n <= 0) {
    r.reason = err[0] ? err : "no usable GPU";
    return;
  }
  for (int i = 0; i < n && i < kMaxDevices - 1; i++) r.devices[1 + i] = out[i];
  r.count = 1 + (n < kMaxDevices - 1 ? n : kMaxDevices - 1);
  std::lock_guard<std::mutex> g(r.programs_mu);
  for (auto& [h, w] : r.programs)
    for (int d = 1; d < r.count; d++) r.devices[d]->program_registered(h, w.data(), w.size());
#else
  r.reason = "device backends are loaded on Unix-like systems only";
#endif
}

Registry& loaded() {
  Registry& r = registry();
  std::call_once(r.once, [&] { load(r); });
  return r;
}

int lowest_valid(uint32_t v) {
  for (int d = 0; d < kMaxDevices; d++)
    if (v & (1u << d)) return d;
  return -1;
}

}  // namespace

DeviceBackend* device_backend(int device) {
  if (device <= 0 || device >= kMaxDevices) return nullptr;
  return loaded().devices[device];
}

int device_count() { return loaded().count; }

const std::string& device_unavailable_reason() { return loaded().reason; }

void make_resident(Buffer& b, int device) {
  uint32_t v = b.valid.load();
  if (v & (1u << device)) return;
  if (device == 0) {
    Allocator::get().materialize(b);
    if (v) {
      int src = lowest_valid(v);
      if (b.nbytes) device_backend(src)->download(b.data, b.dev[src], b.nbytes);
      b.valid.fetch_or(1u);
    }
    return;
  }
  DeviceBackend* be = device_backend(device);
  if (!be) fail("[run] device ", device, " is not available");
  if (!b.dev[device]) b.dev[device] = be->alloc(b.nbytes, &b.dev_capacity[device]);
  if (!v) return;                      // never written: nothing to copy, no copy is more current than another
  if (!(v & 1u)) make_resident(b, 0);  // device to device goes through the host
  if (b.nbytes) be->upload(b.dev[device], b.data, b.nbytes);
  b.valid.fetch_or(1u << device);
}

bool read_device_copy(Buffer& b, int64_t offset, int64_t nbytes, void* dst) {
  uint32_t v = b.valid.load();
  if (!v || (v & 1u)) return false;
  int src = lowest_valid(v);
  if (nbytes) device_backend(src)->download(dst, static_cast<char*>(b.dev[src]) + offset, nbytes);
  return true;
}

void release_device_copies(Buffer& b) {
  for (int d = 1; d < kMaxDevices; d++)
    if (b.dev[d]) {
      if (DeviceBackend* be = registry().devices[d]) be->release(b.dev[d], b.dev_capacity[d]);
      b.dev[d] = nullptr;
    }
}

void announce_program(int64_t handle, const double* words, size_t n) {
  Registry& r = registry();
  std::lock_guard<std::mutex> g(r.programs_mu);
  r.programs[handle].assign(words, words + n);
  for (int d = 1; d < r.count; d++)
    if (r.devices[d]) r.devices[d]->program_registered(handle, words, n);
}

void forget_program(int64_t handle) {
  Registry& r = registry();
  std::lock_guard<std::mutex> g(r.programs_mu);
  r.programs.erase(handle);
  for (int d = 1; d < r.count; d++)
    if (r.devices[d]) r.devices[d]->program_released(handle);
}

void synchronize_devices() {
  Registry& r = registry();
  for (int d = 1; d < r.count; d++)
    if (r.devices[d]) r.devices[d]->synchronize();
}

}  // namespace kiln
