// Floods and hostile strings: 10 M requests from random spoofed sources with
// a real svmap-style scanner at the end, and a source rotating millions of
// From URIs. Memory stays within what the caps allow (a counting allocator
// measures it) and is given back when a flood has gone, evictions are
// reported, the scanner is still found, and output stays well-formed.
#include "catch.hpp"

#include <sipdetect/campaign_detector.hpp>
#include <sipdetect/json.hpp>
#include <sipdetect/proxy_detector.hpp>
#include <sipdetect/scan_detector.hpp>

#include "counting_allocator.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>

using namespace sipdetect;

namespace {

// A collector's record that points into its own buffers: no per-record allocation.
struct flood_record {
    record_time time;
    ip_address src, dst;
    std::uint16_t dst_port = 5060;
    sip_method method = sip_method::options;
    std::uint16_t status = 0;
    std::string_view from_uri, to_uri, user_agent;
    unsigned via_count = 1;
};

struct rng {
    std::uint64_t s;
    std::uint64_t next() {
        std::uint64_t z = (s += 0x9e3779b97f4a7c15ULL);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        return z ^ (z >> 31);
    }
};

bool one_json_line(const std::string& line) {
    if (line.empty() || line.front() != '{' || line.back() != '}') return false;
    for (const char c : line)
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return false;
    return true;
}

// The heap's peak since `before` stays within twice the steady state (growth while doubling).
void check_peak_within_twice(std::uint64_t steady, std::size_t before) {
    if (!counting::active) {
        WARN("SKIPPED: peak heap check (the sanitizer owns the allocator)");
        return;
    }
    const std::size_t peak = counting::peak_bytes.load() - before;
    INFO("peak " << peak << " bytes, steady " << steady << " bytes");
    CHECK(peak <= steady * 2);
}

} // namespace

TEST_CASE("spoofed flood: 10 M random sources, memory within the caps, the scanner still found") {
    scan_config sc;
    sc.max_tracked = 100'000;
    proxy_config pc;
    pc.max_candidates = 100'000;
    pc.closed_season = std::chrono::seconds(0);
    const std::size_t before = counting::live_bytes.load();
    counting::peak_bytes.store(before);
    {
        scan_detector<flood_record> scans(sc);
        proxy_detector<flood_record> proxies(pc);
        rng r{7};
        const sip_method methods[] = {sip_method::options, sip_method::register_, sip_method::invite};
        char from[64];
        flood_record f;
        f.to_uri = "sip:100@victim";
        f.user_agent = "friendly-scanner";
        // 10 M by default; the sanitizer suite sets a smaller count to stay in CI's time.
        const char* env = std::getenv("SIPDETECT_FLOOD_RECORDS");
        const std::uint64_t flood = env != nullptr ? std::strtoull(env, nullptr, 10) : 10'000'000;
        REQUIRE(flood >= 200'000);
        std::vector<scan_event> found;
        for (std::uint64_t i = 0; i < flood + 3000; ++i) {
            const std::uint64_t x = r.next();
            f.time = record_time_from_micros(1'700'000'000'000'000 + static_cast<std::int64_t>(i) * 100);
            const bool scanner_turn = i >= flood && i % 10 == 0;
            if (scanner_turn) {
                // svmap: OPTIONS to 300 hosts of 198.51.100.0/22, 1 in 10 records during the tail.
                f.src = ip_address::parse("203.0.113.66");
                f.dst = ip_address::from_v4(0xc6336400u + static_cast<std::uint32_t>((i - flood) / 10));
                f.method = sip_method::options;
                f.from_uri = "sip:100@1.1.1.1";
            } else {
                if (x % 10 == 0) {
                    ip_address::bytes_type b{};
                    b[0] = 0x20;
                    b[1] = 0x01;
                    for (int k = 2; k < 16; ++k) b[static_cast<std::size_t>(k)] = static_cast<std::uint8_t>(r.next());
                    f.src = ip_address::from_bytes(b);
                } else {
                    f.src = ip_address::from_v4(static_cast<std::uint32_t>(x >> 32));
                }
                f.dst = ip_address::from_v4(0x0a000001u + static_cast<std::uint32_t>(x % 16));
                f.method = methods[(x >> 8) % 3];
                const int n = std::snprintf(from, sizeof from, "sip:%u@spoofed", static_cast<unsigned>(x >> 40));
                f.from_uri = std::string_view(from, static_cast<std::size_t>(n));
            }
            scans.feed(f);
            proxies.feed(f);
            if (i % 100'000 == 0) {
                for (auto& e : scans.poll()) found.push_back(std::move(e));
                (void)proxies.poll();
            }
        }
        for (auto& e : scans.flush()) found.push_back(std::move(e));
        (void)proxies.flush();

        const auto s = scans.stats();
        const auto p = proxies.stats();
        CHECK(s.tracked <= sc.max_tracked);
        CHECK(s.sources_evicted + s.sources_rejected >= flood - sc.max_tracked);
        CHECK(p.candidates <= pc.max_candidates);
        CHECK(p.candidates_evicted + p.candidates_rejected >= flood - pc.max_candidates);
        // The scanner, pushed through 10 M spoofed sources, is found with all its targets.
        REQUIRE_FALSE(found.empty());
        const auto it = std::find_if(found.begin(), found.end(), [](const scan_event& e) {
            return e.source == ip_address::parse("203.0.113.66") && e.phase == scan_phase::end;
        });
        REQUIRE(it != found.end());
        CHECK(it->hosts == 256); // 300 probed, counted exactly up to max_distinct
        CHECK(it->counts_saturated);
        CHECK(it->kind == scan_kind::horizontal);
        // Memory: the two tables at their capped size, plus growth while doubling.
        const std::uint64_t steady = s.memory_bytes + p.memory_bytes;
        CHECK(steady < 64u * 1024 * 1024);
        check_peak_within_twice(steady, before);
    }
}

TEST_CASE("spoofed campaign flood: random sources with random fingerprints form nothing, memory within the caps") {
    campaign_config cc;
    cc.max_tracked = 50'000;
    cc.max_groups = 20'000;
    const std::size_t before = counting::live_bytes.load();
    counting::peak_bytes.store(before);
    {
        campaign_detector<flood_record> campaigns(cc);
        rng r{11};
        const char* env = std::getenv("SIPDETECT_FLOOD_RECORDS");
        const std::uint64_t flood = (env != nullptr ? std::strtoull(env, nullptr, 10) : 10'000'000) / 5;
        REQUIRE(flood >= 200'000);
        char from[64], agent[64];
        flood_record f;
        f.to_uri = "sip:100@victim";
        std::vector<campaign_event> found;
        for (std::uint64_t i = 0; i < flood + 60; ++i) {
            const std::uint64_t x = r.next();
            f.time = record_time_from_micros(1'700'000'000'000'000 + static_cast<std::int64_t>(i) * 100);
            if (i >= flood) {
                // The tail: 30 sources of one tool, two hosts each.
                f.src = ip_address::from_v4(0xcb007100u + static_cast<std::uint32_t>((i - flood) / 2));
                f.dst = ip_address::from_v4(0xc6336400u + static_cast<std::uint32_t>(i - flood));
                f.from_uri = "sip:100@1.1.1.1";
                f.user_agent = "friendly-scanner";
            } else {
                f.src = ip_address::from_v4(static_cast<std::uint32_t>(x >> 32));
                f.dst = ip_address::from_v4(0x0a000001u + static_cast<std::uint32_t>(x % 4096));
                const int n = std::snprintf(from, sizeof from, "sip:%u@spoofed", static_cast<unsigned>(x >> 44));
                f.from_uri = std::string_view(from, static_cast<std::size_t>(n));
                const int m = std::snprintf(agent, sizeof agent, "agent-%u", static_cast<unsigned>(x & 0xfffff));
                f.user_agent = std::string_view(agent, static_cast<std::size_t>(m));
            }
            campaigns.feed(f);
            if (i % 10'000 == 0)
                for (auto& e : campaigns.poll()) found.push_back(std::move(e));
        }
        for (auto& e : campaigns.flush()) found.push_back(std::move(e));
        const auto s = campaigns.stats();
        CHECK(s.tracked <= cc.max_tracked);
        CHECK(s.groups <= cc.max_groups);
        CHECK(s.sources_evicted >= flood - cc.max_tracked);
        // Only the tail's campaign: nothing of the flood.
        REQUIRE(found.size() == 2);
        CHECK(found[1].phase == scan_phase::end);
        CHECK(found[1].sources == 30);
        CHECK(found[1].hosts == 60);
        const std::uint64_t steady = s.memory_bytes;
        CHECK(steady < 32u * 1024 * 1024);
        check_peak_within_twice(steady, before);
    }
}

TEST_CASE("a flood that went away gives its memory back") {
    scan_config sc;
    sc.source_idle_timeout = std::chrono::seconds(60);
    proxy_config pc;
    pc.candidate_idle_timeout = std::chrono::seconds(60);
    scan_detector<flood_record> scans(sc);
    proxy_detector<flood_record> proxies(pc);
    flood_record f;
    f.dst = ip_address::from_v4(0x0a000001u);
    f.from_uri = f.to_uri = "sip:100@10.0.0.1";
    const std::int64_t start = 1'700'000'000'000'000;
    for (std::uint32_t i = 0; i < 50'000; ++i) { // spoofed one-off sources, 10 s of them
        f.time = record_time_from_micros(start + static_cast<std::int64_t>(i) * 200);
        f.src = ip_address::from_v4(0x64000000u + i);
        scans.feed(f);
        proxies.feed(f);
    }
    const std::uint64_t flooded = scans.stats().memory_bytes + proxies.stats().memory_bytes;
    // Two minutes later 100 phones remain, and the next poll's sweep expires the flood.
    for (std::uint32_t i = 0; i < 100; ++i) {
        f.time = record_time_from_micros(start + 120'000'000 + static_cast<std::int64_t>(i) * 1000);
        f.src = ip_address::from_v4(0x0b000000u + i);
        scans.feed(f);
        proxies.feed(f);
    }
    (void)scans.poll();
    (void)proxies.poll();
    CHECK(scans.stats().tracked == 100);
    CHECK(proxies.stats().candidates == 100);
    const std::uint64_t after = scans.stats().memory_bytes + proxies.stats().memory_bytes;
    INFO("flooded " << flooded << " bytes, after " << after << " bytes");
    // The flood's entries (50,000 of 64 bytes, 3.2 MB a table) are freed,
    // and the indexes (131,072 buckets of 8 bytes, 1 MB a table) shrink to
    // what 100 entries need (512 buckets).
    CHECK(after < 128 * 1024);
}

TEST_CASE("hostile strings: 64 KB URIs, NUL and control bytes, invalid UTF-8, millions of From URIs") {
    scan_config sc;
    sc.threshold = 3;
    proxy_config pc;
    pc.closed_season = std::chrono::seconds(0);
    pc.min_uris = 50;
    scan_detector<flood_record> scans(sc);
    proxy_detector<flood_record> proxies(pc);

    std::string huge(64 * 1024, 'A');
    huge[100] = '\0';
    huge[200] = '\n';
    huge[300] = '\x1b';
    huge[400] = '"';
    huge[500] = '\\';
    huge[600] = static_cast<char>(0xff); // invalid UTF-8
    huge[601] = static_cast<char>(0xc3); // truncated sequence
    const std::string to = "sip:" + huge + "@victim";
    const std::string ua = "evil\x01\"agent\xfe" + huge;
    const std::size_t before = counting::live_bytes.load();

    flood_record f;
    f.src = ip_address::parse("203.0.113.9");
    f.method = sip_method::register_;
    f.to_uri = to;
    f.user_agent = ua;
    char from[48];
    for (std::uint32_t i = 0; i < 2'000'000; ++i) {
        f.time = record_time_from_micros(1'700'000'000'000'000 + static_cast<std::int64_t>(i) * 1000);
        f.dst = ip_address::from_v4(0x0a000001u + i % 5);
        const int n = std::snprintf(from, sizeof from, "sip:user%u@rotating", i);
        f.from_uri = std::string_view(from, static_cast<std::size_t>(n));
        scans.feed(f);
        proxies.feed(f);
    }
    const auto scan_events = scans.flush();
    const auto proxy_events = proxies.flush();
    REQUIRE(scan_events.size() == 2);
    REQUIRE(proxy_events.size() == 1); // no responses in this feed: the URI count decides
    if (counting::active) {
        const std::size_t held = counting::live_bytes.load() - before;
        INFO("held " << held << " bytes");
        CHECK(held < 256 * 1024); // two million From URIs, bounded state
    }
    CHECK(proxies.stats().memory_bytes < 64 * 1024);
    for (const auto& e : scan_events) {
        const std::string line = to_json(e);
        CHECK(one_json_line(line));
        CHECK(line.size() < 8 * 1024); // users and agents are capped
        CHECK(e.sample[0].user.size() == scan_user_cap);
        CHECK(e.user_agents[0].size() == user_agent_cap);
    }
    const std::string proxy_line = to_json(proxy_events[0]);
    CHECK(one_json_line(proxy_line));
    CHECK(proxy_line.find("\\ufffd") != std::string::npos); // the invalid bytes of the user agent
}
