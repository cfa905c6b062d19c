// Fuzz target: the input is a compact program of flow records and detector
// operations, run against both detectors in three lanes:
//   live    per-message records, a live test clock (future records refused)
//   replay  per-message records, manual_clock (a replay clock)
//   flows   Flowmon-style counter records, manual_clock
// Each lane runs a primary pair (scan + proxy detector), which is saved and
// reloaded whenever the program says so, and a shadow pair that never is:
// both must emit the same events. After every step the caps hold, memory
// stays under a bound derived from them, and every event is one JSON line.
//
// Encoding (reads past the end give zeros, see fuzz::input):
//   byte 0            configuration variant (mod 4, see make_configs)
//   then opcodes      (byte mod 8)
//     0, 1  request    flags, src, dst, dst port, method, time, via, from, to, [request URI], [UA]
//     2     response   as a request plus a status
//     3     poll       every detector
//     4     clock      sets the clocks (live and/or manual) near or far from the stream time
//     5     flow       a counter record: flags, src, dst, port, time, six counters, via, from, to, [UA]
//     6     save/load  primaries saved, loaded into fresh detectors, replaced by them
//     7     flush      every detector
#include "fuzz_common.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>

namespace {

using namespace sipdetect;
using fuzz::input;

struct configs {
    scan_config scan;
    proxy_config proxy;
};

configs make_configs(std::uint8_t variant) {
    using namespace std::chrono_literals;
    configs c;
    c.scan.threshold = 3;
    c.scan.max_tracked = 64;
    c.scan.max_distinct = 16;
    c.scan.evidence_targets = 8;
    c.scan.max_user_agents = 4;
    c.proxy.min_uris = 3;
    c.proxy.max_candidates = 64;
    c.proxy.max_proxies = 8;
    c.proxy.uri_samples = 8;
    c.proxy.peer_samples = 8;
    c.proxy.max_user_agents = 4;
    // Fixed seeds: which entries are evicted at the caps depends on them, and
    // an input must replay the same in every process.
    c.scan.hash_seed = 0x5eed5ca9u;
    c.proxy.hash_seed = 0x5eedf00du;
    switch (variant % 4) {
    case 0: // plausible, short enough for a fuzz input to reach every timeout
        c.scan.event_idle_timeout = 10min;
        c.scan.update_interval = 1min;
        c.scan.source_idle_timeout = 30min;
        c.proxy.closed_season = 30min;
        c.proxy.time_to_death = 2h;
        c.proxy.answer_grace = 10s;
        c.proxy.candidate_idle_timeout = 30min;
        break;
    case 1: // the smallest durations validate() accepts
        c.scan.event_idle_timeout = 1us;
        c.scan.update_interval = 0us;
        c.scan.source_idle_timeout = 1us;
        c.scan.max_lateness = 0us;
        c.scan.max_clock_skew = 0us;
        c.proxy.closed_season = 0us;
        c.proxy.time_to_death = 1us;
        c.proxy.answer_grace = 0us;
        c.proxy.candidate_idle_timeout = 1us;
        c.proxy.max_lateness = 0us;
        c.proxy.max_clock_skew = 0us;
        break;
    case 2: // the largest durations validate() accepts ("never")
        c.scan.event_idle_timeout = record_duration::max();
        c.scan.update_interval = record_duration::max();
        c.scan.source_idle_timeout = record_duration::max();
        c.scan.max_lateness = record_duration::max();
        c.scan.max_clock_skew = record_duration::max();
        c.proxy.closed_season = record_duration::max();
        c.proxy.time_to_death = record_duration::max();
        c.proxy.answer_grace = record_duration::max();
        c.proxy.candidate_idle_timeout = record_duration::max();
        c.proxy.max_lateness = record_duration::max();
        c.proxy.max_clock_skew = record_duration::max();
        break;
    default: // filters, saturating counts, extreme shares
        c.scan.destination_filter = prefix_set::parse("10.0.0.0/8, 2001:db8::/32");
        c.scan.max_distinct = 3;
        c.scan.evidence_targets = 0;
        c.scan.max_user_agents = 0;
        c.scan.ignore_relayed = false;
        c.scan.max_success_share = 0.0;
        c.scan.options_scan = false;
        c.proxy.filter = prefix_set::parse("10.0.0.0/24,2001:db8::/48");
        c.proxy.filter_mode = proxy_filter_mode::exclude_internal;
        c.proxy.min_success_share = 1.0;
        c.proxy.uri_samples = 0;
        c.proxy.peer_samples = 1;
        c.proxy.max_user_agents = 0;
        c.proxy.closed_season = 1h;
        c.proxy.answer_grace = 1min;
        break;
    }
    return c;
}

// ---------------------------------------------------------------------------
// Decoding.

ip_address pool_address(std::uint8_t i) {
    static const std::array<ip_address, 16> pool{
        ip_address::parse("10.0.0.1"),   ip_address::parse("10.0.0.2"),        ip_address::parse("10.0.0.10"),
        ip_address::parse("10.0.0.20"),  ip_address::parse("10.0.0.66"),       ip_address::parse("192.0.2.1"),
        ip_address::parse("::ffff:10.0.0.1"), ip_address::parse("2001:db8::1"), ip_address::parse("2001:db8::66"),
        ip_address::parse("::"),         ip_address::parse("0.0.0.0"),         ip_address::parse("255.255.255.255"),
        ip_address::parse("::1"),        ip_address::parse("fe80::1"),         ip_address::parse("2001:db8:1::20"),
        ip_address::parse("10.255.255.255")};
    return pool[i % pool.size()];
}

ip_address read_address(input& in, unsigned selector) {
    switch (selector & 3u) {
    case 0: return pool_address(in.u8());
    case 1: return ip_address::from_v4(0x0a000000u | in.u16()); // 10.0.x.y: many sources
    case 2: {
        ip_address::bytes_type b{};
        for (auto& x : b) x = in.u8();
        return ip_address::from_bytes(b);
    }
    default: return ip_address::from_v4(0x0a000000u | in.u8());
    }
}

std::uint16_t read_port(input& in) {
    const std::uint8_t p = in.u8();
    return p < 252 ? static_cast<std::uint16_t>(5060 + p % 4) : in.u16();
}

sip_method read_method(input& in) {
    const unsigned m = in.u8() % 16u;
    return m >= sip_method_names.size() ? sip_method::register_ : static_cast<sip_method>(m);
}

std::uint16_t read_status(input& in) {
    static constexpr std::array<std::uint16_t, 16> common{100, 180, 183, 200, 202, 204, 301, 401,
                                                          403, 404, 407, 408, 486, 500, 503, 603};
    const std::uint8_t s = in.u8();
    return s < 240 ? common[s % common.size()] : in.u16();
}

unsigned read_via(input& in) {
    const std::uint8_t v = in.u8();
    return v < 250 ? v % 4u : in.u32();
}

std::uint32_t read_count(input& in) {
    const std::uint8_t c = in.u8();
    return c < 240 ? c % 4u : in.u32();
}

// A URI or User-Agent: mostly generated from one byte, or raw input bytes.
std::string read_text(input& in) {
    const std::uint8_t b = in.u8();
    const std::string n = std::to_string(b);
    if (b < 160) return "sip:u" + n + "@example.com";
    if (b < 176) return "tel:+4202" + n;
    if (b < 192) return "\"Name " + n + "\" <sip:" + n + "@10.0.0.1;transport=udp>;tag=x";
    if (b < 208) return "sip:10.0.0." + std::to_string(b % 4);
    if (b < 224) return {};
    if (b < 232) {
        static constexpr std::array<const char*, 8> special{
            "friendly-scanner", "sipvicious", "sipcli/v1.8", "Zeeko", "sip:sipsscuser@10.0.0.1",
            "sip:%00@x", "sip:\xff\xfe@x", "sip:user:password@host"};
        return special[b % special.size()];
    }
    return std::string(in.bytes(in.u16() % 4097u));
}

// The stream's record time moves by small steps, jumps, or to raw 64-bit values.
std::int64_t read_time(input& in, std::int64_t t) {
    constexpr std::int64_t second = 1'000'000;
    const std::uint8_t k = in.u8();
    switch (k % 8) {
    case 0: return t;
    case 1: return fuzz::saturating_add(t, in.u8() * second);
    case 2: return fuzz::saturating_add(t, -std::int64_t{in.u8()} * second);
    case 3: return fuzz::saturating_add(t, std::int64_t{in.u16()} * 60 * second);
    case 4: return fuzz::saturating_add(t, -std::int64_t{in.u16()} * 60 * second);
    case 5: return in.i64();
    case 6: return std::int64_t{static_cast<std::int32_t>(in.u32()) / 256} * 86400 * second; // +-23,000 years
    default: return fuzz::saturating_add(t, in.u8() * 1000);
    }
}

// ---------------------------------------------------------------------------
// One lane: a primary and a shadow pair of detectors over one record type and clock.

template <class Record, class Clock>
class lane {
public:
    explicit lane(const configs& c)
        : cfg_(c), scan_(c.scan), scan_shadow_(c.scan), proxy_(c.proxy), proxy_shadow_(c.proxy) {}

    void feed(const Record& r) {
        scan_.feed(r);
        scan_shadow_.feed(r);
        proxy_.feed(r);
        proxy_shadow_.feed(r);
    }

    void set_clock(record_time t) {
        fuzz::set_clock(scan_.clock(), t);
        fuzz::set_clock(scan_shadow_.clock(), t);
        fuzz::set_clock(proxy_.clock(), t);
        fuzz::set_clock(proxy_shadow_.clock(), t);
    }

    void poll(bool flush) {
        const auto scan_events = flush ? scan_.flush() : scan_.poll();
        const auto scan_shadow_events = flush ? scan_shadow_.flush() : scan_shadow_.poll();
        FUZZ_CHECK_MSG(scan_events == scan_shadow_events, "a reloaded scan detector diverged from its shadow");
        for (const auto& e : scan_events) {
            fuzz::check_event(e, cfg_.scan, true);
            lifecycle_.on(e);
        }
        const auto proxy_events = flush ? proxy_.flush() : proxy_.poll();
        const auto proxy_shadow_events = flush ? proxy_shadow_.flush() : proxy_shadow_.poll();
        FUZZ_CHECK_MSG(proxy_events == proxy_shadow_events, "a reloaded proxy detector diverged from its shadow");
        for (const auto& e : proxy_events) {
            fuzz::check_event(e, cfg_.proxy, true);
            proxy_ids_.on(e);
        }
        if (flush) lifecycle_.expect_all_ended();
    }

    void save_and_reload() {
        scan_ = reloaded(scan_);
        proxy_ = reloaded(proxy_);
    }

    void check() const {
        const scan_stats s = scan_.stats();
        FUZZ_CHECK(s.tracked <= cfg_.scan.max_tracked);
        FUZZ_CHECK_MSG(s.memory_bytes <= scan_bound_, "scan memory " + std::to_string(s.memory_bytes) +
                                                          " above the bound " + std::to_string(scan_bound_));
        FUZZ_CHECK(fuzz::without_gauges(s) == fuzz::without_gauges(scan_shadow_.stats()));
        const proxy_stats p = proxy_.stats();
        FUZZ_CHECK(p.candidates <= cfg_.proxy.max_candidates);
        FUZZ_CHECK(p.proxies <= cfg_.proxy.max_proxies);
        FUZZ_CHECK_MSG(p.memory_bytes <= proxy_bound_, "proxy memory " + std::to_string(p.memory_bytes) +
                                                           " above the bound " + std::to_string(proxy_bound_));
        FUZZ_CHECK(fuzz::without_gauges(p) == fuzz::without_gauges(proxy_shadow_.stats()));
        FUZZ_CHECK(scan_.watermark() == scan_shadow_.watermark());
        FUZZ_CHECK(proxy_.season_end() == proxy_shadow_.season_end());
    }

private:
    template <class D> static D reloaded(D& d) {
        const std::string image = fuzz::image_of(d);
        D fresh(d.config(), d.clock());
        try {
            const auto report = fuzz::load_image(fresh, image);
            FUZZ_CHECK(report.config_differences.empty());
        } catch (const state_error& e) {
            fuzz::fail("a saved state does not load", __FILE__, __LINE__, e.what());
        }
        FUZZ_CHECK_MSG(fuzz::image_of(fresh) == image, "save -> load -> save is not byte-identical");
        return fresh;
    }

    configs cfg_;
    scan_detector<Record, Clock> scan_, scan_shadow_;
    proxy_detector<Record, Clock> proxy_, proxy_shadow_;
    fuzz::scan_lifecycle lifecycle_;
    fuzz::proxy_ids proxy_ids_;
    std::uint64_t scan_bound_ = fuzz::scan_memory_bound(cfg_.scan);
    std::uint64_t proxy_bound_ = fuzz::proxy_memory_bound(cfg_.proxy);
};

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    input in(data, size);
    const configs cfg = make_configs(in.u8());
    lane<fuzz::message_record, fuzz::live_clock> live(cfg);
    lane<fuzz::message_record, manual_clock> replay(cfg);
    lane<fuzz::counter_record, manual_clock> flows(cfg);
    std::int64_t t = fuzz::base_micros;
    live.set_clock(record_time_from_micros(t));

    auto check_all = [&] {
        live.check();
        replay.check();
        flows.check();
    };
    for (int step = 0; step < 4096 && !in.empty(); ++step) {
        const std::uint8_t op = in.u8() % 8;
        switch (op) {
        case 0:
        case 1:
        case 2: {
            fuzz::message_record r;
            const std::uint8_t flags = in.u8();
            r.src = read_address(in, flags);
            r.dst = read_address(in, flags >> 2);
            r.src_port = static_cast<std::uint16_t>(40000 + (flags & 7u));
            r.dst_port = read_port(in);
            r.sent_by = (flags & 0x10u) ? sender::destination : sender::source;
            r.method = read_method(in);
            if (op == 2) r.status = read_status(in);
            t = read_time(in, t);
            r.time = record_time_from_micros(t);
            r.via_count = read_via(in);
            r.from_uri = read_text(in);
            r.to_uri = read_text(in);
            r.request_uri = (flags & 0x20u) ? read_text(in) : r.to_uri;
            if (flags & 0x40u) r.user_agent = read_text(in);
            live.feed(r);
            replay.feed(r);
            break;
        }
        case 3:
            live.poll(false);
            replay.poll(false);
            flows.poll(false);
            break;
        case 4: {
            const std::uint8_t how = in.u8();
            std::int64_t c = t;
            switch (how % 4) {
            case 0: c = fuzz::saturating_add(t, std::int64_t{static_cast<std::int16_t>(in.u16())} * 1'000'000); break;
            case 1: c = fuzz::saturating_add(t, std::int64_t{static_cast<std::int8_t>(in.u8())} * 3'600'000'000); break;
            case 2: c = in.i64(); break;
            default: break;
            }
            const record_time at = record_time_from_micros(c);
            if (how & 4u) live.set_clock(at);
            if (how & 8u) {
                replay.set_clock(at);
                flows.set_clock(at);
            }
            break;
        }
        case 5: {
            fuzz::counter_record r;
            const std::uint8_t flags = in.u8();
            r.src = read_address(in, flags);
            r.dst = read_address(in, flags >> 2);
            r.dst_port = read_port(in);
            t = read_time(in, t);
            r.time = record_time_from_micros(t);
            r.counters.register_requests = read_count(in);
            r.counters.options_requests = read_count(in);
            r.counters.invite_requests = read_count(in);
            r.counters.other_requests = read_count(in);
            r.counters.success_responses = read_count(in);
            r.counters.failure_responses = read_count(in);
            r.via_count = read_via(in);
            r.from_uri = read_text(in);
            r.to_uri = read_text(in);
            if (flags & 0x40u) r.user_agent = read_text(in);
            flows.feed(r);
            break;
        }
        case 6:
            live.save_and_reload();
            replay.save_and_reload();
            flows.save_and_reload();
            break;
        default:
            live.poll(true);
            replay.poll(true);
            flows.poll(true);
            break;
        }
        check_all();
    }
    live.poll(true);
    replay.poll(true);
    flows.poll(true);
    check_all();
    return 0;
}
