// The CUDA C prelude of every fused kernel (fused_prelude.cc), built once.
#pragma once
#include <string>

namespace kiln {
namespace cuda {

const std::string& fz_prelude();

}  // namespace cuda
}  // namespace kiln
