// sipdetect: one pass over a batch of records for one or several detectors.
#pragma once

#include <sipdetect/record.hpp>
#include <sipdetect/version.hpp>

#include <algorithm>
#include <array>
#include <cstddef>
#include <span>

SIPDETECT_NAMESPACE_BEGIN

// Feeds every record to each detector, in order, exactly as calling each
// detector's feed(record) record by record would (tests/test_differential.cpp
// checks it), but in one pass: each record is read and turned into a view
// once, and the detectors' table lookups are prefetched ahead, the index
// bucket 16 records ahead and the entry 8 records ahead, so the cache misses
// of consecutive records overlap instead of queueing. Running SIPSCAN and
// SIPPROXY side by side:
//     sipdetect::feed_all(std::span<const Record>(batch), scans, proxies);
// A detector takes part through its pipeline stages: prefetch_index(view),
// prefetch_entry(view) and feed_view(view).
template <class Record, class... Detectors>
void feed_all(std::span<const Record> records, Detectors&... detectors) {
    constexpr std::size_t ahead = 16, entry_ahead = 8;
    std::array<record_view, ahead> ring;
    const std::size_t n = records.size();
    auto view_of = [&](const Record& record) {
        record_view v = make_view(record);
        (detectors.prefetch_index(v), ...);
        return v;
    };
    for (std::size_t i = 0; i < std::min(ahead, n); ++i) ring[i] = view_of(records[i]);
    for (std::size_t i = 0; i < n; ++i) {
        if (i + entry_ahead < n) (detectors.prefetch_entry(ring[(i + entry_ahead) % ahead]), ...);
        const record_view v = ring[i % ahead];
        if (i + ahead < n) ring[i % ahead] = view_of(records[i + ahead]);
        (detectors.feed_view(v), ...);
    }
}

SIPDETECT_NAMESPACE_END
