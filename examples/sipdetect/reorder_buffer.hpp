// sipdetect command-line program and ipfixcol2 plugin: records put back in
// time order.
//
// Exporters send records in the order flows end in their caches, not in
// time order: ipfixprobe exports the flows still in its cache at the end of
// a capture after later ones. The program reads each file through a window
// of records in time order (time_ordered_stream); this is the same window
// over records as they arrive, used by the program's streams
// (reorder_source) and by the ipfixcol2 plugin, so that the detectors see
// the same sequence: a record leaves when `window` records are held, the
// earliest first (at equal times a request before a response, then arrival
// order). The text the held records keep is capped at `max_bytes`: beyond it
// the earliest records leave early, so hostile 64 KB strings cannot grow
// memory. Records arriving in order (most of them) wait in a queue at
// constant cost; only those behind the queue's last go through a heap.
#pragma once

#include "input_record.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace sipdetect_cli {

class reorder_buffer {
public:
    using clock = std::chrono::steady_clock;

    reorder_buffer(std::size_t window, std::size_t max_bytes);

    // A cleared slot for the next record; keep() holds what was put in it.
    input_record& next_slot();
    // `arrival`: when the record came, for callers that release by age.
    void keep(clock::time_point arrival = {});
    // Whether the earliest record must leave now (the window or the byte cap is full).
    bool must_release() const noexcept { return size() >= window_ || bytes_ > max_bytes_; }
    bool empty() const noexcept { return size() == 0; }
    std::size_t size() const noexcept { return in_order_count_ + heap_.size(); }
    // When the earliest record arrived (not empty()).
    clock::time_point earliest_arrival() const noexcept { return earliest().arrival; }
    // Swaps the earliest record into `out`; the strings `out` held become the slot's spare capacity.
    void release_earliest(input_record& out);

private:
    struct held {
        sipdetect::record_time time;
        bool is_response;
        std::uint64_t sequence;
        std::uint32_t slot;
        clock::time_point arrival;
    };
    struct goes_after { // a function object, so that the heap's comparisons inline
        bool operator()(const held& a, const held& b) const noexcept {
            if (a.time != b.time) return a.time > b.time;
            if (a.is_response != b.is_response) return a.is_response;
            return a.sequence > b.sequence;
        }
    };
    const held& in_order_front() const noexcept { return in_order_[in_order_first_]; }
    bool earliest_in_order() const noexcept {
        return heap_.empty() || (in_order_count_ > 0 && goes_after{}(heap_.front(), in_order_front()));
    }
    const held& earliest() const noexcept { return earliest_in_order() ? in_order_front() : heap_.front(); }
    void push_in_order(const held& h);

    std::size_t window_, max_bytes_;
    std::size_t bytes_ = 0; // text of the held records
    std::vector<input_record> slots_; // reused: the records keep their strings' capacity
    std::vector<std::uint32_t> free_; // slots not holding a record
    // A ring of records in release order; its size is a power of two.
    std::vector<held> in_order_;
    std::size_t in_order_first_ = 0, in_order_count_ = 0;
    std::vector<held> heap_; // records behind the ring's last; the earliest at the front
    std::uint64_t sequence_ = 0;
};

// Gives back the memory of strings longer than any real exporter sends
// (ipfixprobe cuts them at 127 bytes), so that reused records stay small.
void shed_large_strings(input_record& r) noexcept;

} // namespace sipdetect_cli
