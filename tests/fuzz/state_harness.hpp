// The shared body of the state fuzz targets: load() an arbitrary image into
// a detector. state_error is the expected outcome, and leaves the detector
// untouched. A successful load must give a usable detector whose saved
// image loads again into a fresh one that saves the same bytes and then
// behaves exactly like it.
#pragma once

#include "fuzz_common.hpp"

#include <sipdetect/errors.hpp>
#include <sipdetect/state_file.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <tuple>
#include <vector>

namespace fuzz {

inline message_record state_msg(std::int64_t micros, const char* client, const char* server,
                                sipdetect::sip_method method, const std::string& user, std::uint16_t status = 0) {
    message_record r;
    r.time = sipdetect::record_time_from_micros(micros);
    r.src = sipdetect::ip_address::parse(client);
    r.dst = sipdetect::ip_address::parse(server);
    r.method = method;
    r.to_uri = "sip:" + user + "@" + server;
    r.from_uri = r.to_uri;
    r.request_uri = r.to_uri;
    r.user_agent = "fuzz-ua";
    if (status != 0) {
        std::swap(r.src, r.dst);
        r.status = status;
    }
    return r;
}

// A little traffic around `t0`: a scanner, a proxy with answers, phones, a late record.
inline std::vector<message_record> state_story(std::int64_t t0, int variant) {
    using sipdetect::sip_method;
    std::vector<message_record> out;
    const std::int64_t s = 1'000'000;
    const char* scanner = variant == 0 ? "10.0.0.66" : "2001:db8::66";
    const char* relay = variant == 0 ? "10.0.0.10" : "10.0.0.11";
    for (int i = 0; i < 6; ++i) {
        const std::string host = "10.1.0." + std::to_string(i + 1);
        out.push_back(state_msg(saturating_add(t0, i * s), scanner, host.c_str(),
                                variant == 0 ? sip_method::register_ : sip_method::options, "100"));
        if (i % 2 == 0)
            out.push_back(state_msg(saturating_add(t0, i * s + 1000), scanner, host.c_str(),
                                    variant == 0 ? sip_method::register_ : sip_method::options, "100", 401));
    }
    for (int u = 0; u < 6; ++u) {
        message_record r = state_msg(saturating_add(t0, 10 * s + u * s), relay, "10.0.0.20", sip_method::invite,
                                     "900");
        r.from_uri = "sip:user" + std::to_string(u) + "@example.com";
        out.push_back(r);
        message_record a = state_msg(saturating_add(t0, 10 * s + u * s + 2000), relay, "10.0.0.20",
                                     sip_method::invite, "900", 200);
        a.from_uri = r.from_uri;
        out.push_back(a);
    }
    out.push_back(state_msg(saturating_add(t0, 20 * s), "10.0.0.31", "10.0.0.10", sip_method::register_, "alice"));
    out.push_back(state_msg(saturating_add(t0, -7200 * s), "10.0.0.32", "10.0.0.10", sip_method::bye, "bob"));
    out.push_back(state_msg(saturating_add(t0, 3 * 3600 * s), "10.0.0.33", "10.0.0.10", sip_method::ack, "carol"));
    return out;
}

template <class D> std::vector<typename D::event_type> events_of(D& d, bool flush) {
    return flush ? d.flush() : d.poll();
}

template <class D>
void check_caps(const D& d) {
    const auto s = d.stats();
    if constexpr (requires { s.groups; }) {
        FUZZ_CHECK(s.tracked <= d.config().max_tracked);
        FUZZ_CHECK(s.groups <= d.config().max_groups);
    } else if constexpr (requires { s.tracked; }) {
        FUZZ_CHECK(s.tracked <= d.config().max_tracked);
    } else {
        FUZZ_CHECK(s.candidates <= d.config().max_candidates);
        FUZZ_CHECK(s.proxies <= d.config().max_proxies);
    }
}

template <class D>
void exercise_state(const std::string& image,
                    const std::remove_cvref_t<decltype(std::declval<D>().config())>& cfg) {
    D d(cfg);
    const std::int64_t warm = base_micros;
    set_clock(d.clock(), sipdetect::record_time_from_micros(warm));
    for (const auto& r : state_story(warm, 0)) d.feed(r);
    const std::string before = image_of(d);

    bool loaded = false;
    try {
        (void)load_image(d, image);
        loaded = true;
    } catch (const sipdetect::state_error& e) {
        FUZZ_CHECK(std::string_view(e.what()).size() > 0);
    }
    if (!loaded) {
        FUZZ_CHECK_MSG(image_of(d) == before, "a failed load() changed the detector");
        return;
    }
    check_caps(d);

    // Round trip: the loaded detector's image loads into a fresh one and saves the same bytes.
    const std::string first = image_of(d);
    D twin(cfg, d.clock());
    try {
        const auto report = load_image(twin, first);
        FUZZ_CHECK_MSG(report.config_differences.empty(), "an image saved with this configuration reports differences");
    } catch (const sipdetect::state_error& e) {
        fail("a saved image does not load", __FILE__, __LINE__, e.what());
    }
    FUZZ_CHECK_MSG(image_of(twin) == first, "save -> load -> save is not byte-identical");
    FUZZ_CHECK(without_gauges(twin.stats()) == without_gauges(d.stats()));

    // Usable: both take records near the loaded watermark and behave the same.
    std::int64_t t0 = base_micros;
    const auto wm = d.watermark();
    if (wm >= sipdetect::detail::earliest_record_time && wm <= sipdetect::detail::latest_record_time)
        t0 = sipdetect::micros_of(wm);
    set_clock(d.clock(), sipdetect::record_time_from_micros(t0));
    set_clock(twin.clock(), sipdetect::record_time_from_micros(t0));
    const auto story = state_story(t0, 1);
    for (std::size_t i = 0; i < story.size(); ++i) {
        d.feed(story[i]);
        twin.feed(story[i]);
        if (i % 5 == 4) {
            const auto a = events_of(d, false);
            const auto b = events_of(twin, false);
            FUZZ_CHECK_MSG(a == b, "a reloaded detector emits different events");
            for (const auto& e : a) check_event(e, cfg, false);
            check_caps(d);
        }
    }
    const auto a = events_of(d, true);
    const auto b = events_of(twin, true);
    FUZZ_CHECK_MSG(a == b, "a reloaded detector emits different events at flush");
    for (const auto& e : a) check_event(e, cfg, false);
    check_caps(d);
    FUZZ_CHECK_MSG(image_of(d) == image_of(twin), "a reloaded detector ends in a different state");
}

// A state bundle through load_state_file() into fresh detectors: a failure
// leaves them untouched; a success gives detectors within their caps whose
// events at flush are well formed.
template <class... Detectors> void load_bundle(const std::string& image) {
    static const temp_file file("bundle");
    file.write(reinterpret_cast<const std::uint8_t*>(image.data()), image.size());
    std::tuple<Detectors...> detectors;
    const auto images = [&] { return std::apply([](const auto&... d) { return (image_of(d) + ...); }, detectors); };
    const std::string before = images();
    try {
        FUZZ_CHECK(std::apply([&](auto&... d) { return sipdetect::load_state_file(file.path(), d...); }, detectors));
    } catch (const sipdetect::state_error&) {
        FUZZ_CHECK_MSG(images() == before, "a failed bundle load changed a detector");
        return;
    }
    std::apply(
        [](auto&... d) {
            (check_caps(d), ...);
            const auto check_flush = [](auto& detector) {
                for (const auto& e : detector.flush()) check_event(e, detector.config(), false);
            };
            (check_flush(d), ...);
        },
        detectors);
}

// Runs `body` on the raw input and on a copy whose frame (length, CRC) was
// fixed up, so that mutations reach the payload checks.
template <class Body>
void raw_and_fixed(const std::uint8_t* data, std::size_t size, Body&& body) {
    const std::string raw(reinterpret_cast<const char*>(data), size);
    body(raw);
    const std::string fixed = with_fixed_frame(raw);
    if (!fixed.empty() && fixed != raw) body(fixed);
}

} // namespace fuzz
