// The time rules of detail::time_gate for a replay (manual_clock), written
// plainly for the reference models: records outside years 1 to 9999 are
// malformed, records older than the newest minus max_lateness are late, and
// a poll's "now" is the latest of the newest record, the clock and every
// earlier "now".
#pragma once

#include <sipdetect/detail/time_gate.hpp>

#include <algorithm>

struct reference_time_rules {
    sipdetect::record_time watermark = sipdetect::record_time::min();
    sipdetect::record_time last_now = sipdetect::record_time::min();

    // Whether the detectors take a record of time t; counts it in the
    // detector's stats (records, malformed_dropped, late_dropped).
    template <class Stats>
    bool admit(sipdetect::record_time t, sipdetect::record_duration max_lateness, Stats& stats) {
        ++stats.records;
        if (t < sipdetect::detail::earliest_record_time || t > sipdetect::detail::latest_record_time) {
            ++stats.malformed_dropped;
            return false;
        }
        if (watermark != sipdetect::record_time::min() && t < watermark - max_lateness) {
            ++stats.late_dropped;
            return false;
        }
        watermark = std::max(watermark, t);
        return true;
    }

    sipdetect::record_time poll_now(sipdetect::record_time clock_now) {
        last_now = std::max({last_now, watermark, clock_now});
        return last_now;
    }
};
