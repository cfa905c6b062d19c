// Test-side: a global allocator that counts allocations and live bytes, and
// can make one chosen allocation fail (fault injection).
// Include it in exactly one translation unit of a test executable.
//
// Under AddressSanitizer the sanitizer owns the allocator, so the
// replacement is left out and counting::active is false: tests then skip
// their allocation checks visibly and keep their other checks. A test that
// needs fault injection under the sanitizers defines
// SIPDETECT_TEST_ALLOCATOR_UNDER_SANITIZERS first: the replacement then sits
// on malloc and free, which AddressSanitizer still watches (only its
// new/delete mismatch check is lost in that executable).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdlib>
#include <new>

#if !defined(SIPDETECT_TEST_ALLOCATOR_UNDER_SANITIZERS)
#if defined(__SANITIZE_ADDRESS__)
#define SIPDETECT_TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SIPDETECT_TEST_ASAN 1
#endif
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
// Fault injection: while armed, the allocation that finds the countdown at
// zero throws std::bad_alloc, once; -1 is disarmed.
inline std::atomic<long> countdown{-1};
inline std::atomic<std::size_t> failures{0};
// Arms the countdown: the n-th allocation from now (1 = the next) fails.
inline void fail_nth(long n) { countdown.store(n - 1, std::memory_order_relaxed); }
inline void disarm() { countdown.store(-1, std::memory_order_relaxed); }
inline bool armed() { return countdown.load(std::memory_order_relaxed) >= 0; }
inline bool take_failure() {
    long left = countdown.load(std::memory_order_relaxed);
    while (left >= 0 && !countdown.compare_exchange_weak(left, left - 1)) {
    }
    if (left != 0) return false;
    failures.fetch_add(1, std::memory_order_relaxed);
    return true;
}
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
    if (take_failure()) {
        std::free(header);
        throw std::bad_alloc();
    }
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
// The nothrow form (std::stable_sort's temporary buffer) must come from here
// too: its memory is given back through the operator delete above.
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
    try {
        return operator new(n);
    } catch (const std::bad_alloc&) {
        return nullptr;
    }
}
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
void* operator new(std::size_t n, std::align_val_t al, const std::nothrow_t&) noexcept {
    try {
        return operator new(n, al);
    } catch (const std::bad_alloc&) {
        return nullptr;
    }
}
// Arrays (std::make_unique<T[]>) come from here too; the library's default
// forms would do the same, but a sanitizer runtime brings forms of its own.
void* operator new[](std::size_t n) { return operator new(n); }
void* operator new[](std::size_t n, std::align_val_t al) { return operator new(n, al); }
void operator delete[](void* p) noexcept { operator delete(p); }
void operator delete[](void* p, std::size_t) noexcept { operator delete(p); }
void operator delete[](void* p, std::align_val_t al) noexcept { operator delete(p, al); }
void operator delete[](void* p, std::size_t, std::align_val_t al) noexcept { operator delete(p, al); }
#endif
