// sipdetect: seeded hashing and the capped fingerprint set.
#pragma once

#include <sipdetect/address.hpp>
#include <sipdetect/detail/flat_table.hpp>
#include <sipdetect/version.hpp>

#include <algorithm>
#include <array>
#include <bit>
#include <cstdint>
#include <cstring>
#include <memory>
#include <span>
#include <string_view>
#include <utility>
#include <vector>

SIPDETECT_NAMESPACE_BEGIN
namespace detail {

// Multiplies to 128 bits and folds the halves: one multiply mixes 64 input
// bits into every output bit, which is what keeps the string hash at about
// one multiply per 16 bytes.
// The same in 32-bit halves, for compilers without a 128-bit integer (the
// tests compare the two, so fingerprints agree across compilers).
constexpr std::uint64_t fold_multiply_portable(std::uint64_t a, std::uint64_t b) noexcept {
    const std::uint64_t a_lo = a & 0xffffffffu, a_hi = a >> 32, b_lo = b & 0xffffffffu, b_hi = b >> 32;
    const std::uint64_t lo_lo = a_lo * b_lo, hi_lo = a_hi * b_lo, lo_hi = a_lo * b_hi, hi_hi = a_hi * b_hi;
    const std::uint64_t cross = (lo_lo >> 32) + (hi_lo & 0xffffffffu) + lo_hi;
    const std::uint64_t low = (cross << 32) | (lo_lo & 0xffffffffu);
    const std::uint64_t high = hi_hi + (hi_lo >> 32) + (cross >> 32);
    return low ^ high;
}
inline std::uint64_t fold_multiply(std::uint64_t a, std::uint64_t b) noexcept {
#if defined(__SIZEOF_INT128__)
    __extension__ typedef unsigned __int128 u128;
    const u128 product = static_cast<u128>(a) * b;
    return static_cast<std::uint64_t>(product) ^ static_cast<std::uint64_t>(product >> 64);
#else
    return fold_multiply_portable(a, b);
#endif
}

inline constexpr std::uint64_t hash_k0 = 0xa0761d6478bd642fULL;
inline constexpr std::uint64_t hash_k1 = 0xe7037ed1a0b428dbULL;
inline constexpr std::uint64_t hash_k2 = 0x8ebc6af09c88c6e3ULL;

// Explicit little-endian loads keep fingerprints, and so saved state, the
// same on every host.
inline std::uint64_t load_le64(const unsigned char* p) noexcept {
    if constexpr (std::endian::native == std::endian::little) {
        std::uint64_t v;
        std::memcpy(&v, p, sizeof v);
        return v;
    } else {
        std::uint64_t v = 0;
        for (int i = 7; i >= 0; --i) v = v << 8 | p[i];
        return v;
    }
}
inline std::uint64_t load_le32(const unsigned char* p) noexcept {
    return std::uint64_t{p[0]} | std::uint64_t{p[1]} << 8 | std::uint64_t{p[2]} << 16 | std::uint64_t{p[3]} << 24;
}

// Seeded 64-bit hash of a byte string. The seed is part of the detector's
// state, so an attacker who does not know it cannot aim for collisions.
// 16 bytes per round with one multiply; the last 1-16 bytes are read with
// two loads that may overlap, and the length is mixed in at the end.
inline std::uint64_t hash_bytes(std::string_view s, std::uint64_t seed) noexcept {
    const auto* p = reinterpret_cast<const unsigned char*>(s.data());
    const std::size_t length = s.size();
    // The seed enters both factors: input that zeroes one factor then still
    // cannot cancel it.
    const std::uint64_t seed_b = std::rotl(seed, 32) ^ hash_k1;
    std::uint64_t state = seed ^ hash_k0;
    std::uint64_t a = 0, b = 0;
    if (length <= 16) {
        if (length >= 8) {
            a = load_le64(p);
            b = load_le64(p + length - 8);
        } else if (length >= 4) {
            a = load_le32(p);
            b = load_le32(p + length - 4);
        } else if (length > 0) {
            a = std::uint64_t{p[0]} << 16 | std::uint64_t{p[length / 2]} << 8 | p[length - 1];
        }
    } else {
        std::size_t left = length;
        while (left > 16) {
            state = fold_multiply(load_le64(p) ^ seed_b, load_le64(p + 8) ^ state);
            p += 16;
            left -= 16;
        }
        a = load_le64(p + left - 16);
        b = load_le64(p + left - 8);
    }
    return fold_multiply(hash_k1 ^ length, fold_multiply(a ^ seed_b, b ^ state) ^ hash_k2);
}

inline std::uint64_t hash_address(const ip_address& a, std::uint64_t seed) noexcept {
    const auto& bytes = a.bytes();
    const std::uint64_t hi = load_le64(bytes.data());
    const std::uint64_t lo = load_le64(bytes.data() + 8);
    return fold_multiply(fold_multiply(hi ^ seed ^ hash_k0, lo ^ std::rotl(seed, 32) ^ hash_k1), seed ^ hash_k2);
}

inline std::uint64_t hash_combine(std::uint64_t a, std::uint64_t b) noexcept {
    return fold_multiply(a ^ hash_k1, b ^ hash_k2);
}

// A set of 30-bit fingerprints with two flag bits each, exact until `limit`
// members, then saturated: it never grows past what the caller's threshold
// needs. Up to inline_capacity members are kept in the set itself, so a
// phone's two or three targets allocate nothing; beyond that they move to
// an array from the allocator, open addressing with linear probing, 0 the
// empty slot.
// What every fingerprint set shares, whatever its allocator.
struct fingerprint_set_base {
    static constexpr std::uint32_t key_mask = 0x3fffffffu;
    static constexpr std::uint32_t flag_shift = 30;
    static constexpr std::uint32_t inline_capacity = 4;

    enum class insert_result : std::uint8_t { added, present, full };

    static constexpr std::uint32_t key_of(std::uint64_t hash) noexcept {
        const auto k = static_cast<std::uint32_t>(hash >> 34) & key_mask;
        return k == 0 ? 1u : k;
    }
};

template <class Allocator = std::allocator<std::uint32_t>>
class basic_fingerprint_set : public fingerprint_set_base {
    using alloc_type = typename std::allocator_traits<Allocator>::template rebind_alloc<std::uint32_t>;
    using alloc_traits = std::allocator_traits<alloc_type>;
    // Whether a move can always take the other set's array.
    static constexpr bool moves_array =
        alloc_traits::propagate_on_container_move_assignment::value || alloc_traits::is_always_equal::value;

public:
    basic_fingerprint_set() = default;
    explicit basic_fingerprint_set(const Allocator& allocator) noexcept : alloc_(allocator) {}
    // A moved-from set is empty and usable.
    basic_fingerprint_set(basic_fingerprint_set&& other) noexcept : alloc_(other.alloc_) { take(other); }
    basic_fingerprint_set& operator=(basic_fingerprint_set&& other) noexcept(moves_array) {
        if (this == &other) return *this;
        release();
        if constexpr (alloc_traits::propagate_on_container_move_assignment::value) alloc_ = other.alloc_;
        if (moves_array || alloc_ == other.alloc_) {
            take(other);
        } else { // another allocator's array: copy it into one of ours
            if (other.capacity_ != 0) {
                heap_ = alloc_traits::allocate(alloc_, other.capacity_);
                std::copy_n(other.heap_, other.capacity_, heap_);
            }
            inline_ = other.inline_;
            capacity_ = other.capacity_;
            size_ = other.size_;
            saturated_ = other.saturated_;
            other.release();
        }
        return *this;
    }
    basic_fingerprint_set(const basic_fingerprint_set&) = delete;
    basic_fingerprint_set& operator=(const basic_fingerprint_set&) = delete;
    ~basic_fingerprint_set() { release(); }

    std::uint32_t size() const noexcept { return size_; }
    bool saturated() const noexcept { return saturated_; }
    // Heap bytes only: the inline members are part of the owner's size.
    std::size_t memory_bytes() const noexcept { return std::size_t{capacity_} * sizeof(std::uint32_t); }

    insert_result insert(std::uint32_t key, std::uint32_t limit) {
        if (find_slot(key) != nullptr) return insert_result::present;
        if (size_ >= limit) {
            saturated_ = true;
            return insert_result::full;
        }
        if (capacity_ == 0 && size_ < inline_capacity) {
            inline_[size_++] = key;
            return insert_result::added;
        }
        if ((size_ + 1) * 4 > capacity_ * 3) grow();
        place(heap_, capacity_ - 1, key);
        ++size_;
        return insert_result::added;
    }

    // Sets flag bits on a member; returns the bits newly set (0 if absent or already set).
    std::uint32_t set_flags(std::uint32_t key, std::uint32_t flags) noexcept {
        std::uint32_t* slot = find_slot(key);
        if (slot == nullptr) return 0;
        const std::uint32_t before = *slot >> flag_shift;
        *slot |= flags << flag_shift;
        return flags & ~before;
    }
    std::uint32_t flags(std::uint32_t key) const noexcept {
        const std::uint32_t* slot = find_slot(key);
        return slot == nullptr ? 0 : *slot >> flag_shift;
    }

    template <class F> void for_each(F&& f) const {
        const std::uint32_t* slots = capacity_ == 0 ? inline_.data() : heap_;
        const std::uint32_t n = capacity_ == 0 ? size_ : capacity_;
        for (std::uint32_t i = 0; i < n; ++i)
            if (slots[i] != 0) f(slots[i] & key_mask, slots[i] >> flag_shift);
    }

    // Rebuilds from saved members; rejects anything a live set could not hold.
    bool restore(std::span<const std::uint32_t> members, bool saturated, std::uint32_t limit) {
        basic_fingerprint_set fresh(alloc_);
        for (std::uint32_t m : members) {
            const std::uint32_t key = m & key_mask;
            if (key == 0) return false;
            if (fresh.insert(key, limit) != insert_result::added) return false;
            fresh.set_flags(key, m >> flag_shift);
        }
        fresh.saturated_ = saturated;
        release();
        take(fresh);
        return true;
    }

private:
    static constexpr std::uint32_t first_heap_slots = 8;

    // Keys are already seeded hash bits; a multiply spreads them over the slots.
    static std::size_t home(std::uint32_t key, std::size_t mask) noexcept {
        return static_cast<std::size_t>((std::uint64_t{key} * 0x9e3779b97f4a7c15ULL) >> 32) & mask;
    }
    const std::uint32_t* find_slot(std::uint32_t key) const noexcept {
        if (capacity_ == 0) {
            for (std::uint32_t i = 0; i < size_; ++i)
                if ((inline_[i] & key_mask) == key) return &inline_[i];
            return nullptr;
        }
        const std::size_t mask = capacity_ - 1;
        for (std::size_t i = home(key, mask);; i = (i + 1) & mask) {
            const std::uint32_t v = heap_[i];
            if (v == 0) return nullptr;
            if ((v & key_mask) == key) return &heap_[i];
        }
    }
    std::uint32_t* find_slot(std::uint32_t key) noexcept {
        return const_cast<std::uint32_t*>(std::as_const(*this).find_slot(key));
    }
    static void place(std::uint32_t* slots, std::size_t mask, std::uint32_t value) noexcept {
        std::size_t i = home(value & key_mask, mask);
        while (slots[i] != 0) i = (i + 1) & mask;
        slots[i] = value;
    }
    // From the inline members to first_heap_slots, or to twice the slots.
    // The new slots are allocated before anything changes, so a failed
    // allocation leaves the set as it was.
    void grow() {
        const std::uint32_t slots = capacity_ == 0 ? first_heap_slots : capacity_ * 2;
        std::uint32_t* fresh = alloc_traits::allocate(alloc_, slots);
        std::fill_n(fresh, slots, 0u);
        const std::uint32_t* old = capacity_ == 0 ? inline_.data() : heap_;
        const std::uint32_t old_slots = capacity_ == 0 ? size_ : capacity_;
        for (std::uint32_t i = 0; i < old_slots; ++i)
            if (old[i] != 0) place(fresh, slots - 1, old[i]);
        if (heap_ != nullptr) alloc_traits::deallocate(alloc_, heap_, capacity_);
        heap_ = fresh;
        capacity_ = slots;
    }
    // Takes the other set's members; the other is left empty. Callers have
    // made sure this set's allocator can free the other's array.
    void take(basic_fingerprint_set& other) noexcept {
        heap_ = std::exchange(other.heap_, nullptr);
        inline_ = std::exchange(other.inline_, {});
        capacity_ = std::exchange(other.capacity_, 0);
        size_ = std::exchange(other.size_, 0);
        saturated_ = std::exchange(other.saturated_, false);
    }
    void release() noexcept {
        if (heap_ != nullptr) alloc_traits::deallocate(alloc_, heap_, capacity_);
        heap_ = nullptr;
        inline_ = {};
        capacity_ = 0;
        size_ = 0;
        saturated_ = false;
    }

    [[no_unique_address]] alloc_type alloc_{};
    std::uint32_t* heap_ = nullptr; // capacity_ slots, a power of two; null while inline
    std::array<std::uint32_t, inline_capacity> inline_{}; // the members, in insertion order, while capacity_ is 0
    std::uint32_t capacity_ = 0;
    std::uint32_t size_ = 0;
    bool saturated_ = false;
};

using fingerprint_set = basic_fingerprint_set<>;

// Key of per-source state: an address, plus a tag (the scan submethod).
struct source_key {
    ip_address address;
    std::uint8_t tag = 0;
    friend bool operator==(const source_key& a, const source_key& b) noexcept {
        // Two word compares instead of the memcmp call the defaulted == becomes.
        const auto* x = a.address.bytes().data();
        const auto* y = b.address.bytes().data();
        return a.tag == b.tag && load_le64(x) == load_le64(y) && load_le64(x + 8) == load_le64(y + 8);
    }
};

struct source_key_hasher {
    std::uint64_t seed = 0;
    std::uint64_t operator()(const source_key& k) const noexcept {
        return hash_combine(hash_address(k.address, seed), k.tag);
    }
};

// A record's table key with its hash, computed once per record and detector
// (feed_all() computes it when it prefetches, feed_view() uses it).
struct hashed_key {
    source_key key;
    std::uint64_t hash = 0;
    bool present = false; // false: the record has no key in this detector's table
    std::uint32_t position_hint = no_position_hint; // where feed_all() saw the entry
};

} // namespace detail
SIPDETECT_NAMESPACE_END
