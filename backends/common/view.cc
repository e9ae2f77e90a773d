// View helpers shared by the core addon and every device backend library.
#include <sstream>
#include "command.h"

namespace kiln {

bool View::row_contiguous() const {
  int64_t expect = 1;
  for (int d = ndim - 1; d >= 0; d--) {
    if (shape[d] != 1 && strides[d] != expect) return false;
    expect *= shape[d];
  }
  return true;
}

std::string View::describe() const {
  std::ostringstream os;
  os << "buffer " << (buf ? buf->id : 0) << " " << dtype_name(dtype) << " shape [";
  for (int d = 0; d < ndim; d++) os << (d ? ", " : "") << shape[d];
  os << "] strides [";
  for (int d = 0; d < ndim; d++) os << (d ? ", " : "") << strides[d];
  os << "] offset " << offset;
  return os.str();
}

}  // namespace kiln
