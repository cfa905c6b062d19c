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
// short however many sources come and go). Grows by doubling; the owner caps
// the number of entries and decides evictions.
template <class Key, class Value, class Hasher>
class flat_table {
public:
    struct slot {
        bool used = false;
        Key key{};
        Value value{};
    };

    explicit flat_table(Hasher hasher = {}) : hasher_(std::move(hasher)) {}

    std::size_t size() const noexcept { return size_; }
    std::size_t bucket_count() const noexcept { return slots_.size(); }
    std::size_t memory_bytes() const noexcept { return slots_.capacity() * sizeof(slot); }
    const Hasher& hasher() const noexcept { return hasher_; }

    Value* find(const Key& key) noexcept {
        if (slots_.empty()) return nullptr;
        const std::size_t mask = slots_.size() - 1;
        for (std::size_t i = hasher_(key) & mask;; i = (i + 1) & mask) {
            slot& s = slots_[i];
            if (!s.used) return nullptr;
            if (s.key == key) return &s.value;
        }
    }

    const Value* find(const Key& key) const noexcept { return const_cast<flat_table*>(this)->find(key); }

    // Inserts a default value when absent, with one probe sequence. The
    // caller keeps size() within its cap.
    std::pair<Value*, bool> try_emplace(const Key& key) {
        if (slots_.empty()) grow();
        std::size_t mask = slots_.size() - 1;
        std::size_t i = hasher_(key) & mask;
        for (; slots_[i].used; i = (i + 1) & mask)
            if (slots_[i].key == key) return {&slots_[i].value, false};
        if ((size_ + 1) * 4 > slots_.size() * 3) {
            grow();
            mask = slots_.size() - 1;
            i = hasher_(key) & mask;
            while (slots_[i].used) i = (i + 1) & mask;
        }
        slots_[i].used = true;
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
        __builtin_prefetch(&slots_[hasher_(key) & (slots_.size() - 1)]);
#endif
    }

    bool erase(const Key& key) {
        if (slots_.empty()) return false;
        const std::size_t mask = slots_.size() - 1;
        for (std::size_t i = hasher_(key) & mask;; i = (i + 1) & mask) {
            if (!slots_[i].used) return false;
            if (slots_[i].key == key) {
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
            const slot& s = slots_[i];
            if (!s.used) continue;
            ++seen;
            if (best == nullptr || worse(s.key, s.value, best->key, best->value)) best = &s;
        }
        if (best == nullptr) return std::nullopt;
        return best->key;
    }

    template <class F> void for_each(F&& f) {
        for (slot& s : slots_)
            if (s.used) f(s.key, s.value);
    }
    template <class F> void for_each(F&& f) const {
        for (const slot& s : slots_)
            if (s.used) f(s.key, s.value);
    }

    // Removes every entry for which pred(key, value) holds; returns how many.
    template <class Pred> std::size_t erase_if(Pred&& pred) {
        std::size_t removed = 0;
        for (std::size_t i = 0; i < slots_.size();) {
            if (slots_[i].used && pred(slots_[i].key, slots_[i].value)) {
                erase_at(i); // shifts a later entry into i, so look at i again
                ++removed;
            } else {
                ++i;
            }
        }
        // A wrapped-around entry shifted into an index already passed is rechecked here.
        for (std::size_t i = 0; i < slots_.size(); ++i) {
            if (slots_[i].used && pred(slots_[i].key, slots_[i].value)) {
                erase_at(i);
                ++removed;
                --i;
            }
        }
        return removed;
    }

    // Layout-preserving persistence: entries are saved with their bucket index
    // so a reloaded table probes, samples and evicts exactly as before.
    template <class F> void for_each_indexed(F&& f) const {
        for (std::size_t i = 0; i < slots_.size(); ++i)
            if (slots_[i].used) f(i, slots_[i].key, slots_[i].value);
    }
    bool restore_buckets(std::size_t count) {
        if (count != 0 && (count < 16 || (count & (count - 1)) != 0)) return false;
        slots_.clear();
        slots_.resize(count);
        size_ = 0;
        return true;
    }
    Value* place_at(std::size_t index, const Key& key) {
        if (index >= slots_.size() || slots_[index].used) return nullptr;
        slots_[index].used = true;
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
            if (!slots_[i].used) continue;
            for (std::size_t j = hasher_(slots_[i].key) & mask; j != i; j = (j + 1) & mask) {
                if (!slots_[j].used || slots_[j].key == slots_[i].key) return false;
            }
        }
        return true;
    }

    void clear() {
        slots_.clear();
        slots_.shrink_to_fit();
        size_ = 0;
    }

    void reserve_for(std::size_t entries) {
        while (entries * 4 > slots_.size() * 3) grow();
    }

private:
    void erase_at(std::size_t i) {
        const std::size_t mask = slots_.size() - 1;
        slots_[i] = slot{};
        --size_;
        for (std::size_t j = (i + 1) & mask; slots_[j].used; j = (j + 1) & mask) {
            const std::size_t home = hasher_(slots_[j].key) & mask;
            // Move j back into the hole unless its home lies cyclically in (i, j].
            const bool stays = i <= j ? (i < home && home <= j) : (i < home || home <= j);
            if (!stays) {
                slots_[i] = std::move(slots_[j]);
                slots_[j] = slot{};
                i = j;
            }
        }
    }

    void grow() {
        std::vector<slot> old;
        old.swap(slots_);
        slots_.resize(old.empty() ? 16 : old.size() * 2);
        const std::size_t mask = slots_.size() - 1;
        for (slot& s : old) {
            if (!s.used) continue;
            std::size_t i = hasher_(s.key) & mask;
            while (slots_[i].used) i = (i + 1) & mask;
            slots_[i] = std::move(s);
        }
    }

    Hasher hasher_;
    std::vector<slot> slots_;
    std::size_t size_ = 0;
};

} // namespace detail
SIPDETECT_NAMESPACE_END
