// Hostile time: late, duplicated, far-future and pre-1970 records, and a
// clock that jumps backwards. Nothing crashes, no event vanishes or repeats,
// and no training season stalls or resets.
#include "catch.hpp"
#include "test_support.hpp"

#include <sipdetect/json.hpp>
#include <sipdetect/proxy_detector.hpp>
#include <sipdetect/scan_detector.hpp>

using namespace sipdetect;
using namespace std::chrono_literals;

namespace {

// A live clock under the test's control (manual_clock says it is a replay clock).
struct wall_clock {
    record_time t{};
    record_time now() const { return t; }
    void set(record_time x) { t = x; }
};

scan_config scan_cfg() {
    scan_config c;
    c.threshold = 3;
    c.event_idle_timeout = 30min;
    return c;
}

proxy_config proxy_cfg() {
    proxy_config c;
    c.min_uris = 5;
    c.closed_season = days(1);
    return c;
}

template <class D> void relay(D& d, const char* proxy, double t0, int users) {
    for (int u = 0; u < users; ++u) {
        msg r = request(t0 + u, proxy, "192.0.2.20", sip_method::invite, "900");
        r.from_uri = "sip:user" + std::to_string(u) + "@x";
        r.via_count = 2;
        d.feed(r);
        d.feed(response(r, t0 + u + 0.1, 200));
    }
}

} // namespace

TEST_CASE("late records beyond max_lateness are dropped and counted, and within it they count") {
    scan_detector<msg> d(scan_cfg());
    d.feed(request(10000, "192.0.2.1", "10.1.0.1", sip_method::options, "1"));
    d.feed(request(10000 - 1800, "192.0.2.1", "10.1.0.2", sip_method::options, "1")); // 30 min late: fine
    d.feed(request(10000 - 7200, "192.0.2.1", "10.1.0.3", sip_method::options, "1")); // 2 h late: dropped
    CHECK(d.stats().late_dropped == 1);
    CHECK(d.poll().empty());
    d.feed(request(10001, "192.0.2.1", "10.1.0.3", sip_method::options, "1"));
    const auto events = d.poll();
    REQUIRE(events.size() == 1);
    CHECK(events[0].first_seen == at_seconds(10000 - 1800));
}

TEST_CASE("duplicated records are one target and never a second event") {
    scan_detector<msg> d(scan_cfg());
    for (int copy = 0; copy < 3; ++copy)
        for (int h = 1; h <= 3; ++h) d.feed(request(h, "192.0.2.1", ("10.1.0." + std::to_string(h)).c_str(), sip_method::options, "1"));
    auto events = d.poll();
    REQUIRE(events.size() == 1);
    CHECK(events[0].targets == 3);
    CHECK(events[0].requests == 9);
    for (int h = 1; h <= 3; ++h) d.feed(request(h, "192.0.2.1", ("10.1.0." + std::to_string(h)).c_str(), sip_method::options, "1"));
    CHECK(d.poll().empty());
}

TEST_CASE("a record dated 1970 or before cannot shorten the training season") {
    proxy_detector<msg> d(proxy_cfg());
    relay(d, "192.0.2.5", 1'700'000'000, 1); // training starts here
    const record_time end = d.season_end();
    CHECK(end == at_seconds(1'700'000'000) + days(1));
    for (double t : {0.0, -86400.0 * 365 * 30, 1.0})
        d.feed(request(t, "192.0.2.99", "192.0.2.20", sip_method::register_, "x"));
    CHECK(d.season_end() == end);
    CHECK(d.stats().late_dropped == 3);
    relay(d, "192.0.2.10", 1'700'000'100, 6); // a proxy inside the season: silent
    CHECK(d.flush().empty());
    CHECK(d.is_learned(ip("192.0.2.10")));
}

TEST_CASE("the first record may be before 1970: the season starts there") {
    proxy_detector<msg> d(proxy_cfg());
    relay(d, "192.0.2.10", -1000, 6);
    CHECK(d.season_end() == at_seconds(-1000) + days(1));
    CHECK(d.flush().empty());
    CHECK(format_rfc3339(at_seconds(-1000)) == "1969-12-31T23:43:20.000000Z");
}

TEST_CASE("with a live clock, far-future records are dropped: no early season end, no flood of expiries") {
    proxy_config c = proxy_cfg();
    c.time_to_death = days(2);
    const double t0 = 1'700'000'000;
    proxy_detector<msg, wall_clock> d(c, wall_clock{at_seconds(t0)});
    relay(d, "192.0.2.10", t0, 6);
    d.clock().set(at_seconds(t0 + 60));
    CHECK(d.flush().empty()); // learned in training
    // Records from next year would end training and expire every learned proxy.
    relay(d, "192.0.2.11", t0 + 86400.0 * 365, 6);
    CHECK(d.stats().future_dropped == 12);
    CHECK(d.watermark() < at_seconds(t0 + 100));
    d.clock().set(at_seconds(t0 + 120));
    CHECK(d.poll().empty());
    CHECK(d.is_learned(ip("192.0.2.10")));
    CHECK_FALSE(d.is_learned(ip("192.0.2.11")));
    CHECK(d.season_end() == at_seconds(t0) + days(1));
    // Within the skew, records are taken, even long after the last poll: the
    // clock is read again when a record looks too far ahead.
    d.clock().set(at_seconds(t0 + 86400 * 3));
    relay(d, "192.0.2.12", t0 + 86400 * 3, 6);
    CHECK(d.stats().future_dropped == 12);
    CHECK(d.flush().size() == 1);
}

TEST_CASE("with a live clock, a far-future record does not end active scans") {
    const double t0 = 1'700'000'000;
    scan_detector<msg, wall_clock> d(scan_cfg(), wall_clock{at_seconds(t0)});
    for (int h = 1; h <= 3; ++h) d.feed(request(t0 + h, "192.0.2.1", ("10.1.0." + std::to_string(h)).c_str(), sip_method::options, "1"));
    d.clock().set(at_seconds(t0 + 5));
    REQUIRE(d.poll().size() == 1);
    d.feed(request(t0 + 86400 * 10, "198.51.100.1", "10.1.0.1", sip_method::options, "1"));
    CHECK(d.stats().future_dropped == 1);
    d.clock().set(at_seconds(t0 + 10));
    CHECK(d.poll().empty()); // the scan is still active
}

TEST_CASE("times outside years 1 to 9999 are malformed") {
    scan_detector<msg> d(scan_cfg());
    msg r = request(0, "192.0.2.1", "10.1.0.1", sip_method::options, "1");
    r.time = record_time::max();
    d.feed(r);
    r.time = record_time::min();
    d.feed(r);
    CHECK(d.stats().malformed_dropped == 2);
    CHECK(d.watermark() == record_time::min());
}

TEST_CASE("a replay clock (left at the epoch) takes records as they come") {
    scan_detector<msg> d(scan_cfg());
    (void)d.poll();
    d.feed(request(1'700'000'000, "192.0.2.1", "10.1.0.1", sip_method::options, "1"));
    d.feed(request(1'900'000'000, "192.0.2.1", "10.1.0.2", sip_method::options, "1"));
    CHECK(d.stats().future_dropped == 0);
}

TEST_CASE("a clock that jumps backwards between polls neither revives nor repeats events") {
    scan_detector<msg> d(scan_cfg());
    for (int h = 1; h <= 3; ++h) d.feed(request(h, "192.0.2.1", ("10.1.0." + std::to_string(h)).c_str(), sip_method::options, "1"));
    d.clock().set(at_seconds(7200));
    auto events = d.poll();
    REQUIRE(events.size() == 2); // start and end
    d.clock().set(at_seconds(100)); // back in time
    CHECK(d.poll().empty());
    // New evidence at the old time is a new scan, not the old one revived.
    d.clock().set(at_seconds(0));
    for (int h = 4; h <= 6; ++h) d.feed(request(7000 + h, "192.0.2.1", ("10.1.0." + std::to_string(h)).c_str(), sip_method::options, "1"));
    events = d.poll();
    REQUIRE(events.size() == 1);
    CHECK(events[0].phase == scan_phase::start);
    CHECK(events[0].id == 2);

    proxy_detector<msg> p(proxy_cfg());
    relay(p, "192.0.2.10", 0, 6);
    p.clock().set(at_seconds(86400 * 3));
    relay(p, "192.0.2.11", 86400 * 2, 6);
    p.clock().set(at_seconds(86400 * 2 + 100));
    auto proxies = p.poll();
    REQUIRE(proxies.size() == 1);
    p.clock().set(at_seconds(0));
    CHECK(p.poll().empty());
    CHECK(p.flush().empty());
}

TEST_CASE("due times saturate instead of overflowing, whatever the time and the duration") {
    using detail::later_by;
    const record_time t = at_seconds(100);
    CHECK(later_by(t, 1h) == t + 1h);
    CHECK(later_by(t, record_duration::zero()) == t);
    CHECK(later_by(record_time::max(), 1h) == record_time::max());
    CHECK(later_by(record_time::max() - 1h, 1h) == record_time::max());
    CHECK(later_by(record_time::max() - 2h, 1h) == record_time::max() - 1h);
    CHECK(later_by(t, record_duration::max()) == record_time::max());
    CHECK(later_by(record_time::min(), record_duration::max()) == record_time::min() + record_duration::max());
    static_assert(later_by(record_time::max(), record_duration::max()) == record_time::max());
}
