// Compiled replays (kn.compile): run a stored command list after allocating the buffers it
// creates, in one crossing per call.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

namespace kiln {

// `allocs` lists the buffers to create and the word positions that take their ids. `key` names
// the stored list (0: none): its parse is reused by later calls (only buffer ids and offsets are
// read again), and an accelerator may record it (device.h run_replay). Returns the created ids.
std::vector<uint32_t> replay_commands(double* words, size_t n, const double* allocs, size_t na, uint64_t key);

}  // namespace kiln
