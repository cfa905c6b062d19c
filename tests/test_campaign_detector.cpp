// SIPCAMPAIGN rules, one test per rule.
#include "catch.hpp"
#include "test_support.hpp"

#include <sipdetect/campaign_detector.hpp>
#include <sipdetect/proxy_detector.hpp>
#include <sipdetect/state_file.hpp>

#include <unistd.h>

#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

using namespace sipdetect;
using detector = campaign_detector<msg>;

namespace {

campaign_config small_config() {
    campaign_config c;
    c.campaign_threshold = 20;
    c.min_sources = 5;
    c.scan_threshold = 20;
    c.hash_seed = 7;
    return c;
}

std::string address(const char* prefix, int i) { return prefix + std::to_string(i); }

// A probe as a scanning tool sends it: its User-Agent and a From of its own.
msg probe(double t, const std::string& client, const std::string& server, sip_method m, const std::string& user,
          const std::string& ua = "friendly-scanner", const std::string& from = "\"sipvicious\"<sip:100@1.1.1.1>") {
    msg r = request(t, client.c_str(), server.c_str(), m, user);
    r.user_agent = ua;
    r.from_uri = from;
    return r;
}

// `sources` sources 198.51.100.1.., each probing `per_source` hosts of 10.2.0.0/16 once.
void horizontal(detector& d, int sources, int per_source, double t0 = 0, sip_method m = sip_method::options) {
    int host = 0;
    for (int s = 1; s <= sources; ++s)
        for (int k = 0; k < per_source; ++k, ++host)
            d.feed(probe(t0 + host * 5.0, address("198.51.100.", s), "10.2." + std::to_string(host / 250) + "." +
                                                                       std::to_string(host % 250 + 1),
                         m, "100"));
}

std::vector<campaign_event> all_events(detector& d) {
    auto out = d.poll();
    auto rest = d.flush();
    out.insert(out.end(), rest.begin(), rest.end());
    return out;
}

} // namespace

TEST_CASE("many sources below the SIPSCAN threshold sweeping hosts together are one horizontal campaign") {
    detector d(small_config());
    horizontal(d, 30, 2);
    const auto events = d.poll();
    REQUIRE(events.size() == 1);
    const campaign_event& e = events[0];
    CHECK(e.phase == scan_phase::start);
    CHECK(e.submethod == scan_submethod::options);
    CHECK(e.kind == scan_kind::horizontal);
    CHECK(e.sources >= 5);
    CHECK(e.targets >= 20);
    CHECK(e.tool == "sipvicious");
    // svmap's From and To both name user 100: the From user mirrors the called one.
    CHECK(e.fingerprint ==
          "options; User-Agent \"friendly-scanner\"; From user mirrors the called user; From host \"1.1.1.1\"");
    CHECK(e.source_sample.size() == 10);
    CHECK(e.source_sample.front() == ip("198.51.100.1"));
    // Five minutes of probes: no update is due before the end.
    const auto later = all_events(d);
    REQUIRE(later.size() == 1);
    CHECK(later[0].phase == scan_phase::end);
    CHECK(later[0].id == e.id);
    CHECK(later[0].sources == 30);
    CHECK(later[0].targets == 60);
    CHECK(later[0].hosts == 60);
    CHECK(later[0].requests == 60);
    CHECK(later[0].first_seen == at_seconds(0));
    CHECK(later[0].last_seen == at_seconds(59 * 5));
}

TEST_CASE("the threshold edge: one target short is quiet") {
    campaign_config c = small_config();
    c.campaign_threshold = 20;
    detector d(c);
    horizontal(d, 19, 1);
    CHECK(all_events(d).empty());
    detector d2(c);
    horizontal(d2, 20, 1);
    const auto events = all_events(d2);
    REQUIRE(events.size() == 2);
    CHECK(events[0].targets == 20);
    CHECK(events[0].sources == 20);
}

TEST_CASE("fewer than min_sources sources are no campaign, whatever they probe") {
    campaign_config c = small_config();
    c.min_sources = 5;
    detector d(c);
    horizontal(d, 4, 19); // 76 targets, four sources
    CHECK(all_events(d).empty());
}

TEST_CASE("a vertical sweep of one registrar's extensions, From mirroring the target") {
    detector d(small_config());
    for (int s = 1; s <= 30; ++s)
        for (int k = 0; k < 2; ++k) {
            const std::string ext = std::to_string(1000 + s * 2 + k);
            d.feed(probe(s * 10.0 + k, address("203.0.113.", s), "10.9.9.9", sip_method::register_, ext, "sipcli/v1.8",
                         "sip:" + ext + "@10.9.9.9"));
        }
    const auto events = all_events(d);
    REQUIRE(events.size() >= 2);
    CHECK(events[0].kind == scan_kind::vertical);
    CHECK(events[0].hosts == 1);
    CHECK(events[0].fingerprint ==
          "register; User-Agent \"sipcli/v1.8\"; From user mirrors the called user; From host mirrors the target");
    CHECK(events.back().users == 60);
    CHECK(events.back().sources == 30);
    CHECK(events.back().tool == "sipcli");
}

TEST_CASE("phones of one vendor registering successfully stay quiet") {
    detector d(small_config());
    for (int s = 1; s <= 200; ++s) {
        const std::string ext = std::to_string(2000 + s);
        msg reg = probe(s, address("10.50.0.", s), "10.9.9.9", sip_method::register_, ext, "Yealink SIP-T46S 66.86.0.15",
                        "sip:" + ext + "@10.9.9.9");
        d.feed(reg);
        d.feed(response(reg, s + 0.01, 401));
        d.feed(reg);
        d.feed(response(reg, s + 0.02, 200));
    }
    CHECK(all_events(d).empty());
    CHECK(d.stats().answered_excluded == 200);
}

TEST_CASE("callers with their own From identities through one gateway stay quiet") {
    detector d(small_config());
    for (int s = 1; s <= 100; ++s)
        d.feed(probe(s, address("10.60.0.", s), "10.9.9.1", sip_method::invite, std::to_string(5550000 + s),
                     "Grandstream GXP2170", "sip:" + std::to_string(300 + s) + "@pbx.example.com"));
    CHECK(all_events(d).empty());
}

TEST_CASE("a source that reaches the SIPSCAN threshold is a scanner, not a member") {
    campaign_config c = small_config();
    c.min_sources = 5;
    detector d(c);
    horizontal(d, 1, 40); // one scanner: 40 targets
    horizontal(d, 4, 3, 1000);
    CHECK(all_events(d).empty());
    CHECK(d.stats().scanners_excluded == 1);
}

TEST_CASE("a source whose fingerprint changes is no member") {
    detector d(small_config());
    horizontal(d, 30, 1);
    d.feed(probe(500, "198.51.100.1", "10.3.0.1", sip_method::options, "100", "other-agent"));
    CHECK(d.stats().inconsistent_excluded == 1);
}

TEST_CASE("random sources with random fingerprints never form a campaign, and memory stays bounded") {
    campaign_config c = small_config();
    c.max_tracked = 500;
    c.max_groups = 300;
    detector d(c);
    std::uint64_t x = 12345;
    for (int i = 0; i < 20000; ++i) {
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
        const std::string client = "172." + std::to_string((x >> 20) % 256) + "." + std::to_string((x >> 28) % 256) +
                                   "." + std::to_string((x >> 36) % 256);
        const std::string server = "10.4." + std::to_string((x >> 44) % 256) + "." + std::to_string((x >> 52) % 256);
        d.feed(probe(i * 0.001, client, server, sip_method::options, "100", "agent-" + std::to_string(x % 100000)));
    }
    CHECK(all_events(d).empty());
    const campaign_stats s = d.stats();
    CHECK(s.tracked <= 500);
    CHECK(s.groups <= 300);
    CHECK(s.sources_evicted > 0);
    CHECK(s.groups_evicted > 0);
}

TEST_CASE("spoofed sources of one fingerprint cannot grow a group past max_members") {
    campaign_config c = small_config();
    c.max_members = 50;
    detector d(c);
    horizontal(d, 200, 1);
    CHECK(d.stats().members_rejected == 150);
    const auto events = all_events(d);
    REQUIRE(!events.empty());
    CHECK(events.back().sources == 50);
}

TEST_CASE("probes older than the window do not add up") {
    campaign_config c = small_config();
    c.campaign_window = std::chrono::minutes(10);
    detector d(c);
    // 30 sources, one probe each, 60 s apart: at most 11 within any ten minutes.
    for (int s = 1; s <= 30; ++s)
        d.feed(probe(s * 60.0, address("198.51.100.", s), "10.2.0." + std::to_string(s), sip_method::options, "100"));
    CHECK(all_events(d).empty());
}

TEST_CASE("a campaign ends after event_idle_timeout without member requests") {
    detector d(small_config());
    horizontal(d, 30, 1);
    REQUIRE(d.poll().size() == 1);
    d.clock().set(at_seconds(30 * 5 + 3600));
    const auto events = d.poll();
    REQUIRE(events.size() == 1);
    CHECK(events[0].phase == scan_phase::end);
    CHECK(d.active_campaigns() == 0);
}

TEST_CASE("a run split with the state saved and loaded between gives the events of one run") {
    std::vector<msg> records;
    int host = 0;
    for (int s = 1; s <= 40; ++s)
        for (int k = 0; k < 2; ++k, ++host)
            records.push_back(probe(host * 30.0, address("198.51.100.", s), "10.2.0." + std::to_string(host + 1),
                                    sip_method::options, "100"));
    for (std::size_t split = 0; split <= records.size(); split += 7) {
        detector one(small_config());
        std::vector<campaign_event> expected;
        for (std::size_t i = 0; i < records.size(); ++i) {
            one.feed(records[i]);
            for (auto& e : one.poll()) expected.push_back(e);
        }
        detector first(small_config());
        std::vector<campaign_event> got;
        for (std::size_t i = 0; i < split; ++i) {
            first.feed(records[i]);
            for (auto& e : first.poll()) got.push_back(e);
        }
        std::stringstream image;
        first.save(image);
        detector second(small_config());
        second.load(image);
        for (std::size_t i = split; i < records.size(); ++i) {
            second.feed(records[i]);
            for (auto& e : second.poll()) got.push_back(e);
        }
        CHECK(got == expected);
        std::stringstream again, reference;
        second.save(again);
        one.save(reference);
        CHECK(again.str() == reference.str());
    }
}

TEST_CASE("a damaged state is refused and leaves the detector as it was") {
    detector d(small_config());
    horizontal(d, 30, 2);
    std::stringstream image;
    d.save(image);
    const std::string bytes = image.str();
    for (std::size_t cut : {std::size_t{0}, std::size_t{10}, bytes.size() / 2, bytes.size() - 1}) {
        detector fresh(small_config());
        std::stringstream truncated(bytes.substr(0, cut));
        CHECK_THROWS_AS(fresh.load(truncated), state_error);
        CHECK(fresh.stats().tracked == 0);
    }
}

TEST_CASE("the configuration refuses what cannot work") {
    campaign_config c;
    c.min_sources = 1;
    CHECK_THROWS_AS(detector(c), config_error);
    c = campaign_config{};
    c.min_sources = 50;
    c.max_members = 10;
    CHECK_THROWS_AS(detector(c), config_error);
    c = campaign_config{};
    c.campaign_threshold = 100000;
    c.max_members = 10;
    CHECK_THROWS_AS(detector(c), config_error);
}

TEST_CASE("a state bundle saved before SIPCAMPAIGN existed loads, and campaigns start fresh") {
    const auto path = std::filesystem::temp_directory_path() / ("sipdetect_campaign_bundle_" + std::to_string(::getpid()));
    scan_detector<msg> scans;
    proxy_detector<msg> proxies;
    scans.feed(request(1, "192.0.2.1", "10.0.0.1", sip_method::options, "100"));
    save_state_file(path, scans, proxies);

    scan_detector<msg> loaded_scans;
    proxy_detector<msg> loaded_proxies;
    detector campaigns(small_config());
    horizontal(campaigns, 30, 1);
    load_report report;
    REQUIRE(load_state_file_upgrading(path, &report, 2, loaded_scans, loaded_proxies, campaigns));
    CHECK(loaded_scans.stats().records == 1);
    CHECK(campaigns.stats().records == 0);
    CHECK(campaigns.config() == small_config());
    // Without the allowance, as before, the count must match.
    CHECK_THROWS_AS(load_state_file(path, loaded_scans, loaded_proxies, campaigns), state_error);
    // Three detectors saved load as three; a bundle of more is refused.
    horizontal(campaigns, 30, 1);
    save_state_file(path, loaded_scans, loaded_proxies, campaigns);
    detector again(small_config());
    REQUIRE(load_state_file_upgrading(path, &report, 2, loaded_scans, loaded_proxies, again));
    campaign_stats reloaded = again.stats(), saved = campaigns.stats();
    reloaded.memory_bytes = saved.memory_bytes = 0; // capacities need not be reproduced
    CHECK(reloaded == saved);
    CHECK(reloaded.tracked == 30);
    save_state_file(path, loaded_scans, loaded_proxies, campaigns, again);
    CHECK_THROWS_AS(load_state_file_upgrading(path, &report, 2, loaded_scans, loaded_proxies, again), state_error);
    std::filesystem::remove(path);
}
