// sipdetect: record time and the clock model.
//
// Two times are kept apart on purpose:
//  - record time: when the flow happened, taken from the record itself. All
//    detection decisions (thresholds, ClosedSeason, TimeToDeath, event
//    lifecycles) are made in record time, so a replay is deterministic.
//  - the clock's now(): asked only by poll(), so that events still end when
//    the traffic stops and record time no longer advances.
#pragma once

#include <sipdetect/version.hpp>

#include <chrono>
#include <concepts>
#include <cstdint>

SIPDETECT_NAMESPACE_BEGIN

// Microseconds since the Unix epoch (UTC). Negative values (before 1970) are representable.
using record_time = std::chrono::sys_time<std::chrono::microseconds>;
using record_duration = std::chrono::microseconds;

inline constexpr record_time record_time_from_micros(std::int64_t us) noexcept {
    return record_time{record_duration{us}};
}
inline constexpr std::int64_t micros_of(record_time t) noexcept { return t.time_since_epoch().count(); }

// Days as a possibly fractional number, as the ADS parameters are given.
// Saturates instead of overflowing; NaN gives zero.
inline constexpr record_duration days(double d) noexcept {
    const double us = d * 86400.0 * 1e6;
    if (!(us == us)) return record_duration{0};
    if (us >= 9.2e18) return record_duration::max();
    if (us <= -9.2e18) return record_duration::min();
    return record_duration{static_cast<std::int64_t>(us)};
}

// A clock is anything whose now() yields a system_clock time point of any
// precision: std::chrono::system_clock, manual_clock, or a stateful object of
// the integrator's (passed to the detector's constructor).
template <class C>
concept detector_clock = requires(C& c) {
    { std::chrono::time_point_cast<record_duration>(c.now()) } -> std::same_as<record_time>;
};

template <detector_clock C>
record_time clock_now(C& c) {
    return std::chrono::time_point_cast<record_duration>(c.now());
}

// A live clock tells wall time, so records far beyond it can be refused
// (see time_gate.hpp). A clock type says it is not live with a static member
// `live = false`; manual_clock does.
template <class C>
inline constexpr bool clock_is_live = [] {
    if constexpr (requires { C::live; }) return static_cast<bool>(C::live);
    else return true;
}();

// A clock that only moves when told: for tests and offline replay. Left at
// the epoch, poll() works purely on record time.
class manual_clock {
public:
    static constexpr bool live = false;

    constexpr manual_clock() noexcept = default;
    constexpr explicit manual_clock(record_time start) noexcept : now_(start) {}
    constexpr record_time now() const noexcept { return now_; }
    constexpr void set(record_time t) noexcept { now_ = t; }
    constexpr void advance(record_duration d) noexcept { now_ += d; }

private:
    record_time now_{};
};

SIPDETECT_NAMESPACE_END
