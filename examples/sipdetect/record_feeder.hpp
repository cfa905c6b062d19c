// sipdetect command-line program: records into both detectors, in batches,
// with the detectors polled once per second of record time. The file run
// and the live loop share it, so that a stream gives the events its file gives.
#pragma once

#include "input_record.hpp"
#include "report.hpp"

#include <sipdetect/sipdetect.hpp>

#include <cstddef>
#include <cstdint>
#include <limits>
#include <span>
#include <vector>

namespace sipdetect_cli {

using scan_type = sipdetect::scan_detector<input_record>;
using proxy_type = sipdetect::proxy_detector<input_record>;
using campaign_type = sipdetect::campaign_detector<input_record>;

// The program's three detectors, fed the same records.
struct detector_set {
    scan_type& scans;
    proxy_type& proxies;
    campaign_type& campaigns;
};

// Events are polled as a live collector polls once a second: right after the
// first record of a new second of record time, so a batch ends there (and at
// batch_size records). Feeding a batch early changes nothing: the polls stay
// at the same records. Printer: called with each poll's std::vector of events
// (event_output.hpp's event_printer).
template <class Printer>
class record_feeder {
public:
    static constexpr std::size_t batch_size = 1024;

    // A loaded state resumes the polling of the run it continues: a stream
    // cut into files, even within a second, is polled where one run polls it.
    // `report`, when given, counts every record taken (--report).
    record_feeder(detector_set detectors, Printer& print, html_report* report = nullptr)
        : scans_(detectors.scans), proxies_(detectors.proxies), campaigns_(detectors.campaigns), print_(print),
          report_(report), batch_(batch_size),
          polled_second_(scans_.watermark() == sipdetect::record_time::min()
                             ? std::numeric_limits<std::int64_t>::min()
                             : sipdetect::micros_of(scans_.watermark()) / 1'000'000) {}

    // Where the next record is read into; reused, so its strings keep their capacity.
    input_record& slot() noexcept { return batch_[filled_]; }

    // The record in slot() is complete: takes it, feeding and polling when due.
    void commit() {
        const std::int64_t second = sipdetect::micros_of(batch_[filled_].time) / 1'000'000;
        if (report_) report_->note_record(batch_[filled_]);
        ++filled_;
        if (second != polled_second_) {
            feed_pending();
            polled_second_ = second;
            poll();
        } else if (filled_ == batch_.size()) {
            feed_pending();
        }
    }

    // Feeds the records taken but not yet fed (before a checkpoint, at the end).
    void feed_pending() {
        sipdetect::feed_all(std::span<const input_record>(batch_.data(), filled_), scans_, proxies_, campaigns_);
        analysed_ += filled_;
        filled_ = 0;
    }

    // Prints the events due now.
    void poll() {
        print_(scans_.poll());
        print_(proxies_.poll());
        print_(campaigns_.poll());
    }

    // Records taken so far, fed or not.
    std::uint64_t taken() const noexcept { return analysed_ + filled_; }
    // Records fed to the detectors.
    std::uint64_t analysed() const noexcept { return analysed_; }

private:
    scan_type& scans_;
    proxy_type& proxies_;
    campaign_type& campaigns_;
    Printer& print_;
    html_report* report_;
    std::vector<input_record> batch_;
    std::size_t filled_ = 0;
    std::uint64_t analysed_ = 0;
    std::int64_t polled_second_;
};

} // namespace sipdetect_cli
