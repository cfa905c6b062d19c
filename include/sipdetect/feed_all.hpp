// sipdetect: one pass over a batch of records for one or several detectors.
#pragma once

#include <sipdetect/detail/flat_table.hpp>
#include <sipdetect/detail/inlining.hpp>
#include <sipdetect/record.hpp>
#include <sipdetect/version.hpp>

#include <algorithm>
#include <array>
#include <cstddef>
#include <span>

SIPDETECT_NAMESPACE_BEGIN

namespace detail {
inline constexpr std::size_t feed_ahead = 16, feed_entry_ahead = 8;

// The detectors' pipeline stages are private; feed_lanes() reaches them
// through this friend of every detector. A detector takes part with:
// lookup_type; hash_key(view, lookup), which hashes the record's table key
// once, in place; prefetch_index(lookup) and prefetch_entry(lookup), which
// load its index bucket and then its entry into cache (noting where the
// entry was, so that feed_view skips the probe while it is still there);
// and feed_view(view, lookup), which is feed() on the view and that key.
// The prefetches change nothing but timing.
struct pipeline {
    // Declared, never defined: decltype names a detector's private lookup type through it.
    template <class Detector> static typename Detector::lookup_type lookup_of();
    template <class Detector> using lookup_type = decltype(lookup_of<Detector>());

    template <class Detector>
    static void hash_key(const Detector& d, const record_view& v, lookup_type<Detector>& k) noexcept {
        d.hash_key(v, k);
    }
    template <class Detector>
    SIPDETECT_DETAIL_PREFETCHING static void prefetch_index(const Detector& d, const lookup_type<Detector>& k) noexcept {
        d.prefetch_index(k);
    }
    template <class Detector>
    SIPDETECT_DETAIL_PREFETCHING static void prefetch_entry(const Detector& d, lookup_type<Detector>& k) noexcept {
        d.prefetch_entry(k);
    }
    template <class Detector>
    static void feed_view(Detector& d, const record_view& v, const lookup_type<Detector>& k) {
        d.feed_view(v, k);
    }
};

// A detector in the pipeline, with the lookups of the records in flight.
template <class Detector>
struct feed_lane {
    Detector& detector;
    std::array<pipeline::lookup_type<Detector>, feed_ahead> lookups{};
};

// The record's strings are read when it is fed, 16 records later.
SIPDETECT_DETAIL_PREFETCHING inline void prefetch_text(const record_view& v) noexcept {
#if defined(__GNUC__) || defined(__clang__)
    __builtin_prefetch(v.from_uri.data());
    __builtin_prefetch(v.to_uri.data());
    __builtin_prefetch(v.user_agent.data());
#endif
}

// No lambdas here: GCC finds a lambda whose only effect is a prefetch pure
// and deletes the call (see SIPDETECT_DETAIL_PREFETCHING).
template <class Record, class... Lanes>
void feed_lanes(std::span<const Record> records, Lanes... lanes) {
    std::array<record_view, feed_ahead> views;
    const std::size_t n = records.size();
    for (std::size_t i = 0; i < std::min(feed_ahead, n); ++i) {
        fill_view(records[i], views[i]);
        (pipeline::hash_key(lanes.detector, views[i], lanes.lookups[i]), ...);
        (pipeline::prefetch_index(lanes.detector, lanes.lookups[i]), ...);
    }
    for (std::size_t i = 0; i < n; ++i) {
        const std::size_t slot = i % feed_ahead;
        if (i + feed_entry_ahead < n) {
            const std::size_t near = (i + feed_entry_ahead) % feed_ahead;
            (pipeline::prefetch_entry(lanes.detector, lanes.lookups[near]), ...);
        }
        (pipeline::feed_view(lanes.detector, views[slot], lanes.lookups[slot]), ...);
        if (i + feed_ahead < n) {
            fill_view(records[i + feed_ahead], views[slot]);
            prefetch_text(views[slot]);
            (pipeline::hash_key(lanes.detector, views[slot], lanes.lookups[slot]), ...);
            (pipeline::prefetch_index(lanes.detector, lanes.lookups[slot]), ...);
        }
    }
}
} // namespace detail

// Feeds every record to each detector, in order, exactly as calling each
// detector's feed(record) record by record would (the differential tests
// check it), but in one pass: each record is read and turned into a view
// once, each detector hashes its table key once, and the record's strings
// and the table lookups are prefetched ahead (the strings and the index
// bucket 16 records ahead, the entry 8 records ahead), so the cache misses
// of consecutive records overlap instead of queueing. Running SIPSCAN and
// SIPPROXY side by side:
//     sipdetect::feed_all(std::span<const Record>(batch), scans, proxies);
template <class Record, class... Detectors>
void feed_all(std::span<const Record> records, Detectors&... detectors) {
    detail::feed_lanes(records, detail::feed_lane<Detectors>{detectors}...);
}

SIPDETECT_NAMESPACE_END
