// sipdetect: the bounded hash table that holds per-source state.
#pragma once

#include <sipdetect/detail/inlining.hpp>
#include <sipdetect/version.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

SIPDETECT_NAMESPACE_BEGIN
namespace detail {

// Entry positions are 32-bit and the index has at most 2^31 buckets; owners
// validate their caps against this.
inline constexpr std::size_t max_table_entries = std::size_t{1} << 30;
// A position hint that names no entry (see flat_table::find).
inline constexpr std::uint32_t no_position_hint = 0xffffffffu;

template <class Allocator, class T>
using rebound_allocator = typename std::allocator_traits<Allocator>::template rebind_alloc<T>;

// Destroys and frees one object made by allocate_unique().
template <class T, class Allocator>
struct allocator_delete {
    [[no_unique_address]] rebound_allocator<Allocator, T> allocator;
    void operator()(T* p) noexcept {
        using traits = std::allocator_traits<rebound_allocator<Allocator, T>>;
        traits::destroy(allocator, p);
        traits::deallocate(allocator, p, 1);
    }
};
template <class T, class Allocator> using allocated_ptr = std::unique_ptr<T, allocator_delete<T, Allocator>>;

// std::make_unique with the memory from `allocator`.
template <class T, class Allocator, class... Args>
allocated_ptr<T, Allocator> allocate_unique(const Allocator& allocator, Args&&... args) {
    using alloc_type = rebound_allocator<Allocator, T>;
    using traits = std::allocator_traits<alloc_type>;
    alloc_type a(allocator);
    T* p = traits::allocate(a, 1);
    try {
        traits::construct(a, p, std::forward<Args>(args)...);
    } catch (...) {
        traits::deallocate(a, p, 1);
        throw;
    }
    return allocated_ptr<T, Allocator>(p, allocator_delete<T, Allocator>{a});
}

// Strings, and lists of them, whose memory comes from a detector's allocator.
template <class Allocator>
using allocated_string = std::basic_string<char, std::char_traits<char>, rebound_allocator<Allocator, char>>;
template <class Allocator>
using allocated_strings = std::vector<allocated_string<Allocator>, rebound_allocator<Allocator, allocated_string<Allocator>>>;

// Makes room for one more element, growing geometrically, so that the next
// push_back cannot throw: callers that must not fail half-way allocate
// first, then commit.
template <class T, class A> void make_room_for_one(std::vector<T, A>& v) {
    if (v.size() == v.capacity()) v.reserve(std::max<std::size_t>(4, 2 * v.capacity()));
}

// Entries live densely in fixed-size chunks, in insertion order; a separate
// index of 8-byte buckets (linear probing, backward-shift deletion, no
// tombstones) maps a key's hash to its entry. Why this shape:
// - a new source is appended, so its memory is written sequentially and
//   exactly once, never scattered over a half-empty table;
// - growing rebuilds only the index, from the hash bits each bucket keeps,
//   without touching or moving an entry;
// - the slack is in the index (8 bytes a bucket), not in 64-byte entries.
// Erasing moves the last entry into the hole. The owner caps the number of
// entries and decides evictions. Entry provides key() and set_key(); an
// entry declared alignas(64) and 64 bytes long is exactly one cache line,
// so a lookup touches one line and a prefetch covers all of it.
// Chunks, index and the chunk list come from Allocator (rebound); each chunk
// carries the allocator that made it, so a table moved into one with
// another allocator still frees every chunk with the right one.
template <class Key, class Entry, class Hasher, class Allocator = std::allocator<Entry>>
class flat_table {
public:
    using allocator_type = Allocator;
    static constexpr std::size_t chunk_entries = 256;

    // The hasher returns 64 bits whatever size_t is: the index takes its
    // fragment from the high half, so a 32-bit hash would put every key in
    // one probe chain.
    static_assert(std::is_same_v<decltype(std::declval<const Hasher&>()(std::declval<const Key&>())), std::uint64_t>,
                  "flat_table's hasher returns std::uint64_t");

    explicit flat_table(Hasher hasher = {}, const Allocator& allocator = Allocator())
        : hasher_(std::move(hasher)), entry_alloc_(allocator), index_(bucket_alloc(allocator)),
          chunks_(chunk_list_alloc(allocator)) {}
    // A moved-from table is empty and usable: its probes must not keep
    // naming the buffer it gave away.
    flat_table(flat_table&& other) noexcept
        : hasher_(std::move(other.hasher_)), entry_alloc_(other.entry_alloc_), index_(std::move(other.index_)),
          chunks_(std::move(other.chunks_)), size_(std::exchange(other.size_, 0)) {
        other.index_.clear();
        other.chunks_.clear();
        aim_probes();
        other.aim_probes();
    }
    flat_table& operator=(flat_table&& other) noexcept(
        std::is_nothrow_move_assignable_v<std::vector<bucket, bucket_alloc>> &&
        std::is_nothrow_move_assignable_v<std::vector<chunk, chunk_list_alloc>>) {
        if (this != &other) {
            hasher_ = std::move(other.hasher_);
            if constexpr (std::allocator_traits<entry_alloc>::propagate_on_container_move_assignment::value)
                entry_alloc_ = other.entry_alloc_;
            index_ = std::move(other.index_);
            chunks_ = std::move(other.chunks_);
            size_ = std::exchange(other.size_, 0);
            other.index_.clear();
            other.chunks_.clear();
            aim_probes();
            other.aim_probes();
        }
        return *this;
    }
    flat_table(const flat_table&) = delete;
    flat_table& operator=(const flat_table&) = delete;
    ~flat_table() = default;

    std::size_t size() const noexcept { return size_; }
    // The key's hash. The lookups below that take it spare rehashing a key
    // that a batch feed hashed once, when it prefetched.
    std::uint64_t hash_of(const Key& key) const noexcept { return hasher_(key); }
    // The 32 hash bits the index keeps; their low bits pick the home bucket.
    std::uint32_t fragment_of(const Key& key) const noexcept { return fragment_of_hash(hash_of(key)); }
    std::size_t memory_bytes() const noexcept {
        return index_.capacity() * sizeof(bucket) + chunks_.size() * chunk_entries * sizeof(Entry) +
               chunks_.capacity() * sizeof(chunks_[0]);
    }

    // A position hint from prefetch_entry() is taken when the entry there
    // still has this key (keys are unique, so it is the key's entry);
    // otherwise the index is probed. Entries move only when one is erased.
    Entry* find(const Key& key, std::uint64_t hash, std::uint32_t hint) noexcept {
        if (Entry* e = hinted(key, hint)) return e;
        return find(key, hash);
    }
    // The entry at the hint if it has this key, else nullptr without a probe:
    // a cheap "present" answer for a key the batch feed prefetched.
    Entry* find_at_hint(const Key& key, std::uint32_t hint) noexcept { return hinted(key, hint); }
    Entry* find(const Key& key, std::uint64_t hash) noexcept {
        const std::size_t b = find_bucket(key, fragment_of_hash(hash));
        return b == npos ? nullptr : &at(index_[b].position);
    }
    Entry* find(const Key& key) noexcept { return find(key, hash_of(key)); }
    const Entry* find(const Key& key) const noexcept { return const_cast<flat_table*>(this)->find(key); }

    // Appends a default entry with this key when absent, with one probe
    // sequence. The caller keeps size() within its cap.
    std::pair<Entry*, bool> try_emplace(const Key& key) { return try_emplace(key, hash_of(key)); }
    std::pair<Entry*, bool> try_emplace(const Key& key, std::uint64_t hash, std::uint32_t hint) {
        if (Entry* e = hinted(key, hint)) return {e, false};
        return try_emplace(key, hash);
    }
    std::pair<Entry*, bool> try_emplace(const Key& key, std::uint64_t hash) {
        const std::uint32_t fragment = fragment_of_hash(hash);
        std::size_t i = fragment & mask_;
        for (; probes_[i].position != empty; i = (i + 1) & mask_)
            if (probes_[i].fragment == fragment && at(probes_[i].position).key() == key)
                return {&at(probes_[i].position), false};
        if ((size_ + 1) * 4 > index_.size() * 3) { // always true for an empty index
            grow();
            i = fragment & mask_;
            while (index_[i].position != empty) i = (i + 1) & mask_;
        }
        Entry& e = append();
        e.set_key(key);
        index_[i] = bucket{fragment, static_cast<std::uint32_t>(size_ - 1)};
        return {&e, true};
    }

    // Starts loading the key's home bucket into cache. Batch feeds call it
    // well ahead, then prefetch_entry() nearer: the two misses overlap with
    // other records' work instead of queueing.
    SIPDETECT_DETAIL_PREFETCHING void prefetch(std::uint64_t hash) const noexcept {
#if defined(__GNUC__) || defined(__clang__)
        __builtin_prefetch(&probes_[fragment_of_hash(hash) & mask_]);
#endif
    }
    // Returns the position it prefetched, a hint for find() and
    // try_emplace(): the lookup then skips the probe.
    SIPDETECT_DETAIL_PREFETCHING std::uint32_t prefetch_entry(std::uint64_t hash) const noexcept {
        const std::uint32_t fragment = fragment_of_hash(hash);
        for (std::size_t i = fragment & mask_; probes_[i].position != empty; i = (i + 1) & mask_) {
            if (probes_[i].fragment == fragment) {
#if defined(__GNUC__) || defined(__clang__)
                __builtin_prefetch(&at(probes_[i].position));
#endif
                return probes_[i].position;
            }
        }
        return no_position_hint;
    }

    bool erase(const Key& key) {
        const std::size_t b = find_bucket(key);
        if (b == npos) return false;
        erase_bucket(b);
        return true;
    }

    // Looks at up to `count` entries in storage order, from a position the
    // key's hash picks, and returns the key of the one `worse(a, b)` ranks
    // lowest. Sampling a few entries keeps eviction O(1); sampling them by
    // storage position, not by index bucket, makes it depend only on the
    // entries and their order, which a saved state keeps: a reloaded table
    // evicts exactly as the one that was saved.
    template <class Worse>
    std::optional<Key> sample_victim(const Key& near, std::size_t count, Worse&& worse) const {
        if (size_ == 0) return std::nullopt;
        const auto start = static_cast<std::size_t>((std::uint64_t{fragment_of(near)} * size_) >> 32);
        const Entry* best = nullptr;
        for (std::size_t seen = 0, p = start; seen < count && seen < size_; ++seen, p = p + 1 == size_ ? 0 : p + 1) {
            const Entry& e = at(p);
            if (best == nullptr || worse(e, *best)) best = &e;
        }
        return best->key();
    }

    // Makes room for `n` entries in all, so that the next inserts up to
    // that size allocate nothing: a caller that must not fail half-way
    // allocates first, then commits.
    void reserve(std::size_t n) {
        while (chunks_.size() * chunk_entries < n) chunks_.push_back(make_chunk());
        std::size_t buckets = index_.empty() ? 16 : index_.size();
        while (n * 4 > buckets * 3) buckets *= 2;
        if (buckets != index_.size()) rebuild_index(buckets);
    }

    // In storage order.
    template <class F> void for_each(F&& f) const {
        for (std::size_t p = 0; p < size_; ++p) f(at(p));
    }

    // Removes every entry for which pred(entry) holds; returns how many.
    // Walks backward: the entry moved into a hole is one already kept.
    template <class Pred> std::size_t erase_if(Pred&& pred) {
        std::size_t removed = 0;
        for (std::size_t p = size_; p-- > 0;) {
            if (!pred(at(p))) continue;
            erase_bucket(find_bucket(at(p).key()));
            ++removed;
        }
        return removed;
    }

    // For the owners' sweeps, after erasing: an index filled to a sixteenth
    // or less is rebuilt at the size growth would have given it (filled to
    // at most 3/8), so the memory a flood made the index take is given back
    // as well. Entries keep their positions, so position hints stay valid.
    // It allocates: not for the feed path.
    void shrink_index() noexcept {
        if (index_.size() <= 16 || size_ * 16 > index_.size()) return;
        std::size_t n = 16;
        while (size_ * 8 > n * 3) n *= 2;
        try {
            rebuild_index(n);
        } catch (const std::bad_alloc&) {
            // Giving memory back is an optimisation: the larger index stays valid.
        }
    }

private:
    // fragment: 32 hash bits, of which the low ones pick the home bucket, so
    // the index can be rebuilt and shifted without reading entries.
    struct bucket {
        std::uint32_t fragment = 0;
        std::uint32_t position = empty;
    };
    template <class T> using rebound = typename std::allocator_traits<Allocator>::template rebind_alloc<T>;
    using entry_alloc = rebound<Entry>;
    using bucket_alloc = rebound<bucket>;
    // Destroys a chunk's entries and gives its memory back to the allocator that made it.
    struct chunk_deleter {
        [[no_unique_address]] entry_alloc allocator;
        void operator()(Entry* entries) noexcept {
            for (std::size_t i = chunk_entries; i-- > 0;) std::allocator_traits<entry_alloc>::destroy(allocator, entries + i);
            std::allocator_traits<entry_alloc>::deallocate(allocator, entries, chunk_entries);
        }
    };
    using chunk = std::unique_ptr<Entry[], chunk_deleter>;
    using chunk_list_alloc = rebound<chunk>;

    chunk make_chunk() {
        using traits = std::allocator_traits<entry_alloc>;
        Entry* entries = traits::allocate(entry_alloc_, chunk_entries);
        std::size_t built = 0;
        try {
            for (; built < chunk_entries; ++built) traits::construct(entry_alloc_, entries + built);
        } catch (...) {
            while (built-- > 0) traits::destroy(entry_alloc_, entries + built);
            traits::deallocate(entry_alloc_, entries, chunk_entries);
            throw;
        }
        return chunk(entries, chunk_deleter{entry_alloc_});
    }
    static constexpr std::uint32_t empty = 0xffffffffu;
    static constexpr std::size_t npos = static_cast<std::size_t>(-1);
    // What an empty index probes: one empty bucket, so lookups need no check for emptiness.
    static constexpr bucket no_buckets[1]{};

    void aim_probes() noexcept {
        probes_ = index_.empty() ? no_buckets : index_.data();
        mask_ = index_.empty() ? 0 : index_.size() - 1;
    }

    Entry* hinted(const Key& key, std::uint32_t hint) noexcept {
        if (hint >= size_) return nullptr;
        Entry& e = at(hint);
        return e.key() == key ? &e : nullptr;
    }
    Entry& at(std::size_t p) noexcept { return chunks_[p / chunk_entries][p % chunk_entries]; }
    const Entry& at(std::size_t p) const noexcept { return chunks_[p / chunk_entries][p % chunk_entries]; }

    static std::uint32_t fragment_of_hash(std::uint64_t hash) noexcept { return static_cast<std::uint32_t>(hash >> 32); }

    std::size_t find_bucket(const Key& key) const noexcept { return find_bucket(key, fragment_of(key)); }
    std::size_t find_bucket(const Key& key, std::uint32_t fragment) const noexcept {
        for (std::size_t i = fragment & mask_;; i = (i + 1) & mask_) {
            if (probes_[i].position == empty) return npos;
            if (probes_[i].fragment == fragment && at(probes_[i].position).key() == key) return i;
        }
    }
    std::size_t bucket_of(std::size_t position) const noexcept {
        const std::uint32_t fragment = fragment_of(at(position).key());
        std::size_t i = fragment & mask_;
        while (index_[i].position != position) i = (i + 1) & mask_;
        return i;
    }

    Entry& append() {
        if (size_ == chunks_.size() * chunk_entries) chunks_.push_back(make_chunk());
        return at(size_++);
    }

    void erase_bucket(std::size_t i) {
        const std::size_t hole = index_[i].position;
        const std::size_t last = size_ - 1;
        if (hole != last) {
            index_[bucket_of(last)].position = static_cast<std::uint32_t>(hole);
            at(hole) = std::move(at(last));
        }
        at(last) = Entry{};
        --size_;
        // Spare room is kept up to an eighth of the entries (at least a chunk):
        // a population that renews itself, whose sweeps take out a few
        // percent at a time, reuses its chunks instead of freeing and
        // allocating them again, and a burst that went away still gives its
        // memory back.
        while (chunks_.size() * chunk_entries >= size_ + chunk_entries + std::max(chunk_entries, size_ / 8))
            chunks_.pop_back();

        index_[i] = bucket{};
        for (std::size_t j = (i + 1) & mask_; index_[j].position != empty; j = (j + 1) & mask_) {
            const std::size_t home = index_[j].fragment & mask_;
            // Move j back into the hole unless its home lies cyclically in (i, j].
            const bool stays = i <= j ? (i < home && home <= j) : (i < home || home <= j);
            if (!stays) {
                index_[i] = index_[j];
                index_[j] = bucket{};
                i = j;
            }
        }
    }

    void grow() { rebuild_index(index_.empty() ? 16 : index_.size() * 2); }
    // Allocates the new index before giving up the old one, so a failed
    // allocation leaves the table as it was.
    void rebuild_index(std::size_t n) {
        std::vector<bucket, bucket_alloc> fresh(n, bucket{}, index_.get_allocator());
        const std::size_t mask = n - 1;
        for (const bucket& b : index_) {
            if (b.position == empty) continue;
            std::size_t i = b.fragment & mask;
            while (fresh[i].position != empty) i = (i + 1) & mask;
            fresh[i] = b;
        }
        index_.swap(fresh);
        aim_probes();
    }

    Hasher hasher_;
    [[no_unique_address]] entry_alloc entry_alloc_;
    std::vector<bucket, bucket_alloc> index_;
    // The lookups read the index through probes_; every probe sequence wraps
    // with mask_. They name index_'s buckets, or no_buckets (mask 0) while it is empty.
    const bucket* probes_ = no_buckets;
    std::size_t mask_ = 0;
    std::vector<chunk, chunk_list_alloc> chunks_;
    std::size_t size_ = 0;
};

} // namespace detail
SIPDETECT_NAMESPACE_END
