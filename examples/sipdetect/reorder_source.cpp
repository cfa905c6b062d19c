// sipdetect command-line program: a live source put back in record time (see reorder_source.hpp).
#include "reorder_source.hpp"

#include <limits>
#include <utility>

namespace sipdetect_cli {

reorder_source::reorder_source(std::unique_ptr<live_source> inner, std::size_t window, clock::duration hold)
    // No cap on the held text: the file run's window has none either.
    : inner_(std::move(inner)), buffer_(window, std::numeric_limits<std::size_t>::max()), hold_(hold) {}

live_source::pull reorder_source::next(input_record& out) {
    while (!inner_ended_ && !stopping_) {
        input_record& incoming = buffer_.next_slot();
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
        const auto now = clock::now();
        buffer_.keep(now);
        if (buffer_.must_release() || now - buffer_.earliest_arrival() >= hold_) {
            buffer_.release_earliest(out);
            return pull::record;
        }
    }
    if (!buffer_.empty() && (inner_ended_ || stopping_ || clock::now() - buffer_.earliest_arrival() >= hold_)) {
        buffer_.release_earliest(out);
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
