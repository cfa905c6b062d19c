// sipdetect: the bounded open-addressing table that holds per-source state.
#pragma once

#include <sipdetect/version.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

SIPDETECT_NAMESPACE_BEGIN
namespace detail {

// Linear probing with backward-shift deletion (no tombstones, so lookups stay
// short however many sources come and go). A byte per bucket holds 7 bits of
// the key's hash: probes walk those bytes, 64 to a cache line, and touch a
// slot only when its byte matches. Grows by doubling; the owner caps the
// number of entries and decides evictions.
template <class Key, class Value, class Hasher>
class flat_table {
public:
    struct slot {
        Key key{};
        Value value{};
    };

    explicit flat_table(Hasher hasher = {}) : hasher_(std::move(hasher)) {}

    std::size_t size() const noexcept { return size_; }
    std::size_t bucket_count() const noexcept { return slots_.size(); }
    std::size_t memory_bytes() const noexcept { return slots_.capacity() * sizeof(slot) + ctrl_.capacity(); }
    const Hasher& hasher() const noexcept { return hasher_; }

    Value* find(const Key& key) noexcept {
        if (slots_.empty()) return nullptr;
        const std::size_t h = hasher_(key);
        const std::uint8_t tag = tag_of(h);
        const std::size_t mask = slots_.size() - 1;
        for (std::size_t i = h & mask;; i = (i + 1) & mask) {
            const std::uint8_t c = ctrl_[i];
            if (c == 0) return nullptr;
            if (c == tag && slots_[i].key == key) return &slots_[i].value;
        }
    }
    const Value* find(const Key& key) const noexcept { return const_cast<flat_table*>(this)->find(key); }

    // Inserts a default value when absent, with one probe sequence. The
    // caller keeps size() within its cap.
    std::pair<Value*, bool> try_emplace(const Key& key) {
        if (slots_.empty()) grow();
        const std::size_t h = hasher_(key);
        const std::uint8_t tag = tag_of(h);
        std::size_t mask = slots_.size() - 1;
        std::size_t i = h & mask;
        for (; ctrl_[i] != 0; i = (i + 1) & mask)
            if (ctrl_[i] == tag && slots_[i].key == key) return {&slots_[i].value, false};
        if ((size_ + 1) * 4 > slots_.size() * 3) {
            grow();
            mask = slots_.size() - 1;
            i = h & mask;
            while (ctrl_[i] != 0) i = (i + 1) & mask;
        }
        ctrl_[i] = tag;
        slots_[i].key = key;
        slots_[i].value = Value{};
        ++size_;
        return {&slots_[i].value, true};
    }

    // Starts loading the key's home bucket into cache; batch feeds call this
    // a few records ahead so the misses overlap.
    void prefetch(const Key& key) const noexcept {
        if (slots_.empty()) return;
#if defined(__GNUC__) || defined(__clang__)
        const std::size_t i = hasher_(key) & (slots_.size() - 1);
        __builtin_prefetch(&ctrl_[i]);
        __builtin_prefetch(&slots_[i]);
#endif
    }

    bool erase(const Key& key) {
        if (slots_.empty()) return false;
        const std::size_t h = hasher_(key);
        const std::uint8_t tag = tag_of(h);
        const std::size_t mask = slots_.size() - 1;
        for (std::size_t i = h & mask;; i = (i + 1) & mask) {
            if (ctrl_[i] == 0) return false;
            if (ctrl_[i] == tag && slots_[i].key == key) {
                erase_at(i);
                return true;
            }
        }
    }

    // Visits up to `count` occupied slots from the key's home position onward
    // and returns the key of the one `worse(a, b)` ranks lowest. Sampling near
    // the home slot keeps eviction O(1) and deterministic.
    template <class Worse>
    std::optional<Key> sample_victim(const Key& near, std::size_t count, Worse&& worse) const {
        if (size_ == 0) return std::nullopt;
        const std::size_t mask = slots_.size() - 1;
        const slot* best = nullptr;
        std::size_t seen = 0;
        for (std::size_t i = hasher_(near) & mask, visited = 0; seen < count && visited < slots_.size();
             i = (i + 1) & mask, ++visited) {
            if (ctrl_[i] == 0) continue;
            const slot& s = slots_[i];
            ++seen;
            if (best == nullptr || worse(s.key, s.value, best->key, best->value)) best = &s;
        }
        if (best == nullptr) return std::nullopt;
        return best->key;
    }

    template <class F> void for_each(F&& f) {
        for (std::size_t i = 0; i < slots_.size(); ++i)
            if (ctrl_[i] != 0) f(slots_[i].key, slots_[i].value);
    }
    template <class F> void for_each(F&& f) const {
        for (std::size_t i = 0; i < slots_.size(); ++i)
            if (ctrl_[i] != 0) f(slots_[i].key, slots_[i].value);
    }

    // Removes every entry for which pred(key, value) holds; returns how many.
    template <class Pred> std::size_t erase_if(Pred&& pred) {
        std::size_t removed = 0;
        // Backward shifts move entries toward lower indices (or wrap to the
        // front), so an index is re-examined after each erase, and a second
        // pass catches entries wrapped into the part already passed.
        for (int pass = 0; pass < 2; ++pass) {
            for (std::size_t i = 0; i < slots_.size();) {
                if (ctrl_[i] != 0 && pred(slots_[i].key, slots_[i].value)) {
                    erase_at(i);
                    ++removed;
                } else {
                    ++i;
                }
            }
        }
        return removed;
    }

    // Layout-preserving persistence: entries are saved with their bucket index
    // so a reloaded table probes, samples and evicts exactly as before.
    template <class F> void for_each_indexed(F&& f) const {
        for (std::size_t i = 0; i < slots_.size(); ++i)
            if (ctrl_[i] != 0) f(i, slots_[i].key, slots_[i].value);
    }
    bool restore_buckets(std::size_t count) {
        if (count != 0 && (count < 16 || (count & (count - 1)) != 0)) return false;
        slots_.clear();
        slots_.resize(count);
        ctrl_.assign(count, 0);
        size_ = 0;
        return true;
    }
    Value* place_at(std::size_t index, const Key& key) {
        if (index >= slots_.size() || ctrl_[index] != 0) return nullptr;
        ctrl_[index] = tag_of(hasher_(key));
        slots_[index].key = key;
        ++size_;
        return &slots_[index].value;
    }
    // True when every entry is reachable from its home bucket, keys are
    // unique and the load factor is one this table could have reached.
    bool layout_valid() const {
        if (size_ * 4 > slots_.size() * 3 && size_ > 0) return false;
        const std::size_t mask = slots_.size() - 1;
        for (std::size_t i = 0; i < slots_.size(); ++i) {
            if (ctrl_[i] == 0) continue;
            for (std::size_t j = hasher_(slots_[i].key) & mask; j != i; j = (j + 1) & mask)
                if (ctrl_[j] == 0 || slots_[j].key == slots_[i].key) return false;
        }
        return true;
    }

private:
    static constexpr std::uint8_t tag_of(std::size_t hash) noexcept {
        return static_cast<std::uint8_t>(0x80u | (static_cast<std::uint64_t>(hash) >> 57));
    }

    void erase_at(std::size_t i) {
        const std::size_t mask = slots_.size() - 1;
        slots_[i] = slot{};
        ctrl_[i] = 0;
        --size_;
        for (std::size_t j = (i + 1) & mask; ctrl_[j] != 0; j = (j + 1) & mask) {
            const std::size_t home = hasher_(slots_[j].key) & mask;
            // Move j back into the hole unless its home lies cyclically in (i, j].
            const bool stays = i <= j ? (i < home && home <= j) : (i < home || home <= j);
            if (!stays) {
                slots_[i] = std::move(slots_[j]);
                ctrl_[i] = ctrl_[j];
                slots_[j] = slot{};
                ctrl_[j] = 0;
                i = j;
            }
        }
    }

    void grow() {
        std::vector<slot> old;
        std::vector<std::uint8_t> old_ctrl;
        old.swap(slots_);
        old_ctrl.swap(ctrl_);
        const std::size_t n = old.empty() ? 16 : old.size() * 2;
        slots_.resize(n);
        ctrl_.assign(n, 0);
        const std::size_t mask = n - 1;
        for (std::size_t k = 0; k < old.size(); ++k) {
            if (old_ctrl[k] == 0) continue;
            std::size_t i = hasher_(old[k].key) & mask;
            while (ctrl_[i] != 0) i = (i + 1) & mask;
            slots_[i] = std::move(old[k]);
            ctrl_[i] = old_ctrl[k];
        }
    }

    Hasher hasher_;
    std::vector<slot> slots_;
    std::vector<std::uint8_t> ctrl_; // 0: empty; else 0x80 | the hash's top 7 bits
    std::size_t size_ = 0;
};

} // namespace detail
SIPDETECT_NAMESPACE_END
