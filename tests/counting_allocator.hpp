// Test-side: a global allocator that counts allocations and live bytes.
// Include it in exactly one translation unit of a test executable.
//
// Under AddressSanitizer the sanitizer owns the allocator, so the
// replacement is left out and counting_allocator_active is false: tests
// then skip their allocation checks visibly and keep their other checks.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdlib>
#include <new>

#if defined(__SANITIZE_ADDRESS__)
#define SIPDETECT_TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SIPDETECT_TEST_ASAN 1
#endif
#endif

namespace counting {
inline std::atomic<std::size_t> allocations{0};
inline std::atomic<std::size_t> live_bytes{0};
inline std::atomic<std::size_t> peak_bytes{0};
#if defined(SIPDETECT_TEST_ASAN)
inline constexpr bool active = false;
#else
inline constexpr bool active = true;
#endif
} // namespace counting

#if !defined(SIPDETECT_TEST_ASAN)
// malloc/free behind new/delete on purpose; each block carries its size in front.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif
namespace counting {
// Counts one allocation of n bytes whose size is written in the first word of
// `header`, a block of `header_size` bytes in front of what the caller gets.
inline void* note(std::size_t* header, std::size_t header_size, std::size_t n) {
    if (header == nullptr) throw std::bad_alloc();
    *header = n;
    allocations.fetch_add(1, std::memory_order_relaxed);
    const std::size_t now = live_bytes.fetch_add(n, std::memory_order_relaxed) + n;
    std::size_t peak = peak_bytes.load(std::memory_order_relaxed);
    while (now > peak && !peak_bytes.compare_exchange_weak(peak, now)) {
    }
    return reinterpret_cast<char*>(header) + header_size;
}
} // namespace counting

void* operator new(std::size_t n) {
    return counting::note(static_cast<std::size_t*>(std::malloc(n + sizeof(std::max_align_t))),
                          sizeof(std::max_align_t), n);
}
void operator delete(void* p) noexcept {
    if (p == nullptr) return;
    auto* base = reinterpret_cast<std::size_t*>(static_cast<char*>(p) - sizeof(std::max_align_t));
    counting::live_bytes.fetch_sub(*base, std::memory_order_relaxed);
    std::free(base);
}
void operator delete(void* p, std::size_t) noexcept { operator delete(p); }
// Over-aligned types (the detectors' 64-byte entries): the size sits in the
// first word of a header as large as the alignment.
void* operator new(std::size_t n, std::align_val_t al) {
    const auto align = static_cast<std::size_t>(al);
    const std::size_t total = (n + 2 * align - 1) / align * align;
    return counting::note(static_cast<std::size_t*>(std::aligned_alloc(align, total)), align, n);
}
void operator delete(void* p, std::align_val_t al) noexcept {
    if (p == nullptr) return;
    auto* base = reinterpret_cast<std::size_t*>(static_cast<char*>(p) - static_cast<std::size_t>(al));
    counting::live_bytes.fetch_sub(*base, std::memory_order_relaxed);
    std::free(base);
}
void operator delete(void* p, std::size_t, std::align_val_t al) noexcept { operator delete(p, al); }
#endif
