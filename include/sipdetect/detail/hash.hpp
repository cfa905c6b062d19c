// sipdetect: seeded hashing and the capped fingerprint set.
#pragma once

#include <sipdetect/address.hpp>
#include <sipdetect/version.hpp>

#include <bit>
#include <cstdint>
#include <cstring>
#include <string_view>
#include <vector>

SIPDETECT_NAMESPACE_BEGIN
namespace detail {

inline constexpr std::uint64_t mix64(std::uint64_t x) noexcept {
    x ^= x >> 32;
    x *= 0xd6e8feb86659fd93ULL;
    x ^= x >> 32;
    x *= 0xd6e8feb86659fd93ULL;
    x ^= x >> 32;
    return x;
}

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

// Seeded 64-bit hash of a byte string. The seed is part of the detector's
// state, so an attacker who does not know it cannot aim for collisions.
inline std::uint64_t hash_bytes(std::string_view s, std::uint64_t seed) noexcept {
    const auto* p = reinterpret_cast<const unsigned char*>(s.data());
    std::size_t n = s.size();
    std::uint64_t h = mix64(seed ^ (0x9e3779b97f4a7c15ULL * (n + 1)));
    while (n >= 8) {
        h = mix64(h ^ load_le64(p)) * 0x9e3779b97f4a7c15ULL;
        p += 8;
        n -= 8;
    }
    std::uint64_t tail = 0;
    for (std::size_t i = 0; i < n; ++i) tail |= std::uint64_t{p[i]} << (8 * i);
    return mix64(h ^ tail ^ 0x632be59bd9b4e019ULL);
}

inline std::uint64_t hash_address(const ip_address& a, std::uint64_t seed) noexcept {
    const auto& b = a.bytes();
    const std::uint64_t hi = load_le64(b.data());
    const std::uint64_t lo = load_le64(b.data() + 8);
    return mix64(mix64(seed ^ hi) ^ lo);
}

inline std::uint64_t hash_combine(std::uint64_t a, std::uint64_t b) noexcept {
    return mix64(a ^ (b + 0x9e3779b97f4a7c15ULL + (a << 6) + (a >> 2)));
}

// A set of 30-bit fingerprints with two flag bits each, exact until `limit`
// members, then saturated: it never grows past what the caller's threshold
// needs. Open addressing, linear probing, 0 is the empty slot.
class fingerprint_set {
public:
    static constexpr std::uint32_t key_mask = 0x3fffffffu;
    static constexpr std::uint32_t flag_shift = 30;

    enum class insert_result : std::uint8_t { added, present, full };

    static constexpr std::uint32_t key_of(std::uint64_t hash) noexcept {
        const auto k = static_cast<std::uint32_t>(hash >> 34) & key_mask;
        return k == 0 ? 1u : k;
    }

    std::uint32_t size() const noexcept { return size_; }
    bool saturated() const noexcept { return saturated_; }
    std::size_t memory_bytes() const noexcept { return slots_.capacity() * sizeof(std::uint32_t); }

    insert_result insert(std::uint32_t key, std::uint32_t limit) {
        if (!slots_.empty()) {
            if (find_slot(key) != npos) return insert_result::present;
        }
        if (size_ >= limit) {
            saturated_ = true;
            return insert_result::full;
        }
        if ((size_ + 1) * 4 > slots_.size() * 3) grow();
        place(key);
        ++size_;
        return insert_result::added;
    }

    // Sets flag bits on a member; returns the bits newly set (0 if absent or already set).
    std::uint32_t set_flags(std::uint32_t key, std::uint32_t flags) noexcept {
        const std::size_t i = find_slot(key);
        if (i == npos) return 0;
        const std::uint32_t before = slots_[i] >> flag_shift;
        slots_[i] |= flags << flag_shift;
        return flags & ~before;
    }
    std::uint32_t flags(std::uint32_t key) const noexcept {
        const std::size_t i = find_slot(key);
        return i == npos ? 0 : slots_[i] >> flag_shift;
    }

    template <class F> void for_each(F&& f) const {
        for (std::uint32_t v : slots_)
            if (v != 0) f(v & key_mask, v >> flag_shift);
    }

    // Rebuilds from saved members; rejects anything a live set could not hold.
    bool restore(const std::vector<std::uint32_t>& members, bool saturated, std::uint32_t limit) {
        fingerprint_set fresh;
        for (std::uint32_t m : members) {
            const std::uint32_t key = m & key_mask;
            if (key == 0) return false;
            if (fresh.insert(key, limit) != insert_result::added) return false;
            fresh.set_flags(key, m >> flag_shift);
        }
        fresh.saturated_ = saturated;
        *this = std::move(fresh);
        return true;
    }

private:
    static constexpr std::size_t npos = static_cast<std::size_t>(-1);

    std::size_t find_slot(std::uint32_t key) const noexcept {
        if (slots_.empty()) return npos;
        const std::size_t mask = slots_.size() - 1;
        for (std::size_t i = mix64(key) & mask;; i = (i + 1) & mask) {
            const std::uint32_t v = slots_[i];
            if (v == 0) return npos;
            if ((v & key_mask) == key) return i;
        }
    }
    void place(std::uint32_t value) noexcept {
        const std::size_t mask = slots_.size() - 1;
        std::size_t i = mix64(value & key_mask) & mask;
        while (slots_[i] != 0) i = (i + 1) & mask;
        slots_[i] = value;
    }
    void grow() {
        std::vector<std::uint32_t> old;
        old.swap(slots_);
        slots_.assign(old.empty() ? 8 : old.size() * 2, 0);
        for (std::uint32_t v : old)
            if (v != 0) place(v);
    }

    std::vector<std::uint32_t> slots_;
    std::uint32_t size_ = 0;
    bool saturated_ = false;
};

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
    std::size_t operator()(const source_key& k) const noexcept {
        return static_cast<std::size_t>(hash_combine(hash_address(k.address, seed), k.tag));
    }
};

} // namespace detail
SIPDETECT_NAMESPACE_END
