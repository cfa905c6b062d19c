// sipdetect command-line program: a live source put back in record time (see reorder_source.hpp).
#include "reorder_source.hpp"

#include <algorithm>
#include <utility>

namespace sipdetect_cli {

reorder_source::reorder_source(std::unique_ptr<live_source> inner, std::size_t window, clock::duration hold)
    : inner_(std::move(inner)), window_(std::max<std::size_t>(window, 1)), hold_(hold) {}

bool reorder_source::goes_after(const held& a, const held& b) noexcept {
    if (a.time != b.time) return a.time > b.time;
    if (a.is_response != b.is_response) return a.is_response;
    return a.sequence > b.sequence;
}

void reorder_source::take_front(input_record& out) {
    std::pop_heap(heap_.begin(), heap_.end(), goes_after);
    const std::uint32_t slot = heap_.back().slot;
    heap_.pop_back();
    // A swap: `out` and the slot keep reusing their strings' capacity.
    std::swap(out, slots_[slot]);
    free_.push_back(slot);
}

live_source::pull reorder_source::next(input_record& out) {
    while (!inner_ended_ && !stopping_) {
        if (free_.empty()) {
            free_.push_back(static_cast<std::uint32_t>(slots_.size()));
            slots_.emplace_back();
        }
        const std::uint32_t slot = free_.back();
        input_record& incoming = slots_[slot];
        pull got = pull::none;
        try {
            got = inner_->next(incoming);
        } catch (...) { // the records read before the defect still go out first
            inner_failure_ = std::current_exception();
            got = pull::ended;
        }
        if (got == pull::none) break;
        if (got == pull::ended) {
            inner_ended_ = true;
            break;
        }
        free_.pop_back();
        const auto now = clock::now();
        heap_.push_back(held{incoming.time, incoming.status != 0, sequence_++, slot, now});
        std::push_heap(heap_.begin(), heap_.end(), goes_after);
        if (heap_.size() >= window_ || now - heap_.front().arrival >= hold_) {
            take_front(out);
            return pull::record;
        }
    }
    if (!heap_.empty() && (inner_ended_ || stopping_ || clock::now() - heap_.front().arrival >= hold_)) {
        take_front(out);
        return pull::record;
    }
    if (!inner_ended_) return pull::none;
    if (inner_failure_) std::rethrow_exception(std::exchange(inner_failure_, nullptr));
    return pull::ended;
}

std::unique_ptr<live_source> in_record_time(std::unique_ptr<live_source> inner) {
    return std::make_unique<reorder_source>(std::move(inner), time_ordered_stream::window_for(1),
                                            std::chrono::seconds(1));
}

} // namespace sipdetect_cli
