// sipdetect: records put back in time order (reorder_buffer.hpp).
#include "reorder_buffer.hpp"

#include <algorithm>
#include <string>
#include <utility>

namespace sipdetect_cli {
namespace {
std::size_t text_bytes(const input_record& r) noexcept {
    return r.request_uri.size() + r.from_uri.size() + r.to_uri.size() + r.user_agent.size();
}
} // namespace

reorder_buffer::reorder_buffer(std::size_t window, std::size_t max_bytes)
    : window_(std::max<std::size_t>(window, 1)), max_bytes_(max_bytes) {}

input_record& reorder_buffer::next_slot() {
    if (free_.empty()) {
        free_.push_back(static_cast<std::uint32_t>(slots_.size()));
        slots_.emplace_back();
    }
    input_record& r = slots_[free_.back()];
    clear_keeping_capacity(r);
    return r;
}

void reorder_buffer::keep(clock::time_point arrival) {
    const std::uint32_t slot = free_.back();
    const input_record& r = slots_[slot];
    const held h{r.time, r.status != 0, sequence_++, slot, arrival};
    if (in_order_count_ == 0 ||
        !goes_after{}(in_order_[(in_order_first_ + in_order_count_ - 1) & (in_order_.size() - 1)], h)) {
        push_in_order(h);
    } else {
        heap_.push_back(h);
        std::push_heap(heap_.begin(), heap_.end(), goes_after{});
    }
    free_.pop_back();
    bytes_ += text_bytes(r);
}

void reorder_buffer::push_in_order(const held& h) {
    if (in_order_count_ == in_order_.size()) {
        std::vector<held> grown(std::max<std::size_t>(in_order_.size() * 2, 64));
        for (std::size_t i = 0; i < in_order_count_; ++i)
            grown[i] = in_order_[(in_order_first_ + i) & (in_order_.size() - 1)];
        in_order_.swap(grown);
        in_order_first_ = 0;
    }
    in_order_[(in_order_first_ + in_order_count_) & (in_order_.size() - 1)] = h;
    ++in_order_count_;
}

void reorder_buffer::release_earliest(input_record& out) {
    held h{};
    if (earliest_in_order()) {
        h = in_order_front();
        in_order_first_ = (in_order_first_ + 1) & (in_order_.size() - 1);
        --in_order_count_;
    } else {
        std::pop_heap(heap_.begin(), heap_.end(), goes_after{});
        h = heap_.back();
        heap_.pop_back();
    }
    input_record& r = slots_[h.slot];
    bytes_ -= text_bytes(r);
    std::swap(out, r);
    shed_large_strings(r);
    free_.push_back(h.slot);
}

void shed_large_strings(input_record& r) noexcept {
    constexpr std::size_t kept_capacity = 256;
    for (std::string* s : {&r.request_uri, &r.from_uri, &r.to_uri, &r.user_agent})
        if (s->capacity() > kept_capacity) std::string().swap(*s);
}

} // namespace sipdetect_cli
