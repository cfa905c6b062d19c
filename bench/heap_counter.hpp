// sipdetect benchmarks: live heap bytes, counted by the benchmark binary's
// replacement of the global operator new and delete (heap_counter.cpp).
#pragma once

#include <cstdint>

namespace bench {

// Bytes currently allocated through operator new (malloc_usable_size of
// each block, so size-class rounding is included). Aligned operator new is
// not counted: nothing here uses over-aligned types.
std::int64_t live_heap_bytes() noexcept;

} // namespace bench
