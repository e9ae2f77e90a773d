// A command list is a Float64Array encoding every kernel launch of one evaluation:
//   command := kernel_id, n_params, params[n_params], n_operands, operand[n_operands]
//   operand := buffer_id, dtype, offset (elements), ndim, shape[ndim], strides[ndim] (elements)
//   kernel_id carries the device: id + kDeviceStride * device (backends/common/device.h)
// Operands are inputs first, then outputs (each kernel's KernelDef says how many of each).
// Everything is validated on parse, on the JS thread, so bad input throws before any work runs.
#pragma once
#include <cstdint>
#include <vector>
#include <string>
#include "buffer.h"
#include "dtype.h"
#include "error.h"

namespace kiln {

constexpr int kMaxDims = 32;

struct View {
  BufferPtr buf;
  int32_t dtype = 0;
  int64_t offset = 0;  // in elements
  int32_t ndim = 0;
  int64_t shape[kMaxDims] = {0};
  int64_t strides[kMaxDims] = {0};
  int64_t size = 1;

  // the host copy (CPU kernels) or a device's copy (that device's kernels)
  char* data() const { return static_cast<char*>(buf->data) + offset * dtype_size(dtype); }
  char* device_data(int device) const { return static_cast<char*>(buf->dev[device]) + offset * dtype_size(dtype); }
  template <typename T> T* ptr() const { return reinterpret_cast<T*>(data()); }
  bool row_contiguous() const;  // strides are those of a C-ordered array of this shape
  std::string describe() const;
};

struct Command {
  int32_t kernel = 0;
  int32_t device = 0;  // where it runs: 0 the CPU, else a DeviceBackend (a device's unsupported commands run on 0)
  std::vector<double> params;
  std::vector<View> ops;  // inputs then outputs
  int32_t n_inputs = 0;
  const View& in(int i) const { return ops[i]; }
  const View& out(int i = 0) const { return ops[n_inputs + i]; }
  int64_t iparam(size_t i) const { return (int64_t)params.at(i); }
};

using KernelFn = void (*)(const Command&);
using CheckFn = void (*)(const Command&);  // kernel-specific validation, throws kiln::Error

struct KernelDef {
  const char* name;
  int32_t n_inputs;  // -1: variable (at least 1)
  int32_t n_outputs;
  int32_t min_params, max_params;
  CheckFn check;
  KernelFn run;
};

// Parses and validates a whole command list. Buffers are held (shared_ptr) by the commands,
// so JS may release ids while an asynchronous run still uses them.
// `id_positions`, when given, receives the word position of every operand's buffer id in order
// (its element offset is two words later).
std::vector<Command> parse_commands(const double* words, size_t n, std::vector<size_t>* id_positions = nullptr);
// The same into `cmds`, reusing its commands' storage (the synchronous run's list is kept between runs).
void parse_commands_into(std::vector<Command>& cmds, const double* words, size_t n, std::vector<size_t>* id_positions = nullptr);
void execute_commands(std::vector<Command>& cmds);  // consumes operand references
// A compiled replay whose kernels all run on one accelerator: every operand made resident first,
// then the whole list handed to the device (DeviceBackend::run_replay). False, with nothing run,
// when the list does not qualify or the device declines (run it with execute_commands then).
bool execute_replay(uint64_t key, std::vector<Command>& cmds);

const std::vector<KernelDef>& kernel_catalog();
int kernel_id(const char* name);

// Helpers for check functions.
void expect_same_shape(const Command& c, const View& a, const View& b, const char* what);
void expect_dtype(const Command& c, const View& v, int dtype, const char* what);
const char* kernel_name(const Command& c);

}  // namespace kiln
