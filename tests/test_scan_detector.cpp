// SIPSCAN rules, one test per rule.
#include "catch.hpp"
#include "test_support.hpp"

#include <sipdetect/scan_detector.hpp>

#include <algorithm>

using namespace sipdetect;
using detector = scan_detector<msg>;

namespace {

scan_config with_threshold(std::uint32_t t) {
    scan_config c;
    c.threshold = t;
    return c;
}

// n distinct hosts 10.1.0.1.. probed by `client` with one user.
void sweep_hosts(detector& d, const char* client, int n, sip_method m = sip_method::options, double t0 = 0) {
    for (int i = 1; i <= n; ++i) {
        const std::string host = "10.1.0." + std::to_string(i);
        d.feed(request(t0 + i, client, host.c_str(), m, "100"));
    }
}

} // namespace

TEST_CASE("threshold edge: one target short is quiet, the threshold starts a scan") {
    detector d(with_threshold(5));
    sweep_hosts(d, "192.0.2.1", 4);
    CHECK(d.poll().empty());
    d.feed(request(10, "192.0.2.1", "10.1.0.5", sip_method::options, "100"));
    const auto events = d.poll();
    REQUIRE(events.size() == 1);
    CHECK(events[0].phase == scan_phase::start);
    CHECK(events[0].source == ip("192.0.2.1"));
    CHECK(events[0].submethod == scan_submethod::options);
    CHECK(events[0].targets == 5);
    CHECK(events[0].hosts == 5);
    CHECK(events[0].users == 1);
    CHECK(events[0].kind == scan_kind::horizontal);
    CHECK(events[0].first_seen == at_seconds(1));
    CHECK(events[0].last_seen == at_seconds(10));
}

TEST_CASE("repeating one target never counts twice") {
    detector d(with_threshold(2));
    for (int i = 0; i < 100; ++i) d.feed(request(i, "192.0.2.1", "10.1.0.1", sip_method::register_, "alice"));
    CHECK(d.poll().empty());
}

TEST_CASE("a target is host, port and user") {
    detector d(with_threshold(3));
    d.feed(request(1, "192.0.2.1", "10.1.0.1", sip_method::invite, "100", 5060));
    d.feed(request(2, "192.0.2.1", "10.1.0.1", sip_method::invite, "100", 5061));
    d.feed(request(3, "192.0.2.1", "10.1.0.1", sip_method::invite, "101", 5060));
    const auto events = d.poll();
    REQUIRE(events.size() == 1);
    CHECK(events[0].hosts == 1);
    CHECK(events[0].users == 2);
    CHECK(events[0].targets == 3);
}

TEST_CASE("each submethod is switchable and counted separately") {
    scan_config c = with_threshold(3);
    c.options_scan = false;
    detector d(c);
    sweep_hosts(d, "192.0.2.1", 3, sip_method::options);
    CHECK(d.poll().empty());
    sweep_hosts(d, "192.0.2.1", 3, sip_method::invite);
    sweep_hosts(d, "192.0.2.1", 3, sip_method::register_);
    auto events = d.poll();
    REQUIRE(events.size() == 2);
    CHECK(events[0].submethod == scan_submethod::invite);
    CHECK(events[1].submethod == scan_submethod::register_);

    c = with_threshold(3);
    c.register_scan = false;
    c.invite_scan = false;
    detector only_options(c);
    sweep_hosts(only_options, "192.0.2.1", 3, sip_method::register_);
    sweep_hosts(only_options, "192.0.2.1", 3, sip_method::invite);
    CHECK(only_options.poll().empty());
    sweep_hosts(only_options, "192.0.2.1", 3, sip_method::options);
    CHECK(only_options.poll().size() == 1);
}

TEST_CASE("methods outside the three submethods never count") {
    detector d(with_threshold(2));
    for (auto m : {sip_method::bye, sip_method::ack, sip_method::subscribe, sip_method::unknown})
        sweep_hosts(d, "192.0.2.1", 5, m);
    CHECK(d.poll().empty());
    // A record type may hand over any byte as its method: values past the
    // enum, including those equal to REGISTER, OPTIONS or INVITE modulo 16,
    // are no submethod.
    for (int m : {16 + 5, 16 + 6, 16 + 1, 255})
        sweep_hosts(d, "192.0.2.2", 5, static_cast<sip_method>(m));
    CHECK(d.poll().empty());
    CHECK(d.stats().requests == 0);
    CHECK(d.stats().tracked == 0);
}

TEST_CASE("two targets below threshold across submethods do not add up") {
    detector d(with_threshold(3));
    sweep_hosts(d, "192.0.2.1", 2, sip_method::options);
    sweep_hosts(d, "192.0.2.1", 2, sip_method::register_);
    CHECK(d.poll().empty());
}

TEST_CASE("vertical and mixed kinds") {
    detector d(with_threshold(4));
    for (int u = 0; u < 6; ++u)
        d.feed(request(u, "192.0.2.1", "10.9.9.9", sip_method::register_, std::to_string(100 + u)));
    auto events = d.poll();
    REQUIRE(events.size() == 1);
    CHECK(events[0].kind == scan_kind::vertical);
    CHECK(events[0].hosts == 1);
    CHECK(events[0].users == 6);

    detector m(with_threshold(4));
    for (int h = 1; h <= 4; ++h)
        for (int u = 0; u < 4; ++u)
            m.feed(request(h * 10 + u, "192.0.2.2", ("10.2.0." + std::to_string(h)).c_str(), sip_method::invite,
                           std::to_string(200 + u)));
    events = m.poll();
    REQUIRE(events.size() == 1);
    CHECK(events[0].kind == scan_kind::mixed);
    CHECK(events[0].hosts == 4);
    CHECK(events[0].users == 4);
    CHECK(events[0].targets == 16);
}

TEST_CASE("lifecycle: start once, rate-limited updates, end after inactivity") {
    scan_config c = with_threshold(3);
    c.update_interval = std::chrono::minutes(10);
    c.event_idle_timeout = std::chrono::minutes(30);
    detector d(c);
    sweep_hosts(d, "192.0.2.1", 3);
    auto events = d.poll();
    REQUIRE(events.size() == 1);
    CHECK(events[0].phase == scan_phase::start);
    const auto id = events[0].id;

    // New evidence one minute later: within the update interval, no event.
    d.feed(request(60, "192.0.2.1", "10.1.0.4", sip_method::options, "100"));
    CHECK(d.poll().empty());
    // Eleven minutes after the start: one update with the new totals.
    d.feed(request(11 * 60, "192.0.2.1", "10.1.0.5", sip_method::options, "100"));
    events = d.poll();
    REQUIRE(events.size() == 1);
    CHECK(events[0].phase == scan_phase::update);
    CHECK(events[0].id == id);
    CHECK(events[0].targets == 5);
    // No evidence, no update.
    d.clock().set(at_seconds(22 * 60));
    CHECK(d.poll().empty());
    // Thirty minutes after the last request: the end, with the totals.
    d.clock().set(at_seconds(11 * 60 + 30 * 60));
    events = d.poll();
    REQUIRE(events.size() == 1);
    CHECK(events[0].phase == scan_phase::end);
    CHECK(events[0].id == id);
    CHECK(events[0].targets == 5);
    CHECK(events[0].requests == 5);
    CHECK(d.poll().empty());

    // The same source scanning again later is a new scan with a new id.
    sweep_hosts(d, "192.0.2.1", 3, sip_method::options, 10000);
    events = d.poll();
    REQUIRE(events.size() == 1);
    CHECK(events[0].phase == scan_phase::start);
    CHECK(events[0].id != id);
}

TEST_CASE("end follows record time when records keep coming from others") {
    scan_config c = with_threshold(3);
    c.event_idle_timeout = std::chrono::minutes(30);
    detector d(c);
    sweep_hosts(d, "192.0.2.1", 3);
    CHECK(d.poll().size() == 1);
    d.feed(request(40 * 60, "198.51.100.1", "10.1.0.1", sip_method::options, "100"));
    const auto events = d.poll();
    REQUIRE(events.size() == 1);
    CHECK(events[0].phase == scan_phase::end);
}

TEST_CASE("flush ends active scans and emits pending starts") {
    detector d(with_threshold(3));
    sweep_hosts(d, "192.0.2.1", 3);
    const auto events = d.flush();
    REQUIRE(events.size() == 2);
    CHECK(events[0].phase == scan_phase::start);
    CHECK(events[1].phase == scan_phase::end);
    CHECK(d.flush().empty());
}

TEST_CASE("the start is available at the next poll, before the scan is over") {
    detector d(with_threshold(3));
    sweep_hosts(d, "192.0.2.1", 3);
    CHECK(d.poll().size() == 1);
    sweep_hosts(d, "192.0.2.1", 50, sip_method::options, 3);
    CHECK(d.poll().empty()); // only an update later, never a second start
}

TEST_CASE("both response orientations record the same answers") {
    for (bool biflow : {false, true}) {
        detector d(with_threshold(3));
        const char* users[] = {"6000", "6001", "6002"};
        double t = 0;
        for (const char* u : users) {
            const msg req = request(++t, "147.32.77.113", "195.113.172.39", sip_method::register_, u);
            d.feed(req);
            const std::uint16_t status = std::string(u) == "6001" ? 200 : 401;
            d.feed(biflow ? response_biflow(req, t + 0.1, status) : response(req, t + 0.1, status));
        }
        const auto events = d.poll();
        REQUIRE(events.size() == 1);
        const auto& sample = events[0].sample;
        // The first target (6000) counts but is not in the sample (README "Events").
        REQUIRE(sample.size() == 2);
        CHECK(sample[0].user == "6001");
        CHECK(sample[0].answered_success);
        CHECK(sample[0].status == 200);
        CHECK(sample[1].user == "6002");
        CHECK(sample[1].status == 401);
        CHECK(sample[1].answered_failure);
        CHECK_FALSE(sample[1].answered_success);
        CHECK(events[0].successful_targets == 1);
        CHECK(events[0].failed_targets == 2);
    }
}

TEST_CASE("unanswered targets are reported as such") {
    detector d(with_threshold(2));
    sweep_hosts(d, "192.0.2.1", 2);
    const auto events = d.poll();
    REQUIRE(events.size() == 1);
    for (const auto& t : events[0].sample) {
        CHECK_FALSE(t.answered_success);
        CHECK_FALSE(t.answered_failure);
        CHECK(t.status == 0);
    }
}

TEST_CASE("IPv6 requesters and responders") {
    detector d(with_threshold(3));
    for (int i = 1; i <= 3; ++i)
        d.feed(request(i, "2001:db8::66", ("2001:db8:1::" + std::to_string(i)).c_str(), sip_method::options, "100"));
    const auto events = d.poll();
    REQUIRE(events.size() == 1);
    CHECK(events[0].source.to_string() == "2001:db8::66");
    REQUIRE(events[0].sample.size() == 2);
    CHECK(events[0].sample[1].host.to_string() == "2001:db8:1::3");
}

TEST_CASE("the destination filter restricts which responders count") {
    scan_config c = with_threshold(3);
    c.destination_filter = prefix_set::parse("10.1.0.0/30");
    detector d(c);
    sweep_hosts(d, "192.0.2.1", 6); // only 10.1.0.1-3 are inside the filter
    auto events = d.poll();
    REQUIRE(events.size() == 1);
    CHECK(events[0].hosts == 3);
    CHECK(d.stats().filtered == 3);

    c.destination_filter = prefix_set::parse("10.7.0.0/16");
    detector quiet(c);
    sweep_hosts(quiet, "192.0.2.1", 6);
    CHECK(quiet.poll().empty());
}

TEST_CASE("relayed requests (two or more Via) are not the relay's own probing") {
    detector d(with_threshold(3));
    for (int u = 0; u < 10; ++u) {
        msg r = request(u, "127.0.0.10", "127.0.0.20", sip_method::invite, std::to_string(100 + u));
        r.via_count = 2;
        d.feed(r);
    }
    CHECK(d.poll().empty());
    CHECK(d.stats().relayed_ignored == 10);

    scan_config c = with_threshold(3);
    c.ignore_relayed = false;
    detector attributing(c);
    for (int u = 0; u < 10; ++u) {
        msg r = request(u, "127.0.0.10", "127.0.0.20", sip_method::invite, std::to_string(100 + u));
        r.via_count = 2;
        attributing.feed(r);
    }
    CHECK(attributing.poll().size() == 1);
}

TEST_CASE("registrations that succeed (401 then 200) are not enumeration") {
    detector d(with_threshold(5));
    double t = 0;
    for (int u = 0; u < 20; ++u) {
        const msg first = request(t += 1, "127.0.0.10", "127.0.0.20", sip_method::register_, "user" + std::to_string(u));
        d.feed(first);
        d.feed(response(first, t + 0.01, 401));
        d.feed(first); // re-sent with credentials
        d.feed(response(first, t + 0.02, 200));
    }
    CHECK(d.poll().empty());
}

TEST_CASE("OPTIONS and INVITE answered 200 are still scans: the 200 is what the scanner looks for") {
    for (auto m : {sip_method::options, sip_method::invite}) {
        detector d(with_threshold(5));
        for (int h = 1; h <= 6; ++h) {
            const msg r = request(h, "203.0.113.66", ("10.1.0." + std::to_string(h)).c_str(), m, "100");
            d.feed(r);
            d.feed(response(r, h + 0.01, 200));
        }
        const auto events = d.poll();
        REQUIRE(events.size() == 1);
        CHECK(events[0].targets == 6);
        CHECK(events[0].successful_targets == 6);
    }
}

TEST_CASE("a scan whose targets mostly fail is reported even if some succeed") {
    detector d(with_threshold(5));
    double t = 0;
    for (int u = 0; u < 10; ++u) {
        const msg r = request(t += 1, "203.0.113.5", "10.1.1.1", sip_method::register_, std::to_string(100 + u));
        d.feed(r);
        d.feed(response(r, t + 0.01, u < 3 ? 200 : 404));
    }
    const auto events = d.poll();
    REQUIRE(events.size() == 1);
    CHECK(events[0].successful_targets == 3);
    CHECK(events[0].failed_targets == 7);
}

TEST_CASE("the scanner tool is named from its user agent") {
    detector d(with_threshold(2));
    msg a = request(1, "192.0.2.1", "10.1.0.1", sip_method::options, "100");
    a.user_agent = "friendly-scanner";
    msg b = request(2, "192.0.2.1", "10.1.0.2", sip_method::options, "100");
    b.user_agent = "friendly-scanner";
    d.feed(a);
    d.feed(b);
    const auto events = d.poll();
    REQUIRE(events.size() == 1);
    CHECK(events[0].tool == "sipvicious");
    REQUIRE(events[0].user_agents.size() == 1);
    CHECK(events[0].user_agents[0] == "friendly-scanner");
}

TEST_CASE("sundayddr is named from its From user, also when the From changes mid-scan") {
    // The From user is checked again whenever the From differs from the
    // request before (the scan keeps the hash of the last From seen).
    for (int switch_at : {0, 3, 7}) {
        detector d(with_threshold(2));
        for (int h = 0; h < 8; ++h) {
            msg r = request(h + 1, "192.0.2.9", ("10.1.0." + std::to_string(h + 1)).c_str(), sip_method::invite,
                            "100");
            r.from_uri = h >= switch_at ? "\"x\" <sip:sipsscuser@192.0.2.9>;tag=1" : "sip:caller@192.0.2.9";
            r.user_agent = "Asterisk PBX";
            d.feed(r);
        }
        const auto events = d.poll();
        REQUIRE(events.size() == 1);
        CHECK(events[0].tool == "sundayddr");
    }
    detector plain(with_threshold(2));
    for (int h = 0; h < 4; ++h) {
        msg r = request(h + 1, "192.0.2.9", ("10.1.0." + std::to_string(h + 1)).c_str(), sip_method::invite, "100");
        r.from_uri = "sip:sipsscuser2@192.0.2.9";
        plain.feed(r);
    }
    const auto events = plain.poll();
    REQUIRE(events.size() == 1);
    CHECK(events[0].tool.empty());
}

TEST_CASE("user agents are bounded in number and length") {
    detector d(with_threshold(2));
    for (int i = 0; i < 50; ++i) {
        msg r = request(i, "192.0.2.1", ("10.1.0." + std::to_string(i % 200 + 1)).c_str(), sip_method::options, "1");
        r.user_agent = std::string(1000, static_cast<char>('a' + i % 26)) + std::to_string(i);
        d.feed(r);
    }
    const auto events = d.poll();
    REQUIRE(events.size() == 1);
    CHECK(events[0].user_agents.size() == 4);
    for (const auto& ua : events[0].user_agents) CHECK(ua.size() == user_agent_cap);
}

TEST_CASE("the 20 targets after the first are attached, in order") {
    detector d(with_threshold(30));
    sweep_hosts(d, "192.0.2.1", 40);
    const auto events = d.poll();
    REQUIRE(events.size() == 1);
    REQUIRE(events[0].sample.size() == 20);
    for (int i = 0; i < 20; ++i) CHECK(events[0].sample[static_cast<std::size_t>(i)].host.to_string() == "10.1.0." + std::to_string(i + 2));
}

TEST_CASE("at threshold 1 the only target is attached") {
    detector d(with_threshold(1));
    sweep_hosts(d, "192.0.2.1", 1);
    const auto events = d.poll();
    REQUIRE(events.size() == 1);
    REQUIRE(events[0].sample.size() == 1);
    CHECK(events[0].sample[0].host.to_string() == "10.1.0.1");
}

TEST_CASE("counts saturate at max_distinct instead of growing") {
    scan_config c = with_threshold(10);
    c.max_distinct = 16;
    detector d(c);
    for (int i = 0; i < 1000; ++i)
        d.feed(request(i, "192.0.2.1", ("10.3." + std::to_string(i / 250) + "." + std::to_string(i % 250 + 1)).c_str(),
                       sip_method::options, "100"));
    const auto events = d.flush();
    REQUIRE(events.size() == 2);
    CHECK(events[1].targets == 16);
    CHECK(events[1].hosts == 16);
    CHECK(events[1].counts_saturated);
    CHECK(events[1].requests == 1000);
}

TEST_CASE("empty and over-long strings") {
    detector d(with_threshold(2));
    d.feed(request(1, "192.0.2.1", "10.1.0.1", sip_method::register_, "first"));
    const std::string long_user(70000, 'A');
    d.feed(request(2, "192.0.2.1", "10.1.0.1", sip_method::register_, long_user + "0"));
    msg empty = request(3, "192.0.2.1", "10.1.0.1", sip_method::register_, "x");
    empty.to_uri.clear();
    empty.request_uri.clear();
    empty.from_uri.clear();
    d.feed(empty);
    for (int i = 1; i < 3; ++i) d.feed(request(3 + i, "192.0.2.1", "10.1.0.1", sip_method::register_, long_user + std::to_string(i)));
    const auto events = d.poll();
    REQUIRE(events.size() == 1);
    // Users longer than 256 bytes are identified by their prefix: the three collapse into one.
    CHECK(events[0].targets == 3);
    REQUIRE(events[0].sample.size() == 2);
    CHECK(events[0].sample[0].user.size() == scan_user_cap);
    CHECK(events[0].sample[1].user.empty());
}

TEST_CASE("late and backwards record times keep first_seen and last_seen honest") {
    detector d(with_threshold(3));
    d.feed(request(100, "192.0.2.1", "10.1.0.1", sip_method::options, "100"));
    d.feed(request(50, "192.0.2.1", "10.1.0.2", sip_method::options, "100"));
    d.feed(request(75, "192.0.2.1", "10.1.0.3", sip_method::options, "100"));
    const auto events = d.poll();
    REQUIRE(events.size() == 1);
    CHECK(events[0].first_seen == at_seconds(50));
    CHECK(events[0].last_seen == at_seconds(100));
    CHECK(d.watermark() == at_seconds(100));
}

TEST_CASE("responses with impossible status codes are counted and dropped") {
    detector d(with_threshold(3));
    const msg req = request(1, "192.0.2.1", "10.1.0.1", sip_method::options, "100");
    d.feed(req);
    d.feed(response(req, 2, 999));
    d.feed(response(req, 2, 42));
    CHECK(d.stats().malformed_dropped == 2);
}

TEST_CASE("idle sources below the threshold are forgotten") {
    scan_config c = with_threshold(3);
    c.source_idle_timeout = std::chrono::hours(1);
    detector d(c);
    sweep_hosts(d, "192.0.2.1", 2);
    CHECK(d.stats().tracked == 1);
    d.clock().set(at_seconds(2 * 3600));
    CHECK(d.poll().empty());
    CHECK(d.stats().tracked == 0);
    CHECK(d.stats().sources_expired == 1);
    // The old two targets are gone, so one more does not complete a scan.
    d.feed(request(2 * 3600 + 1, "192.0.2.1", "10.1.0.3", sip_method::options, "100"));
    CHECK(d.poll().empty());
}

TEST_CASE("a slow scan adds up across long pauses") {
    detector d; // defaults: threshold 20, six hours of memory, one hour of event inactivity
    std::vector<scan_event> events;
    for (int i = 0; i < 25; ++i) {
        // One REGISTER every 25 minutes: 10 hours in all.
        d.feed(request(i * 25.0 * 60, "199.105.226.32", "10.0.0.1", sip_method::register_, std::to_string(10 + i)));
        for (auto& e : d.poll()) events.push_back(std::move(e));
    }
    for (auto& e : d.flush()) events.push_back(std::move(e));
    // One scan: a start at the 20th extension, an update per new extension
    // (25 minutes apart, beyond the update interval), one end.
    REQUIRE(events.size() == 7);
    CHECK(events.front().phase == scan_phase::start);
    CHECK(events.front().kind == scan_kind::vertical);
    CHECK(events.front().targets == 20);
    for (std::size_t i = 1; i + 1 < events.size(); ++i) CHECK(events[i].phase == scan_phase::update);
    CHECK(events.back().phase == scan_phase::end);
    CHECK(events.back().targets == 25);
    for (const auto& e : events) CHECK(e.id == events.front().id);
}

TEST_CASE("eviction at max_tracked keeps active scans and counts what it pushed out") {
    scan_config c = with_threshold(3);
    c.max_tracked = 64;
    detector d(c);
    sweep_hosts(d, "192.0.2.1", 5);
    CHECK(d.poll().size() == 1);
    for (std::uint32_t i = 0; i < 10000; ++i) {
        msg r = request(10 + i * 0.001, "1.1.1.1", "10.9.0.1", sip_method::options, "100");
        r.src = ip_address::from_v4(0x0b000000u + i);
        d.feed(r);
    }
    const auto s = d.stats();
    CHECK(s.tracked <= 64);
    CHECK(s.sources_evicted + s.sources_rejected >= 10000 - 63);
    // The scanner was not pushed out: its next target still belongs to the same scan.
    d.feed(request(100, "192.0.2.1", "10.1.0.99", sip_method::options, "100"));
    const auto events = d.flush();
    REQUIRE(events.size() == 1);
    CHECK(events[0].phase == scan_phase::end);
    CHECK(events[0].targets == 6);
}

TEST_CASE("configuration is validated") {
    scan_config c;
    c.threshold = 0;
    CHECK_THROWS_AS(detector(c), config_error);
    c = scan_config{};
    c.threshold = 300;
    CHECK_THROWS_AS(detector(c), config_error);
    c = scan_config{};
    c.max_success_share = 1.5;
    CHECK_THROWS_AS(detector(c), config_error);
    c = scan_config{};
    c.max_tracked = 0;
    CHECK_THROWS_AS(detector(c), config_error);
    c.max_tracked = (std::size_t{1} << 30) + 1; // beyond the table's 32-bit positions with room to grow
    CHECK_THROWS_AS(detector(c), config_error);
    c.max_tracked = std::size_t{1} << 30;
    CHECK_NOTHROW(detector(c));
}

TEST_CASE("a stateful clock object drives poll()") {
    struct counting_clock {
        int* calls;
        record_time now() const {
            ++*calls;
            return at_seconds(1e6);
        }
    };
    int calls = 0;
    scan_detector<msg, counting_clock> d(with_threshold(3), counting_clock{&calls});
    for (int i = 1; i <= 3; ++i) d.feed(request(i, "192.0.2.1", ("10.1.0." + std::to_string(i)).c_str(), sip_method::options, "1"));
    CHECK(calls == 1); // a live clock is read once on the first record, for the far-future rule
    const auto events = d.poll();
    CHECK(calls == 2);
    REQUIRE(events.size() == 2); // the clock is far past the idle timeout: start and end
    CHECK(events[1].phase == scan_phase::end);
}

TEST_CASE("system_clock works for live use") {
    scan_detector<msg, std::chrono::system_clock> d(with_threshold(3));
    const double now = static_cast<double>(std::chrono::duration_cast<std::chrono::seconds>(
                           std::chrono::system_clock::now().time_since_epoch()).count());
    for (int i = 1; i <= 3; ++i)
        d.feed(request(now + i, "192.0.2.1", ("10.1.0." + std::to_string(i)).c_str(), sip_method::options, "1"));
    const auto events = d.poll();
    REQUIRE(events.size() == 1);
    CHECK(events[0].phase == scan_phase::start);
}

TEST_CASE("replaying the same records gives the same events, whatever the wall time") {
    auto run = [] {
        detector d(with_threshold(4));
        std::vector<scan_event> all;
        for (int i = 0; i < 200; ++i) {
            d.feed(request(i * 7.0, ("192.0.2." + std::to_string(i % 3 + 1)).c_str(),
                           ("10.4.0." + std::to_string(i % 17 + 1)).c_str(), sip_method::invite, std::to_string(i % 5)));
            if (i % 10 == 0)
                for (auto& e : d.poll()) all.push_back(std::move(e));
        }
        for (auto& e : d.flush()) all.push_back(std::move(e));
        return all;
    };
    const auto a = run();
    const auto b = run();
    CHECK(a.size() >= 3);
    CHECK(a == b);
}

TEST_CASE("known scanner tools are matched in any case, within the first 256 bytes of the agent") {
    using detail::match_scanner_tool;
    using detail::scanner_tool_name;
    CHECK(scanner_tool_name(match_scanner_tool("Friendly-Scanner", "")) == "sipvicious");
    CHECK(scanner_tool_name(match_scanner_tool("PPLSIP", "")) == "sippts");
    CHECK(scanner_tool_name(match_scanner_tool("x sipcli/v1.8 y", "")) == "sipcli");
    CHECK(scanner_tool_name(match_scanner_tool("", "sipsscuser")) == "sundayddr");
    CHECK(match_scanner_tool("Yealink SIP-T46S 66.86.0.15", "alice") == 0);
    CHECK(match_scanner_tool("", "") == 0);
    const std::string pad(250, 'x');
    CHECK(scanner_tool_name(match_scanner_tool(pad + "xsivus", "")) == "sivus"); // bytes 251-255
    CHECK(match_scanner_tool(pad + "xxsivus", "") == 0);                         // its last byte is the 257th
    static_assert(match_scanner_tool("SIPVicious", "") != 0);
}

TEST_CASE("a moved detector keeps its state, and the moved-from one is empty and usable") {
    detector d(with_threshold(5));
    sweep_hosts(d, "192.0.2.1", 5);
    detector moved(std::move(d));
    CHECK(moved.stats().tracked == 1);
    const auto events = moved.poll();
    REQUIRE(events.size() == 1);
    CHECK(events[0].targets == 5);

    // The moved-from table has no entries and takes new ones, also the key it
    // gave away: its probes must not find that key in the index it gave away
    // (ASan checks them).
    CHECK(d.stats().tracked == 0); // NOLINT(bugprone-use-after-move)
    sweep_hosts(d, "192.0.2.1", 2, sip_method::options, 20);
    CHECK(d.stats().tracked == 1);
    CHECK(d.poll().empty());
    d = std::move(moved);
    CHECK(d.stats().tracked == 1);
    CHECK(moved.stats().tracked == 0); // NOLINT(bugprone-use-after-move)
    sweep_hosts(moved, "192.0.2.1", 2, sip_method::options, 40);
    CHECK(moved.stats().tracked == 1);
}
