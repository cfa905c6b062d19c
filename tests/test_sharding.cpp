// Value semantics, and what sharding by requester keeps and changes
// (README "Threads, sharding and value semantics").
#include "catch.hpp"
#include "test_support.hpp"

#include <sipdetect/campaign_detector.hpp>
#include <sipdetect/proxy_detector.hpp>
#include <sipdetect/scan_detector.hpp>

#include <algorithm>
#include <array>
#include <type_traits>

using namespace sipdetect;
using namespace std::chrono_literals;

// A detector owns its tables: it moves, it is never copied.
static_assert(!std::is_copy_constructible_v<scan_detector<msg>> && !std::is_copy_assignable_v<scan_detector<msg>>);
static_assert(std::is_nothrow_move_constructible_v<scan_detector<msg>> &&
              std::is_nothrow_move_assignable_v<scan_detector<msg>>);
static_assert(!std::is_copy_constructible_v<proxy_detector<msg>> && !std::is_copy_assignable_v<proxy_detector<msg>>);
static_assert(std::is_nothrow_move_constructible_v<proxy_detector<msg>> &&
              std::is_nothrow_move_assignable_v<proxy_detector<msg>>);
static_assert(!std::is_copy_constructible_v<campaign_detector<msg>> &&
              !std::is_copy_assignable_v<campaign_detector<msg>>);
static_assert(std::is_nothrow_move_constructible_v<campaign_detector<msg>> &&
              std::is_nothrow_move_assignable_v<campaign_detector<msg>>);

namespace {

// The requester: the source of a request, the destination of a response.
const ip_address& requester(const msg& r) { return r.status == 0 ? r.src : r.dst; }
std::size_t shard_of(const msg& r) { return requester(r).bytes()[15] % 2; }

std::vector<msg> scans_and_phones() {
    std::vector<msg> out;
    for (int i = 0; i < 60; ++i) {
        const double t = i * 0.5;
        msg h = request(t, "203.0.113.66", ("10.0.0." + std::to_string(i + 1)).c_str(), sip_method::options, "100");
        out.push_back(h);
        out.push_back(response(h, t + 0.01, 200));
        out.push_back(request(t + 0.1, "203.0.113.67", "10.0.1.1", sip_method::register_, "ext" + std::to_string(i)));
        out.push_back(request(t + 0.2, ("198.51.100." + std::to_string(i % 20 + 1)).c_str(), "192.0.2.20",
                              sip_method::register_, "phone" + std::to_string(i % 20)));
    }
    return out;
}

// The event without its id: ids are numbered per detector.
scan_event without_id(scan_event e) {
    e.id = 0;
    return e;
}

// Feeds every record to `whole` and to the shard of its requester.
template <class Detector>
void feed_whole_and_shards(const std::vector<msg>& records, Detector& whole, std::array<Detector, 2>& shards) {
    for (const msg& r : records) {
        whole.feed(r);
        shards[shard_of(r)].feed(r);
    }
}

void relay(std::vector<msg>& out, const char* proxy, double t0, int users, bool answered) {
    for (int u = 0; u < users; ++u) {
        msg r = request(t0 + u, proxy, "192.0.2.20", sip_method::invite, "900");
        r.from_uri = "sip:user" + std::to_string(u) + "@example.net";
        r.via_count = 2;
        out.push_back(r);
        if (answered) out.push_back(response(r, t0 + u + 0.05, 200));
    }
}

} // namespace

TEST_CASE("sharding SIPSCAN by requester gives the same scans as one detector") {
    const auto records = scans_and_phones();
    scan_config config;
    config.threshold = 10;
    scan_detector<msg> whole(config);
    std::array<scan_detector<msg>, 2> shards{scan_detector<msg>(config), scan_detector<msg>(config)};
    feed_whole_and_shards(records, whole, shards);
    std::vector<scan_event> expected, got;
    for (const auto& e : whole.flush()) expected.push_back(without_id(e));
    for (auto& shard : shards)
        for (const auto& e : shard.flush()) got.push_back(without_id(e));
    auto order = [](const scan_event& a, const scan_event& b) {
        return std::tie(a.source, a.submethod, a.phase) < std::tie(b.source, b.submethod, b.phase);
    };
    std::sort(expected.begin(), expected.end(), order);
    std::sort(got.begin(), got.end(), order);
    REQUIRE(expected.size() == 4); // two scans, start and end each
    CHECK(got == expected);
}

TEST_CASE("sharding SIPPROXY by requester: each shard has its own season start and its own answers flag") {
    proxy_config config;
    config.min_uris = 5;
    config.closed_season = 24h;
    // Shard 0 (last address byte even): 198.51.100.2, a phone busy from hour
    // 0, and 198.51.100.4, which relays for users at hour 60 without answers.
    // Shard 1 (odd): 198.51.100.1, which first speaks at hour 20 and relays
    // for users, answered, at hour 30.
    std::vector<msg> records;
    for (int h = 0; h < 72; ++h)
        records.push_back(request(h * 3600.0, "198.51.100.2", "192.0.2.20", sip_method::register_, "phone"));
    records.push_back(request(20 * 3600.0, "198.51.100.1", "192.0.2.20", sip_method::register_, "alice"));
    relay(records, "198.51.100.1", 30 * 3600.0, 6, true);
    relay(records, "198.51.100.4", 60 * 3600.0, 6, false);
    std::stable_sort(records.begin(), records.end(), [](const msg& a, const msg& b) { return a.time < b.time; });

    proxy_detector<msg> whole(config);
    std::array<proxy_detector<msg>, 2> shards{proxy_detector<msg>(config), proxy_detector<msg>(config)};
    feed_whole_and_shards(records, whole, shards);
    const auto one = whole.flush();
    std::vector<proxy_event> sharded;
    for (auto& shard : shards)
        for (const auto& e : shard.flush()) sharded.push_back(e);

    // One detector: the season ends at hour 24, so the relay at hour 30 is a
    // new proxy; it has seen answers, so the relay whose requests all go
    // unanswered is judged a scanner rotating From users, not a proxy.
    REQUIRE(one.size() == 1);
    CHECK(one[0].source == ip("198.51.100.1"));
    CHECK(one[0].answers_judged);
    CHECK(whole.stats().judged_scanner_like == 1);

    // Sharded: shard 1's season starts with its first record at hour 20 and
    // ends at hour 44, so the relay at hour 30 is learned silently. Shard 0
    // has never seen a response, so it decides on the URI count alone and
    // reports the unanswered relay, with answers_judged false.
    CHECK(shards[0].season_end() == at_seconds(24 * 3600.0));
    CHECK(shards[1].season_end() == at_seconds(44 * 3600.0));
    CHECK(shards[1].is_learned(ip("198.51.100.1")));
    CHECK(shards[1].stats().learned_in_training == 1);
    REQUIRE(sharded.size() == 1);
    CHECK(sharded[0].source == ip("198.51.100.4"));
    CHECK_FALSE(sharded[0].answers_judged);
}

TEST_CASE("SIPCAMPAIGN is not sharded by requester: shards each see part of a campaign") {
    // Ten sources probing three hosts each, with one tool's fingerprint: 30
    // targets together; a shard holds five sources and 15 targets.
    std::vector<msg> records;
    for (int s = 1; s <= 10; ++s)
        for (int h = 0; h < 3; ++h) {
            msg r = request(s * 10.0 + h, ("198.51.100." + std::to_string(s)).c_str(),
                            ("10.2.0." + std::to_string(s * 3 + h)).c_str(), sip_method::options, "100");
            r.user_agent = "friendly-scanner";
            r.from_uri = "\"sipvicious\"<sip:100@1.1.1.1>";
            records.push_back(r);
        }
    campaign_config config;
    config.campaign_threshold = 20;
    config.min_sources = 5;
    campaign_detector<msg> one(config);
    std::array<campaign_detector<msg>, 2> shards{campaign_detector<msg>(config), campaign_detector<msg>(config)};
    feed_whole_and_shards(records, one, shards);
    const std::vector<campaign_event> whole = one.flush();
    REQUIRE(whole.size() == 2); // start and end
    CHECK(whole[0].sources == 10);
    CHECK(whole[0].targets == 30);
    for (auto& shard : shards) CHECK(shard.flush().empty());
}
