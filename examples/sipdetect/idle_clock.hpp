// sipdetect command-line program: record time advanced by the wall clock
// while a live input is idle.
//
// Record time drives detection, and it comes from records: when no record
// comes, a scan would never end. After a full second of wall time without a
// record, the live loop sets the detectors' clock (their poll()'s "now") to
// the newest record time plus the wall time idle since the last record
// arrived, and polls, once per wall second while the input stays idle. Input
// that keeps flowing, with less than a second between records, never
// advances this clock, so a stream gives the events of its file.
#pragma once

#include <sipdetect/clock.hpp>

#include <chrono>
#include <optional>

namespace sipdetect_cli {

class idle_clock {
public:
    using wall_clock = std::chrono::steady_clock;
    static constexpr std::chrono::seconds idle_after{1};

    explicit idle_clock(wall_clock::time_point start) noexcept : last_record_(start) {}

    void record_arrived(wall_clock::time_point now) noexcept { last_record_ = now; }

    // The record time to poll the detectors at, when the input has been idle
    // for a second or more and the last advance is a second old; nullopt
    // otherwise, or when there is no record time yet (`newest` is min()).
    std::optional<sipdetect::record_time> advance(wall_clock::time_point now, sipdetect::record_time newest) noexcept {
        const wall_clock::duration idle = now - last_record_;
        if (idle < idle_after || now < next_advance_) return std::nullopt;
        next_advance_ = now + idle_after;
        if (newest == sipdetect::record_time::min()) return std::nullopt;
        return newest + std::chrono::duration_cast<sipdetect::record_duration>(idle);
    }

private:
    wall_clock::time_point last_record_;
    wall_clock::time_point next_advance_ = wall_clock::time_point::min();
};

} // namespace sipdetect_cli
