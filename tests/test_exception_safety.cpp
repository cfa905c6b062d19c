// Exception safety under failed allocations: every allocation of a run is
// made to fail in turn (fault injection in the counting allocator), and the
// guarantee each function documents is checked (README "Exception safety"):
//   strong: the containers' growth, scan_detector::poll() and flush(), load()
//   no event lost or repeated: proxy_detector::poll() and flush()
//   basic: feed() of both detectors (valid, usable, consistent state)
// The replacement allocator stays in under the sanitizers, so that a
// container left pointing at freed memory is caught there.
#define SIPDETECT_TEST_ALLOCATOR_UNDER_SANITIZERS 1
#include "catch.hpp"
#include "test_support.hpp"

#include <sipdetect/detail/flat_table.hpp>
#include <sipdetect/detail/hash.hpp>
#include <sipdetect/proxy_detector.hpp>
#include <sipdetect/scan_detector.hpp>

#include "counting_allocator.hpp"

#include <map>
#include <set>
#include <sstream>

using namespace sipdetect;

namespace {

// Runs f with the n-th allocation inside it failing; true when it threw bad_alloc.
template <class F> bool fails_at(long n, F&& f) {
    counting::fail_nth(n);
    bool threw = false;
    try {
        f();
    } catch (const std::bad_alloc&) {
        threw = true;
    }
    counting::disarm();
    return threw;
}

scan_config scans_config() {
    scan_config c;
    c.threshold = 6;
    c.max_tracked = 48; // evictions and refusals happen too
    c.update_interval = std::chrono::seconds(1);
    c.event_idle_timeout = std::chrono::seconds(4);
    c.source_idle_timeout = std::chrono::seconds(20);
    c.hash_seed = 7;
    return c;
}

proxy_config proxies_config() {
    proxy_config c;
    c.min_uris = 5;
    c.closed_season = std::chrono::seconds(3);
    c.answer_grace = std::chrono::seconds(1);
    c.max_candidates = 40;
    c.max_proxies = 2; // learning evicts
    c.candidate_idle_timeout = std::chrono::seconds(30);
    c.hash_seed = 7;
    return c;
}

// Scanners (horizontal, vertical, with answers and agents), phones, and
// proxies with many From users, over about 12 seconds.
std::vector<msg> stream() {
    std::vector<msg> out;
    for (int i = 0; i < 40; ++i) {
        const double t = i * 0.25;
        msg h = request(t, "203.0.113.66", ("10.0." + std::to_string(i / 10) + "." + std::to_string(i % 10 + 1)).c_str(),
                        sip_method::options, "100");
        h.user_agent = "friendly-scanner";
        out.push_back(h);
        out.push_back(response(h, t + 0.01, i % 3 == 0 ? 200 : 404));
        msg v = request(t + 0.1, "2001:db8::66", "2001:db8::5", sip_method::register_, "ext" + std::to_string(i));
        v.user_agent = "sipcli/v1.8 " + std::string(static_cast<std::size_t>(i % 4) * 20, 'x');
        out.push_back(v);
        out.push_back(response(v, t + 0.11, 401));
        msg phone = request(t + 0.05, ("198.51.100." + std::to_string(i + 1)).c_str(), "192.0.2.20",
                            sip_method::register_, "phone" + std::to_string(i));
        out.push_back(phone);
        out.push_back(response(phone, t + 0.06, 200));
        for (int p = 0; p < 3; ++p) {
            msg relay = request(t + 0.07, ("192.0.2." + std::to_string(10 + p)).c_str(), "192.0.2.20",
                                sip_method::invite, "900");
            relay.from_uri = "sip:user" + std::to_string(i) + "@example.net";
            relay.via_count = 2;
            out.push_back(relay);
            out.push_back(response(relay, t + 0.08, 200));
        }
    }
    return out;
}

double to_seconds(record_time t) { return static_cast<double>(micros_of(t)) / 1e6; }

struct detectors {
    scan_detector<msg> scans{scans_config()};
    proxy_detector<msg> proxies{proxies_config()};
};

struct delivered {
    std::vector<scan_event> scans;
    std::vector<proxy_event> proxies;
};

template <class D> std::string image_of(const D& d) {
    std::ostringstream out;
    d.save(out);
    return out.str();
}

// A detector's state is consistent when its image loads into a fresh one:
// load() checks every invariant a saved state must meet.
template <class D> void require_consistent(const D& d) {
    std::istringstream in(image_of(d));
    D fresh(d.config());
    REQUIRE_NOTHROW(fresh.load(in));
}

void append(delivered& to, std::vector<scan_event> s, std::vector<proxy_event> p) {
    to.scans.insert(to.scans.end(), s.begin(), s.end());
    to.proxies.insert(to.proxies.end(), p.begin(), p.end());
}

// Feeds the stream, polling every second of record time, then flushes.
// `poll_fault` (call number, allocation number) makes that allocation of that
// poll or flush fail; the poll is then retried, as a caller would.
delivered run(std::pair<int, long> poll_fault = {-1, 0}, bool* fault_hit = nullptr) {
    detectors d;
    delivered got;
    int call = 0;
    auto poll_both = [&](bool final_flush) {
        const bool inject = call++ == poll_fault.first;
        auto poll_scans = [&] { return final_flush ? d.scans.flush() : d.scans.poll(); };
        auto poll_proxies = [&] { return final_flush ? d.proxies.flush() : d.proxies.poll(); };
        std::vector<scan_event> s;
        if (!inject) {
            s = poll_scans();
        } else {
            const std::string before = image_of(d.scans);
            if (fails_at(poll_fault.second, [&] { s = poll_scans(); })) {
                if (fault_hit != nullptr) *fault_hit = true;
                REQUIRE(image_of(d.scans) == before); // strong
                s = poll_scans();
            }
        }
        std::vector<proxy_event> p;
        if (!inject) {
            p = poll_proxies();
        } else if (fails_at(poll_fault.second, [&] { p = poll_proxies(); })) {
            if (fault_hit != nullptr) *fault_hit = true;
            require_consistent(d.proxies);
            p = poll_proxies(); // the verdicts made before the failure wait here
        }
        append(got, std::move(s), std::move(p));
    };
    double next_poll = 1;
    for (const msg& r : stream()) {
        while (to_seconds(r.time) >= next_poll) {
            poll_both(false);
            next_poll += 1;
        }
        d.scans.feed(r);
        d.proxies.feed(r);
    }
    poll_both(true);
    return got;
}


} // namespace

TEST_CASE("fault injection reaches the detectors") {
    if (!counting::active) {
        WARN("SKIPPED: this build has no replaceable allocator");
        return;
    }
    const delivered reference = run();
    REQUIRE(reference.scans.size() >= 4);    // starts, updates and ends of both scanners
    REQUIRE(reference.proxies.size() >= 1);  // a proxy found after the season
    detectors d;
    const bool threw = fails_at(1, [&] {
        for (const msg& r : stream()) d.scans.feed(r);
    });
    REQUIRE(threw);
    REQUIRE(counting::failures.load() >= 1);
}

TEST_CASE("a fingerprint set whose growth fails is unchanged and usable (strong)") {
    if (!counting::active) {
        WARN("SKIPPED: this build has no replaceable allocator");
        return;
    }
    using set = detail::fingerprint_set;
    set s;
    std::vector<std::uint32_t> members;
    int growths_failed = 0;
    for (std::uint32_t k = 1; members.size() < 200; ++k) {
        const std::uint32_t key = set::key_of(detail::hash_combine(k, 99));
        if (std::find(members.begin(), members.end(), key) != members.end()) continue;
        if (fails_at(1, [&] { s.insert(key, 1000); })) {
            ++growths_failed;
            REQUIRE(s.size() == members.size());
            for (std::uint32_t m : members) REQUIRE(s.flags(m) == 1);
            REQUIRE(s.flags(key) == 0);
            REQUIRE(s.insert(key, 1000) == set::insert_result::added);
        } else {
            REQUIRE(s.size() == members.size() + 1);
        }
        members.push_back(key);
        s.set_flags(key, 1);
        for (std::uint32_t m : members) REQUIRE(s.flags(m) == 1);
    }
    REQUIRE(growths_failed >= 5); // 4 inline, then 8, 16, ... slots
}

TEST_CASE("a table whose index or chunks cannot grow is unchanged and usable (strong)") {
    if (!counting::active) {
        WARN("SKIPPED: this build has no replaceable allocator");
        return;
    }
    struct entry {
        detail::source_key k;
        int value = 0;
        detail::source_key key() const noexcept { return k; }
        void set_key(const detail::source_key& key) noexcept { k = key; }
    };
    detail::flat_table<detail::source_key, entry, detail::source_key_hasher> table(detail::source_key_hasher{3});
    std::vector<detail::source_key> keys;
    int refused = 0;
    for (int i = 0; keys.size() < 3000; ++i) {
        const detail::source_key key{ip_address::from_v4(0x0a000000u + static_cast<std::uint32_t>(i)), 0};
        std::pair<entry*, bool> placed{nullptr, false};
        if (fails_at(1, [&] { placed = table.try_emplace(key); })) {
            ++refused;
            REQUIRE(table.size() == keys.size());
            REQUIRE(table.find(key) == nullptr);
            placed = table.try_emplace(key);
        }
        REQUIRE(placed.second);
        placed.first->value = i;
        keys.push_back(key);
    }
    REQUIRE(refused >= 10); // every index growth and every new chunk
    for (std::size_t i = 0; i < keys.size(); ++i) REQUIRE(table.find(keys[i])->value == static_cast<int>(i));
    for (std::size_t i = 0; i < keys.size(); i += 2) REQUIRE(table.erase(keys[i]));
    std::size_t failed_reserves = 0;
    for (long n = 1; fails_at(n, [&] { table.reserve(table.size() + 5000); }); ++n) ++failed_reserves;
    REQUIRE(failed_reserves >= 1);
    for (std::size_t i = 1; i < keys.size(); i += 2) REQUIRE(table.find(keys[i])->value == static_cast<int>(i));
}

TEST_CASE("a failed poll or flush loses no event and repeats none (scan: detector unchanged)") {
    if (!counting::active) {
        WARN("SKIPPED: this build has no replaceable allocator");
        return;
    }
    const delivered reference = run();
    int polls = 0;
    {
        // Count the polls of a run: one per second of the stream, plus the flush.
        detectors d;
        double next_poll = 1;
        for (const msg& r : stream())
            while (to_seconds(r.time) >= next_poll) {
                ++polls;
                next_poll += 1;
            }
        ++polls;
    }
    REQUIRE(polls >= 10);
    int faults = 0;
    for (int call = 0; call < polls; ++call) {
        for (long n = 1;; ++n) {
            bool hit = false;
            const delivered got = run({call, n}, &hit);
            CAPTURE(call, n);
            REQUIRE(got.scans == reference.scans);
            REQUIRE(got.proxies == reference.proxies);
            if (!hit) break; // the poll needed fewer than n allocations
            ++faults;
        }
    }
    REQUIRE(faults >= 20);
}

TEST_CASE("a failed feed leaves both detectors consistent and usable (basic)") {
    if (!counting::active) {
        WARN("SKIPPED: this build has no replaceable allocator");
        return;
    }
    const std::vector<msg> records = stream();
    int faults = 0;
    for (long n = 1;; ++n) {
        CAPTURE(n);
        detectors d;
        long left = n; // the n-th allocation of all the feeds fails
        bool hit = false;
        delivered got;
        auto feed = [&](auto& detector, const msg& r) {
            if (hit) return detector.feed(r);
            const std::size_t before = counting::allocations.load();
            if (fails_at(left, [&] { detector.feed(r); })) {
                hit = true;
                require_consistent(d.scans);
                require_consistent(d.proxies);
            } else {
                left -= static_cast<long>(counting::allocations.load() - before);
            }
        };
        for (std::size_t i = 0; i < records.size(); ++i) {
            feed(d.scans, records[i]);
            feed(d.proxies, records[i]);
            if (i % 50 == 49) append(got, d.scans.poll(), d.proxies.poll());
        }
        append(got, d.scans.flush(), d.proxies.flush());
        if (!hit) break; // the whole run made fewer than n allocations
        ++faults;
        // Whatever the lost record changed, the events still tell one story:
        // each scan starts once and ends once, proxies are reported once.
        std::map<std::uint64_t, int> starts, ends;
        for (const scan_event& e : got.scans) {
            if (e.phase == scan_phase::start) ++starts[e.id];
            if (e.phase == scan_phase::end) ++ends[e.id];
        }
        for (const auto& [id, count] : starts) REQUIRE((count == 1 && ends[id] == 1));
        REQUIRE(starts.size() == ends.size());
        std::set<std::uint64_t> proxy_ids;
        for (const proxy_event& e : got.proxies) REQUIRE(proxy_ids.insert(e.id).second);
    }
    REQUIRE(faults >= 50);
}

TEST_CASE("a failed load leaves the detector exactly as it was (strong)") {
    if (!counting::active) {
        WARN("SKIPPED: this build has no replaceable allocator");
        return;
    }
    detectors saved;
    for (const msg& r : stream()) {
        saved.scans.feed(r);
        saved.proxies.feed(r);
    }
    const std::string scan_image = image_of(saved.scans), proxy_image = image_of(saved.proxies);
    // Detectors with a state of their own, loaded with a failure at every allocation in turn.
    detectors d;
    for (std::size_t i = 0; i < 30; ++i) {
        d.scans.feed(stream()[i]);
        d.proxies.feed(stream()[i]);
    }
    const std::string scan_own = image_of(d.scans), proxy_own = image_of(d.proxies);
    int faults = 0;
    for (long n = 1;; ++n) {
        std::istringstream in(scan_image);
        if (!fails_at(n, [&] { d.scans.load(in); })) break;
        ++faults;
        REQUIRE(image_of(d.scans) == scan_own);
    }
    REQUIRE(image_of(d.scans) == scan_image);
    for (long n = 1;; ++n) {
        std::istringstream in(proxy_image);
        if (!fails_at(n, [&] { d.proxies.load(in); })) break;
        ++faults;
        REQUIRE(image_of(d.proxies) == proxy_own);
    }
    REQUIRE(image_of(d.proxies) == proxy_image);
    REQUIRE(faults >= 20);
}
