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

// A detector in the pipeline, with the lookups of the records in flight.
template <class Detector>
struct feed_lane {
    Detector& detector;
    std::array<typename Detector::lookup_type, feed_ahead> lookups{};
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
        (lanes.detector.hash_key(views[i], lanes.lookups[i]), ...);
        (lanes.detector.prefetch_index(lanes.lookups[i]), ...);
    }
    for (std::size_t i = 0; i < n; ++i) {
        const std::size_t slot = i % feed_ahead;
        if (i + feed_entry_ahead < n) {
            const std::size_t near = (i + feed_entry_ahead) % feed_ahead;
            (lanes.detector.prefetch_entry(lanes.lookups[near]), ...);
        }
        (lanes.detector.feed_view(views[slot], lanes.lookups[slot]), ...);
        if (i + feed_ahead < n) {
            fill_view(records[i + feed_ahead], views[slot]);
            prefetch_text(views[slot]);
            (lanes.detector.hash_key(views[slot], lanes.lookups[slot]), ...);
            (lanes.detector.prefetch_index(lanes.lookups[slot]), ...);
        }
    }
}
} // namespace detail

// Feeds every record to each detector, in order, exactly as calling each
// detector's feed(record) record by record would (tests/test_differential.cpp
// checks it), but in one pass: each record is read and turned into a view
// once, each detector hashes its table key once, and the record's strings
// and the table lookups are prefetched ahead (the strings and the index
// bucket 16 records ahead, the entry 8 records ahead), so the cache misses
// of consecutive records overlap instead of queueing. Running SIPSCAN and
// SIPPROXY side by side:
//     sipdetect::feed_all(std::span<const Record>(batch), scans, proxies);
// A detector takes part through its pipeline stages: hash_key(view, lookup)
// fills its lookup_type, then prefetch_index(lookup), prefetch_entry(lookup)
// and feed_view(view, lookup).
template <class Record, class... Detectors>
void feed_all(std::span<const Record> records, Detectors&... detectors) {
    detail::feed_lanes(records, detail::feed_lane<Detectors>{detectors}...);
}

SIPDETECT_NAMESPACE_END
