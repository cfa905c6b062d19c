// SIPPROXY rules, one test per rule.
#include "catch.hpp"
#include "test_support.hpp"

#include <sipdetect/proxy_detector.hpp>
#include <sipdetect/scan_detector.hpp>

#include <algorithm>
#include <span>
#include <string>
#include <vector>

using namespace sipdetect;
using detector = proxy_detector<msg>;
using namespace std::chrono_literals;

namespace {

proxy_config quick(std::uint32_t min_uris = 5, record_duration season = 0s) {
    proxy_config c;
    c.min_uris = min_uris;
    c.closed_season = season;
    return c;
}

// `proxy` sends one INVITE per user to `next_hop`, each answered 200 after 50 ms.
void relay_users(detector& d, const char* proxy, const char* next_hop, int users, double t0, unsigned via = 2,
                 bool answered = true, const char* prefix = "user") {
    for (int u = 0; u < users; ++u) {
        msg r = request(t0 + u, proxy, next_hop, sip_method::invite, "900");
        r.from_uri = "sip:" + std::string(prefix) + std::to_string(u) + "@example.net";
        r.via_count = via;
        d.feed(r);
        if (answered) d.feed(response(r, t0 + u + 0.05, 200));
    }
}

} // namespace

TEST_CASE("a source sending for the minimum of distinct From URIs is a proxy") {
    detector d(quick(5));
    relay_users(d, "192.0.2.10", "192.0.2.20", 4, 0);
    d.clock().set(at_seconds(1000));
    CHECK(d.poll().empty());
    relay_users(d, "192.0.2.10", "192.0.2.20", 5, 100);
    d.clock().set(at_seconds(2000));
    const auto events = d.poll();
    REQUIRE(events.size() == 1);
    const proxy_event& e = events[0];
    CHECK(e.source == ip("192.0.2.10"));
    CHECK(e.uris == 5);
    CHECK(e.first_seen == at_seconds(0));
    CHECK(e.detected_at == at_seconds(104 + 32)); // the fifth URI plus the answer grace
    REQUIRE(e.peers.size() == 1);
    CHECK(e.peers[0] == ip("192.0.2.20"));
    CHECK(e.min_via == 2);
    CHECK(e.max_via == 2);
    CHECK(e.answers_judged);
    // Samples start once the source outgrows a phone's single URI: phones keep no strings.
    REQUIRE(e.uri_sample.size() == 4);
    CHECK(e.uri_sample[0] == "sip:user1@example.net");
    CHECK(e.uri_sample[3] == "sip:user4@example.net");
    CHECK(d.is_learned(ip("192.0.2.10")));
    // Learned proxies are reported once.
    relay_users(d, "192.0.2.10", "192.0.2.20", 50, 3000, 2, true, "more");
    d.clock().set(at_seconds(9000));
    CHECK(d.poll().empty());
}

TEST_CASE("phones with a few URIs are not proxies") {
    detector d(quick(5));
    for (int phone = 1; phone <= 14; ++phone)
        relay_users(d, ("127.0.0." + std::to_string(30 + phone)).c_str(), "127.0.0.10", 2 + phone % 3, phone * 10, 1);
    CHECK(d.flush().empty());
    CHECK(d.stats().candidates == 14);
}

TEST_CASE("distinct URIs are counted up to max_distinct, then the count is saturated and stops growing") {
    proxy_config config = quick(5);
    config.answer_grace = std::chrono::hours(2); // the verdict comes after all 4000 requests
    detector d(config);
    relay_users(d, "192.0.2.10", "192.0.2.20", 4000, 0, 2, false);
    const auto s = d.stats();
    CHECK(s.candidates + s.proxies == 1);
    CHECK(s.memory_bytes < 64 * 1024);
    const auto events = d.flush();
    REQUIRE(events.size() == 1);
    CHECK(events[0].uris == 256);
    CHECK(events[0].counts_saturated);

    detector few(config);
    relay_users(few, "192.0.2.10", "192.0.2.20", 15, 0, 2, false);
    const auto relayed = few.flush();
    REQUIRE(relayed.size() == 1);
    CHECK(relayed[0].uris == 15); // the true count, not the minimum of 5
    CHECK_FALSE(relayed[0].counts_saturated);

    config.max_distinct = 4;
    CHECK_THROWS_WITH(detector(config), Catch::Contains("min_uris 5 exceeds max_distinct 4"));
}

TEST_CASE("ClosedSeason: proxies found in training are learned silently, and the boundary belongs to after") {
    detector d(quick(5, 1h));
    relay_users(d, "192.0.2.1", "192.0.2.20", 1, 0); // training starts at t = 0
    // Crosses at t = 3599, one second before the end: learned silently.
    relay_users(d, "192.0.2.10", "192.0.2.20", 5, 3595);
    // Crosses exactly at t = 3600: after training, an event.
    relay_users(d, "192.0.2.11", "192.0.2.20", 5, 3596);
    d.clock().set(at_seconds(10000));
    const auto events = d.poll();
    REQUIRE(events.size() == 1);
    CHECK(events[0].source == ip("192.0.2.11"));
    CHECK(d.is_learned(ip("192.0.2.10")));
    CHECK(d.stats().learned_in_training == 1);
    CHECK(d.season_end() == at_seconds(3600));
}

TEST_CASE("learned_proxies() lists the baseline, in address order, with when and how each was learned") {
    detector d(quick(5, 1h));
    relay_users(d, "192.0.2.20", "192.0.2.30", 5, 0);    // crosses at t = 4, in training
    relay_users(d, "192.0.2.10", "192.0.2.30", 5, 4000); // crosses at t = 4004, after it
    d.clock().set(at_seconds(5000));                     // both verdicts are due, each after its answer grace
    REQUIRE(d.poll().size() == 1);
    const std::vector<known_proxy> expected{
        {ip("192.0.2.10"), at_seconds(4000), at_seconds(4004), at_seconds(4004 + 32), false},
        {ip("192.0.2.20"), at_seconds(0), at_seconds(4), at_seconds(4 + 32), true}};
    CHECK(d.learned_proxies() == expected);
    // Forgotten after TimeToDeath (14 days by default).
    d.clock().set(at_seconds(15 * 86400));
    (void)d.poll();
    CHECK(d.learned_proxies().empty());
}

TEST_CASE("ClosedSeason in fractional days") {
    proxy_config c = quick(5);
    c.closed_season = days(0.5);
    detector d(c);
    relay_users(d, "192.0.2.10", "192.0.2.20", 5, 0);
    relay_users(d, "192.0.2.11", "192.0.2.20", 5, 12 * 3600);
    CHECK(d.season_end() == at_seconds(12 * 3600));
    const auto events = d.flush();
    REQUIRE(events.size() == 1);
    CHECK(events[0].source == ip("192.0.2.11"));
}

TEST_CASE("TimeToDeath: an inactive proxy is forgotten and is new again when it returns") {
    proxy_config c = quick(5, 1h);
    c.time_to_death = days(1);
    detector d(c);
    relay_users(d, "192.0.2.10", "192.0.2.20", 5, 0); // learned in training
    CHECK(d.flush().empty());
    CHECK(d.is_learned(ip("192.0.2.10")));
    // Active within TimeToDeath: still known, no event.
    relay_users(d, "192.0.2.10", "192.0.2.20", 5, 20 * 3600);
    CHECK(d.flush().empty());
    // Silent for more than a day, then back: new again.
    relay_users(d, "192.0.2.10", "192.0.2.20", 5, 20 * 3600 + 90000);
    const auto events = d.flush();
    REQUIRE(events.size() == 1);
    CHECK(events[0].source == ip("192.0.2.10"));
    CHECK(d.stats().proxies_expired == 1);
}

TEST_CASE("TimeToDeath expiry also happens at poll") {
    proxy_config c = quick(5);
    c.time_to_death = days(1);
    detector d(c);
    relay_users(d, "192.0.2.10", "192.0.2.20", 5, 0);
    CHECK(d.flush().size() == 1);
    d.clock().set(at_seconds(3 * 86400));
    (void)d.poll();
    CHECK_FALSE(d.is_learned(ip("192.0.2.10")));
    CHECK(d.stats().proxies_expired == 1);
}

TEST_CASE("filter, 12.2 semantics: devices inside the ranges are never detected") {
    proxy_config c = quick(5);
    c.filter = prefix_set::parse("192.0.2.0/24");
    c.filter_mode = proxy_filter_mode::exclude_devices;
    detector d(c);
    relay_users(d, "192.0.2.10", "198.51.100.20", 5, 0);  // inside, sending outside: still excluded
    relay_users(d, "198.51.100.10", "192.0.2.20", 5, 0);  // outside: detected
    const auto events = d.flush();
    REQUIRE(events.size() == 1);
    CHECK(events[0].source == ip("198.51.100.10"));
}

TEST_CASE("filter, 13.0 semantics: communication with both ends inside is ignored") {
    proxy_config c = quick(5);
    c.filter = prefix_set::parse("192.0.2.0/24");
    c.filter_mode = proxy_filter_mode::exclude_internal;
    detector d(c);
    relay_users(d, "192.0.2.10", "192.0.2.20", 5, 0);     // both inside: ignored
    relay_users(d, "192.0.2.11", "198.51.100.20", 5, 0);  // inside to outside: detected
    const auto events = d.flush();
    REQUIRE(events.size() == 1);
    CHECK(events[0].source == ip("192.0.2.11"));
    CHECK(d.stats().filtered == 10); // five requests and their five answers
}

TEST_CASE("IPv6 proxies") {
    detector d(quick(5));
    relay_users(d, "2001:db8::10", "2001:db8::20", 6, 0);
    const auto events = d.flush();
    REQUIRE(events.size() == 1);
    CHECK(events[0].source.to_string() == "2001:db8::10");
    CHECK(events[0].peers[0].to_string() == "2001:db8::20");
}

TEST_CASE("a scanner rotating From users is not a proxy when responses are visible") {
    detector d(quick(5));
    for (int u = 0; u < 259; ++u) {
        msg r = request(u * 10.0, "206.55.185.163", ("10.5.0." + std::to_string(u % 20 + 1)).c_str(),
                        sip_method::register_, std::to_string(u));
        r.from_uri = "sip:" + std::to_string(1000 + u) + "@victim";
        d.feed(r);
        if (u % 3 != 0) d.feed(response(r, u * 10.0 + 0.1, u % 25 == 1 ? 200 : 403)); // a few succeed
    }
    CHECK(d.flush().empty());
    CHECK(d.stats().judged_scanner_like == 1);
    CHECK_FALSE(d.is_learned(ip("206.55.185.163")));
}

TEST_CASE("without any responses in the feed, the URI count alone decides (ADS behaviour)") {
    detector d(quick(5));
    for (int u = 0; u < 20; ++u) {
        msg r = request(u, "206.55.185.163", "10.5.0.1", sip_method::register_, std::to_string(u));
        r.from_uri = "sip:" + std::to_string(1000 + u) + "@victim";
        d.feed(r);
    }
    const auto events = d.flush();
    REQUIRE(events.size() == 1);
    CHECK_FALSE(events[0].answers_judged);
}

TEST_CASE("slow answers: the verdict waits for the answer grace") {
    detector d(quick(5));
    std::vector<msg> sent;
    for (int u = 0; u < 5; ++u) {
        msg r = request(u * 0.01, "192.0.2.10", "192.0.2.20", sip_method::invite, "900");
        r.from_uri = "sip:user" + std::to_string(u) + "@example.net";
        d.feed(r);
        sent.push_back(r);
    }
    d.feed(response(sent[0], 0.5, 404)); // responses are visible in this feed
    for (const msg& r : sent) d.feed(response(r, 10, 200));
    d.clock().set(at_seconds(40));
    const auto events = d.poll();
    REQUIRE(events.size() == 1);
    CHECK(events[0].successes == 5);
}

TEST_CASE("ACKs are not counted as unanswered requests") {
    detector d(quick(5));
    for (int u = 0; u < 5; ++u) {
        msg inv = request(u, "192.0.2.10", "192.0.2.20", sip_method::invite, "900");
        inv.from_uri = "sip:user" + std::to_string(u) + "@example.net";
        d.feed(inv);
        d.feed(response(inv, u + 0.1, 200));
        msg ack = inv;
        ack.method = sip_method::ack;
        ack.time = at_seconds(u + 0.2);
        d.feed(ack);
    }
    const auto events = d.flush();
    REQUIRE(events.size() == 1);
    CHECK(events[0].requests == 5);
    CHECK(events[0].successes == 5);
}

TEST_CASE("the kamailio lab shape: phones, a relaying proxy and a PBX relaying on") {
    proxy_config c = quick(10);
    detector d(c);
    double t = 0;
    int user = 0;
    for (int phone = 0; phone < 14; ++phone) {
        const std::string phone_ip = "127.0.0." + std::to_string(phone < 9 ? 31 + phone : 41 + phone - 9);
        const int users = phone < 4 ? 4 : (phone < 8 ? 3 : 2);
        for (int k = 0; k < users && user < 46; ++k, ++user) {
            // Appended, not "u" + std::to_string(user): at -O3 g++ 12 reports a false -Wrestrict
            // inside libstdc++'s operator+(const char*, std::string&&) (GCC bug 105329).
            std::string name = "u";
            name += std::to_string(user);
            const std::string from = "sip:" + name + "@lab";
            // Phone registers through the proxy: 401, then 200.
            msg reg = request(t += 0.1, phone_ip.c_str(), "127.0.0.10", sip_method::register_, name);
            reg.from_uri = from;
            d.feed(reg);
            d.feed(response(reg, t + 0.01, 401));
            d.feed(response(reg, t + 0.02, 200));
            // The proxy relays it to the PBX with 2 Via.
            msg relayed = reg;
            relayed.src = ip("127.0.0.10");
            relayed.dst = ip("127.0.0.20");
            relayed.via_count = 2;
            d.feed(relayed);
            d.feed(response(relayed, t + 0.015, 401));
            d.feed(response(relayed, t + 0.025, 200));
            // A call: phone -> proxy -> PBX -> gateway .40.
            msg inv = request(t += 0.1, phone_ip.c_str(), "127.0.0.10", sip_method::invite, "gw");
            inv.from_uri = from;
            d.feed(inv);
            d.feed(response(inv, t + 0.05, 200));
            msg inv2 = inv;
            inv2.src = ip("127.0.0.10");
            inv2.dst = ip("127.0.0.20");
            inv2.via_count = 2;
            d.feed(inv2);
            d.feed(response(inv2, t + 0.04, 200));
            msg inv3 = inv;
            inv3.src = ip("127.0.0.20");
            inv3.dst = ip("127.0.0.40");
            inv3.dst_port = 5062;
            inv3.via_count = 3;
            d.feed(inv3);
            d.feed(response(inv3, t + 0.03, 200));
        }
    }
    const auto events = d.flush();
    REQUIRE(events.size() == 2);
    std::vector<std::string> sources{events[0].source.to_string(), events[1].source.to_string()};
    std::sort(sources.begin(), sources.end());
    CHECK(sources == std::vector<std::string>{"127.0.0.10", "127.0.0.20"});
    for (const auto& e : events) {
        CHECK(e.uris == 40); // the true count at the verdict, one answer grace after the tenth
        CHECK_FALSE(e.counts_saturated);
        if (e.source == ip("127.0.0.20")) {
            CHECK(e.max_via == 3);
            CHECK(e.peers == std::vector<ip_address>{ip("127.0.0.40")});
        }
    }
}

TEST_CASE("bounded candidates: eviction is counted") {
    proxy_config c = quick(5);
    c.max_candidates = 32;
    detector d(c);
    for (std::uint32_t i = 0; i < 5000; ++i) {
        msg r = request(i * 0.001, "1.1.1.1", "192.0.2.20", sip_method::register_, "x");
        r.src = ip_address::from_v4(0x0b000000u + i);
        d.feed(r);
    }
    const auto s = d.stats();
    CHECK(s.candidates <= 32);
    CHECK(s.candidates_evicted + s.candidates_rejected == 5000 - 32);
    // A proxy still gets through the pressure.
    relay_users(d, "192.0.2.10", "192.0.2.20", 5, 10);
    CHECK(d.flush().size() == 1);
}

TEST_CASE("bounded proxies: the longest silent is evicted and counted") {
    proxy_config c = quick(5);
    c.max_proxies = 2;
    detector d(c);
    relay_users(d, "192.0.2.1", "192.0.2.20", 5, 0);
    relay_users(d, "192.0.2.2", "192.0.2.20", 5, 100);
    relay_users(d, "192.0.2.3", "192.0.2.20", 5, 200);
    CHECK(d.flush().size() == 3);
    CHECK(d.stats().proxies == 2);
    CHECK(d.stats().proxies_evicted == 1);
    CHECK_FALSE(d.is_learned(ip("192.0.2.1")));
}

TEST_CASE("proxy configuration is validated") {
    proxy_config c;
    c.min_uris = 1;
    CHECK_THROWS_AS(detector(c), config_error);
    c = proxy_config{};
    c.closed_season = -1s;
    CHECK_THROWS_AS(detector(c), config_error);
    c = proxy_config{};
    c.min_success_share = -0.1;
    CHECK_THROWS_AS(detector(c), config_error);
    c = proxy_config{};
    c.max_candidates = (std::size_t{1} << 30) + 1;
    CHECK_THROWS_AS(detector(c), config_error);
    c = proxy_config{};
    c.max_proxies = (std::size_t{1} << 30) + 1;
    CHECK_THROWS_AS(detector(c), config_error);
}

// ---------------------------------------------------------------------------
// Scanners are not proxies.

namespace {

using scan_type = scan_detector<msg>;

scan_config scans_at(std::uint32_t threshold) {
    scan_config c;
    c.threshold = threshold;
    return c;
}

// A request sent at t, and its 200 50 ms later, through both detectors as a collector feeds them.
void feed_both(scan_type& scans, detector& proxies, msg r, double t, bool answered = true) {
    r.time = at_seconds(t);
    std::vector<msg> records{r};
    if (answered) records.push_back(response(r, t + 0.05, 200));
    feed_all(std::span<const msg>(records), scans, proxies);
}

} // namespace

TEST_CASE("a scanner whose From host is its target (svmap -6) is not a proxy, though every probe is answered") {
    detector d(quick(5));
    for (int h = 1; h <= 30; ++h) {
        const std::string target = "fd00:5ec::" + std::to_string(100 + h);
        msg r = request(h, "fd00:5ec::66", target.c_str(), sip_method::options, "100");
        r.from_uri = "\"sipvicious\"<sip:100@[" + target + "]>";
        r.to_uri = r.from_uri;
        r.request_uri = "sip:100@[" + target + "]";
        d.feed(r);
        d.feed(response(r, h + 0.05, 200));
    }
    CHECK(d.flush().empty());
    CHECK(d.stats().candidates == 1);
    CHECK_FALSE(d.is_learned(ip("fd00:5ec::66")));
}

TEST_CASE("a probe whose From user is the called user is not a proxy, and a From host that is the Request-URI host is a domain") {
    detector d(quick(10));
    for (int u = 0; u < 30; ++u) {
        // From user follows the called user (svwar, a SIPp probe), at one host.
        msg by_user = request(u, "192.0.2.78", "192.0.2.101", sip_method::invite, std::to_string(200 + u));
        by_user.from_uri = "sip:" + std::to_string(200 + u) + "@scanner.invalid";
        d.feed(by_user);
        d.feed(response(by_user, u + 0.05, 200));
        // A proxy relaying calls of a domain named by address: From and
        // Request-URI share the host, the relay sends to the next hop.
        msg relayed = request(u + 0.5, "192.0.2.20", "192.0.2.40", sip_method::invite, "900");
        relayed.request_uri = "sip:900@192.0.2.20";
        relayed.from_uri = "<sip:user" + std::to_string(u % 8) + "@192.0.2.20>";
        relayed.via_count = 3;
        d.feed(relayed);
        d.feed(response(relayed, u + 0.55, 200));
        msg bye = relayed; // in-dialog: the Request-URI is the callee's contact
        bye.method = sip_method::bye;
        bye.request_uri = "sip:900@192.0.2.40:5062";
        bye.time = at_seconds(u + 0.7);
        d.feed(bye);
    }
    const auto events = d.flush();
    CHECK(events.empty()); // 8 users are below the minimum of 10, whatever their requests' Request-URIs
    CHECK(d.stats().proxies == 0);
}

TEST_CASE("proxies whose users' From names the next hop's address are still proxies") {
    detector d(quick(10));
    for (int u = 0; u < 20; ++u) {
        // Phones configured with the registrar's address as their domain: each From host is the destination.
        const std::string user = "u" + std::to_string(u);
        msg reg = request(u, "192.0.2.10", "192.0.2.20", sip_method::register_, user);
        reg.via_count = 2;
        d.feed(reg); // From == To: a REGISTER's From user is its To user by design
        d.feed(response(reg, u + 0.05, 200));
        msg inv = request(u + 0.5, "192.0.2.10", "192.0.2.20", sip_method::invite, "900");
        inv.from_uri = "sip:" + user + "@192.0.2.20";
        inv.via_count = 2;
        d.feed(inv);
        d.feed(response(inv, u + 0.55, 200));
    }
    const auto events = d.flush();
    REQUIRE(events.size() == 1);
    CHECK(events[0].source == ip("192.0.2.10"));
    CHECK(events[0].uris == 20);
    CHECK(events[0].uri_sample[0] == "sip:u1@192.0.2.20"); // samples keep the URIs as sent
}

TEST_CASE("linked to SIPSCAN: a source it holds as a scanner is not a proxy, and is forgotten") {
    // A scanner rotating From users over 30 hosts that all answer 200: by
    // URIs and answers alone it looks like a proxy.
    const auto probe = [](int h) {
        msg r = request(0, "192.0.2.66", ("198.51.100." + std::to_string(h)).c_str(), sip_method::options, "100");
        r.from_uri = "sip:caller" + std::to_string(h) + "@scanner.invalid";
        return r;
    };
    {
        scan_type scans(scans_at(20));
        detector proxies(quick(10));
        for (int h = 1; h <= 30; ++h) feed_both(scans, proxies, probe(h), h);
        const auto events = proxies.flush();
        REQUIRE(events.size() == 1); // unlinked, the proxy detector cannot tell
        CHECK(events[0].source == ip("192.0.2.66"));
    }
    scan_type scans(scans_at(20));
    detector proxies(quick(10));
    proxies.refuse_scanners_of(scans);
    for (int h = 1; h <= 30; ++h) feed_both(scans, proxies, probe(h), h); // its verdict waits for the flush
    CHECK(scans.holds_as_scanner(ip("192.0.2.66")));
    CHECK(scans.open_scans() == 1);
    CHECK(proxies.flush().empty());
    CHECK(proxies.stats().judged_scanner_like == 1);
    CHECK(proxies.stats().candidates == 0); // forgotten: nothing left to learn once the scan ends
    CHECK(proxies.pending_verdicts() == 0);
    REQUIRE(scans.flush().size() == 2); // start and end
    CHECK_FALSE(scans.holds_as_scanner(ip("192.0.2.66")));
}

TEST_CASE("linked to SIPSCAN: a B2BUA (one Via) and a proxy relaying a scan are still proxies") {
    scan_type scans(scans_at(20));
    detector proxies(quick(10));
    proxies.refuse_scanners_of(scans);
    for (int u = 0; u < 30; ++u) {
        // A B2BUA: one Via, 30 users calling one number at its gateway: one target for SIPSCAN.
        msg call = request(u, "192.0.2.50", "192.0.2.60", sip_method::invite, "18005550100");
        call.from_uri = "sip:ext" + std::to_string(u) + "@pbx.example";
        call.via_count = 1;
        feed_both(scans, proxies, call, u);
        // A proxy relaying a scanner's INVITEs (From is To, 2 Via) beside its users' calls.
        msg relayed_probe = request(u + 0.3, "192.0.2.10", "192.0.2.20", sip_method::invite, std::to_string(100 + u));
        relayed_probe.via_count = 2;
        feed_both(scans, proxies, relayed_probe, u + 0.3, false);
        if (u < 12) {
            msg relayed_call = request(u + 0.6, "192.0.2.10", "192.0.2.20", sip_method::invite, "900");
            relayed_call.from_uri = "sip:user" + std::to_string(u) + "@example.net";
            relayed_call.via_count = 2;
            feed_both(scans, proxies, relayed_call, u + 0.6);
        }
    }
    CHECK(scans.open_scans() == 0);
    auto events = proxies.flush();
    REQUIRE(events.size() == 2);
    std::sort(events.begin(), events.end(), [](const proxy_event& a, const proxy_event& b) { return a.source < b.source; });
    CHECK(events[0].source == ip("192.0.2.10"));
    CHECK(events[0].uris == 13); // its 12 users and the relayed scan as one
    CHECK(events[1].source == ip("192.0.2.50"));
    CHECK(events[1].uris == 30);
    CHECK(scans.flush().empty());
}

TEST_CASE("pending_verdicts() counts candidates inside their answer grace until decided") {
    detector d(quick(5));
    relay_users(d, "192.0.2.10", "192.0.2.20", 5, 0);
    CHECK(d.pending_verdicts() == 1);
    d.clock().set(at_seconds(10));
    CHECK(d.poll().empty());
    CHECK(d.pending_verdicts() == 1);
    CHECK(d.flush().size() == 1);
    CHECK(d.pending_verdicts() == 0);
}
