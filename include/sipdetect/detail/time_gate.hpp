// sipdetect: the rules for hostile record times, shared by both detectors.
//
//  - Record times outside years 1 to 9999 are malformed and dropped: every
//    time difference the detectors take then fits in 64 bits.
//  - A record older than the newest record time minus max_lateness is
//    dropped: late data must not rewrite what has been decided, and a record
//    dated 1970 must not reopen anything.
//  - With a live clock (anything but manual_clock, see clock_is_live), a
//    record later than the clock plus max_clock_skew is dropped. The clock is
//    read at each poll and again only when a record looks too far ahead, so
//    the hot path pays nothing. A replay clock gives no wall reference, so
//    replayed records are taken as they come.
//  - The newest record time only moves forward, and poll()'s "now" never
//    goes back, whatever the clock does between polls.
#pragma once

#include <sipdetect/clock.hpp>
#include <sipdetect/version.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>

SIPDETECT_NAMESPACE_BEGIN
namespace detail {

enum class time_verdict : std::uint8_t { accept, out_of_range, late, future };

inline constexpr record_time earliest_record_time =
    std::chrono::time_point_cast<record_duration>(std::chrono::sys_days{std::chrono::year{1} / 1 / 1});
inline constexpr record_time latest_record_time =
    std::chrono::time_point_cast<record_duration>(std::chrono::sys_days{std::chrono::year{9999} / 12 / 31});

// later - earlier > limit, without overflow for any two in-range times.
inline constexpr bool further_than(record_time later, record_time earlier, record_duration limit) noexcept {
    return later > earlier && later - earlier > limit;
}

// t + d for d >= 0, saturating at record_time::max(): a saved state may hold
// the min() and max() sentinels, and configured durations may be huge.
inline constexpr record_time later_by(record_time t, record_duration d) noexcept {
    if (d <= record_duration::zero()) return t;
    return t > record_time::max() - d ? record_time::max() : t + d;
}

struct time_gate {
    record_time watermark = record_time::min();     // newest accepted record time
    record_time clock_reading = record_time::min(); // the live clock, read lazily
    record_time last_now = record_time::min();      // poll's "now" never goes back

    template <bool Live, class ReadClock>
    time_verdict admit(record_time t, record_duration max_lateness, record_duration max_clock_skew,
                       ReadClock&& read_clock) {
        if (t < earliest_record_time || t > latest_record_time) return time_verdict::out_of_range;
        if (watermark != record_time::min() && further_than(watermark, t, max_lateness)) return time_verdict::late;
        if constexpr (Live) {
            if (clock_reading == record_time::min() || further_than(t, clock_reading, max_clock_skew))
                clock_reading = std::clamp(read_clock(), earliest_record_time, latest_record_time);
            if (further_than(t, clock_reading, max_clock_skew)) return time_verdict::future;
        }
        if (t > watermark) watermark = t;
        return time_verdict::accept;
    }

    // The "now" of a poll: the later of the newest record and the clock, never earlier than before.
    record_time poll_now(record_time clock) noexcept {
        clock = std::clamp(clock, earliest_record_time, latest_record_time);
        clock_reading = clock;
        last_now = std::max({last_now, watermark, clock});
        return last_now;
    }
};

} // namespace detail
SIPDETECT_NAMESPACE_END
