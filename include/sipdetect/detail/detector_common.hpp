// sipdetect: what both detectors share: string caps, the limits their
// configurations accept, the per-process hash seed, and the one list of
// each configuration's fields that validate(), the state format, the
// configuration differences and the fmt formatter all walk.
#pragma once

#include <sipdetect/clock.hpp>
#include <sipdetect/errors.hpp>
#include <sipdetect/version.hpp>

#include <cstdint>
#include <limits>
#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <vector>

SIPDETECT_NAMESPACE_BEGIN

// User agents attached to events are cut to this many bytes.
inline constexpr std::size_t user_agent_cap = 128;

namespace detail {

// Limits the configurations accept; a saved state is read under the same ones.
inline constexpr std::uint32_t max_distinct_limit = 1u << 20; // max_distinct of both, proxy min_uris
inline constexpr std::uint32_t max_evidence_limit = 1000;     // evidence_targets, uri_samples, peer_samples
inline constexpr std::uint32_t max_user_agents_limit = 100;
// From URIs kept in a proxy's sample are cut to this many bytes.
inline constexpr std::size_t uri_sample_cap = 256;
// A saved proxy state holds at most this many events not yet polled.
inline constexpr std::uint32_t max_pending_events = 1u << 20;

// Seed of the fingerprint hashes of detectors whose configuration sets
// none: made once per process, so that no one who reads this source can aim
// hash collisions at a deployment. Its entropy is where the process was
// loaded and where its stack and heap lie (address-space layout
// randomisation) and the clocks at first use, mixed by splitmix64; Abseil
// seeds its hash tables from the same kind of source. <random> would cost
// every user of the umbrella header 17,000 preprocessed lines for the same
// purpose.
inline std::uint64_t mix64(std::uint64_t x) noexcept {
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}
inline std::uint64_t process_hash_seed() {
    static const std::uint64_t seed = [] {
        static const char anchor = 0;
        const char on_stack = 0;
        const auto heap = std::make_unique<char>();
        std::uint64_t s = mix64(reinterpret_cast<std::uintptr_t>(&anchor));
        s = mix64(s ^ reinterpret_cast<std::uintptr_t>(&on_stack));
        s = mix64(s ^ reinterpret_cast<std::uintptr_t>(heap.get()));
        s = mix64(s ^ static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count()));
        return mix64(s ^ static_cast<std::uint64_t>(std::chrono::system_clock::now().time_since_epoch().count()));
    }();
    return seed;
}

// ---------------------------------------------------------------------------
// Configuration fields. Each configuration has one list of its fields (name,
// member, accepted range); the list's order is the state format's.

template <class T>
inline constexpr bool is_bounded_field = (std::is_arithmetic_v<T> && !std::is_same_v<T, bool>) || std::is_enum_v<T> || std::is_same_v<T, record_duration>;

struct no_bounds {};

// Bounds of fields limited on one side only.
inline constexpr std::uint32_t unbounded_u32 = std::numeric_limits<std::uint32_t>::max();
inline constexpr record_duration at_least_1us{1};
inline constexpr record_duration unbounded_duration = record_duration::max();

// Bounded fields (numbers, durations, enums) accept low to high inclusive;
// booleans and prefix sets accept anything.
template <class Config, class T> struct config_field {
    using bound_type = std::conditional_t<is_bounded_field<T>, T, no_bounds>;
    std::string_view name;
    T Config::*member;
    bound_type low{};
    bound_type high{};
    // The first state format version that saves the field; an older file leaves it at its default.
    std::uint16_t since_version = 2;
};

template <class T> std::string bound_text(T v) {
    if constexpr (std::is_same_v<T, record_duration>) return std::to_string(v.count()) + " microseconds";
    else if constexpr (std::is_enum_v<T>) return std::to_string(static_cast<unsigned>(v));
    else if constexpr (std::is_floating_point_v<T>) {
        std::string s = std::to_string(v);
        s.erase(s.find_last_not_of('0') + 1);
        if (s.back() == '.') s.pop_back();
        return s;
    } else return std::to_string(v);
}

// What a field accepts, in the words of its error: "at least 1", "zero or more", ...
template <class T> std::string accepted_range(T low, T high) {
    if constexpr (std::is_same_v<T, record_duration>) {
        if (high == record_duration::max()) {
            if (low == record_duration::zero()) return "zero or more";
            if (low == record_duration{1}) return "positive (at least 1 microsecond)";
            return "at least " + bound_text(low);
        }
    } else if constexpr (std::is_integral_v<T>) {
        if (high == std::numeric_limits<T>::max()) {
            if (low == 0) return "zero or more";
            return "at least " + bound_text(low);
        }
        if (low == 0) return "at most " + bound_text(high);
    }
    return "between " + bound_text(low) + " and " + bound_text(high);
}

template <class Config, class T> void check_field(const Config& c, const config_field<Config, T>& f, std::string_view what) {
    if constexpr (is_bounded_field<T>) {
        const T v = c.*(f.member);
        if (!(v >= f.low && v <= f.high)) // also refuses NaN
            throw config_error(std::string(what) + "." + std::string(f.name) + " must be " + accepted_range(f.low, f.high));
    }
}

// Throws config_error naming the first field out of its range.
template <class Config, class... T>
void check_fields(const Config& c, const std::tuple<config_field<Config, T>...>& fields, std::string_view what) {
    std::apply([&](const auto&... f) { (check_field(c, f, what), ...); }, fields);
}

// Names of the fields that differ.
template <class Config, class... T>
std::vector<std::string> config_differences(const Config& saved, const Config& running,
                                            const std::tuple<config_field<Config, T>...>& fields) {
    std::vector<std::string> out;
    auto note = [&](const auto& f) {
        if (!(saved.*(f.member) == running.*(f.member))) out.emplace_back(f.name);
    };
    std::apply([&](const auto&... f) { (note(f), ...); }, fields);
    return out;
}

} // namespace detail
SIPDETECT_NAMESPACE_END
