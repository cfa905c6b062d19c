// sipdetect command-line program: a live source put back in record time.
//
// Flow exports and Zeek logs are not in time order: an exporter sends a flow
// when it ends, Zeek writes a transaction when it completes. The file run
// puts each file's records back in order through a reorder buffer of
// time_ordered_stream::window_for(1) records (readers.hpp); a stream of the
// same records goes through the same buffer here (reorder_buffer), and
// leaves it in the same order, so that `cat FILE | sipdetect -` and an exporter replaying FILE give
// the events of `sipdetect FILE`. A live stream does not wait for the buffer
// to fill: a record leaves it, in time order, once it has been held for
// `hold` of wall time, and everything leaves when the stream ends.
#pragma once

#include "live_source.hpp"
#include "reorder_buffer.hpp"

#include <chrono>
#include <exception>
#include <memory>

namespace sipdetect_cli {

class reorder_source final : public live_source {
public:
    using clock = reorder_buffer::clock;

    reorder_source(std::unique_ptr<live_source> inner, std::size_t window, clock::duration hold);

    pull next(input_record& out) override;
    // Gives what is held, in time order, without asking the inner source again.
    void stop_holding() override { stopping_ = true; }
    int wait_fd() const noexcept override { return inner_->wait_fd(); }
    reader_counters counters() const override { return inner_->counters(); }
    std::string name() const override { return inner_->name(); }

private:
    std::unique_ptr<live_source> inner_;
    reorder_buffer buffer_;
    clock::duration hold_;
    bool inner_ended_ = false;
    bool stopping_ = false;
    std::exception_ptr inner_failure_; // thrown once the held records are out
};

// The reorder buffer of a file run, with records held at most a second.
std::unique_ptr<live_source> in_record_time(std::unique_ptr<live_source> inner);

} // namespace sipdetect_cli
