// The hot path allocates nothing in steady state: a counting global
// allocator watches feed() of both detectors.
#include "catch.hpp"
#include "test_support.hpp"

#include <sipdetect/feed_all.hpp>
#include <sipdetect/proxy_detector.hpp>
#include <sipdetect/scan_detector.hpp>

#include "counting_allocator.hpp"

#include <cstdlib>
#include <sstream>

using namespace sipdetect;

namespace {

// Scanners, phones, a proxy with answers, IPv6: every path of feed().
std::vector<msg> traffic(double t0) {
    std::vector<msg> out;
    for (int i = 0; i < 300; ++i) {
        msg r = request(t0 + i * 0.01, "203.0.113.66", ("10.1." + std::to_string(i / 200) + "." + std::to_string(i % 200 + 1)).c_str(),
                        sip_method::options, "100");
        r.user_agent = "friendly-scanner";
        out.push_back(r);
        out.push_back(response(r, t0 + i * 0.01 + 0.001, 200));
        out.push_back(request(t0 + i * 0.01, "2001:db8::66", "2001:db8::5", sip_method::register_, std::to_string(i)));
    }
    for (int p = 0; p < 200; ++p) {
        msg r = request(t0 + 5 + p * 0.01, ("198.51.100." + std::to_string(p + 1)).c_str(), "192.0.2.20", sip_method::register_,
                        "phone" + std::to_string(p));
        out.push_back(r);
        out.push_back(response(r, t0 + 5 + p * 0.01 + 0.005, 401));
    }
    for (int u = 0; u < 60; ++u) {
        msg r = request(t0 + 8 + u * 0.01, "192.0.2.10", "192.0.2.20", sip_method::invite, "900");
        r.from_uri = "sip:user" + std::to_string(u) + "@example.net";
        r.via_count = 2;
        out.push_back(r);
        out.push_back(response(r, t0 + 8 + u * 0.01 + 0.005, 200));
    }
    return out;
}

} // namespace

TEST_CASE("feed() allocates nothing in steady state") {
    if (!counting::active) {
        WARN("SKIPPED: the sanitizer owns the allocator, allocations cannot be counted in this build");
        return;
    }
    scan_config sc;
    sc.threshold = 10;
    scan_detector<msg> scans(sc);
    proxy_config pc;
    pc.closed_season = std::chrono::seconds(0);
    pc.min_uris = 10;
    proxy_detector<msg> proxies(pc);

    const auto warm = traffic(0);
    for (const msg& r : warm) {
        scans.feed(r);
        proxies.feed(r);
    }
    // Let pending verdicts and events happen: they allocate once per source, not per record.
    proxies.clock().set(at_seconds(50));
    (void)scans.poll();
    (void)proxies.poll();

    const auto steady = traffic(60); // the same parties a minute later
    const std::size_t before = counting::allocations.load();
    for (const msg& r : steady) {
        scans.feed(r);
        proxies.feed(r);
    }
    const std::size_t during = counting::allocations.load() - before;
    CHECK(during == 0);
    // The batch feed, which prefetches ahead, allocates nothing either.
    const auto batch = traffic(120);
    const std::size_t before_batch = counting::allocations.load();
    scans.feed(std::span<const msg>(batch));
    proxies.feed(std::span<const msg>(batch));
    CHECK(counting::allocations.load() - before_batch == 0);
    const auto together = traffic(180);
    const std::size_t before_together = counting::allocations.load();
    feed_all(std::span<const msg>(together), scans, proxies);
    CHECK(counting::allocations.load() - before_together == 0);
    // And the counter does count: new sources need new table chunks and a larger index.
    CHECK(scans.stats().tracked > 0);
    const std::size_t before_new = counting::allocations.load();
    for (int i = 0; i < 2000; ++i)
        scans.feed(request(200 + i * 0.001, ("10.200." + std::to_string(i / 250) + "." + std::to_string(i % 250 + 1)).c_str(),
                           "192.0.2.20", sip_method::options, "x"));
    CHECK(counting::allocations.load() > before_new);
}

TEST_CASE("a population that renews itself allocates nothing once it is steady") {
    if (!counting::active) {
        WARN("SKIPPED: the sanitizer owns the allocator, allocations cannot be counted in this build");
        return;
    }
    scan_config sc;
    sc.source_idle_timeout = std::chrono::seconds(600);
    proxy_config pc;
    pc.candidate_idle_timeout = std::chrono::seconds(600);
    scan_detector<msg> scans(sc);
    proxy_detector<msg> proxies(pc);
    // Phone i appears at i/10 s, registers every 30 s for 300 s, then falls
    // silent: 3,000 phones are live, and each sweep (every 60 s) expires
    // about 600 of the 9,000 entries.
    std::vector<msg> second;
    auto phones_at = [&](int t) {
        second.clear();
        for (long i = std::max(0L, 10L * (t - 300)); i <= 10L * t; ++i) {
            if (i % 30 != t % 30) continue;
            const std::string client = "10." + std::to_string(i >> 16 & 255) + "." + std::to_string(i >> 8 & 255) + "." +
                                       std::to_string(i & 255);
            second.push_back(request(t + static_cast<double>(i % 10) / 10, client.c_str(), "192.0.2.1",
                                     sip_method::register_, "phone" + std::to_string(i)));
        }
    };
    std::size_t allocations = 0, records = 0;
    std::uint64_t expired_before = 0;
    for (int t = 0; t < 3600; ++t) {
        phones_at(t);
        const bool measured = t >= 2400; // the first 40 minutes fill the tables
        if (t == 2400) expired_before = scans.stats().sources_expired;
        const std::size_t before = counting::allocations.load();
        if (t % 2 == 0) {
            feed_all(std::span<const msg>(second), scans, proxies);
        } else {
            for (const msg& r : second) {
                scans.feed(r);
                proxies.feed(r);
            }
        }
        if (measured) {
            allocations += counting::allocations.load() - before;
            records += second.size();
        }
        scans.clock().set(at_seconds(t + 1));
        proxies.clock().set(at_seconds(t + 1));
        (void)scans.poll();
        (void)proxies.poll();
    }
    INFO(records << " records in the last 20 minutes");
    CHECK(records > 100'000);
    CHECK(scans.stats().sources_expired - expired_before > 10'000); // the population did renew itself
    CHECK(allocations == 0);
}

namespace {

// A stateful allocator that counts what it hands out and takes its memory
// from malloc, so that the counting global operator new sees none of it.
template <class T>
struct tracking_allocator {
    using value_type = T;
    std::size_t* allocations = nullptr;

    tracking_allocator() = default;
    explicit tracking_allocator(std::size_t* counter) noexcept : allocations(counter) {}
    template <class U> tracking_allocator(const tracking_allocator<U>& other) noexcept : allocations(other.allocations) {}

    T* allocate(std::size_t n) {
        constexpr std::size_t align = alignof(T) > alignof(std::max_align_t) ? alignof(T) : alignof(std::max_align_t);
        const std::size_t bytes = (n * sizeof(T) + align - 1) / align * align;
        void* p = std::aligned_alloc(align, bytes);
        if (p == nullptr) throw std::bad_alloc();
        ++*allocations;
        return static_cast<T*>(p);
    }
    void deallocate(T* p, std::size_t) noexcept { std::free(p); }
    template <class U> friend bool operator==(const tracking_allocator& a, const tracking_allocator<U>& b) noexcept {
        return a.allocations == b.allocations;
    }
};

} // namespace

TEST_CASE("the detectors take every allocation of feed() from the allocator they are given") {
    if (!counting::active) {
        WARN("SKIPPED: the sanitizer owns the allocator, allocations cannot be counted in this build");
        return;
    }
    using alloc = tracking_allocator<std::byte>;
    std::size_t from_allocator = 0;
    scan_config sc;
    sc.threshold = 10;
    // Verdicts in the ClosedSeason make no event, so feed() makes none of
    // the events handed out, which are plain std types.
    proxy_config pc;
    pc.min_uris = 10;
    scan_detector<msg, manual_clock, alloc> scans(sc, manual_clock{}, alloc(&from_allocator));
    proxy_detector<msg, manual_clock, alloc> proxies(pc, manual_clock{}, alloc(&from_allocator));

    std::vector<msg> records = traffic(0);
    for (int i = 0; i < 3000; ++i) // new sources: table chunks and larger indexes
        records.push_back(request(10 + i * 0.001, ("10.200." + std::to_string(i / 250) + "." + std::to_string(i % 250 + 1)).c_str(),
                                  "192.0.2.20", sip_method::options, "x"));
    // A minute later: the proxy's verdict falls due on the feed path.
    records.push_back(request(70, "198.51.100.1", "192.0.2.20", sip_method::register_, "phone0"));
    const std::size_t global_before = counting::allocations.load();
    feed_all(std::span<const msg>(records), scans, proxies);
    CHECK(counting::allocations.load() - global_before == 0);
    CHECK(from_allocator > 20); // entries, indexes, evidence, fingerprint arrays, user agents, lists
    CHECK(proxies.is_learned(ip("192.0.2.10"))); // learned in the season, in a table from the allocator
    CHECK(scans.stats().memory_bytes > 0);

    // Events are the caller's, made with std::allocator; state round-trips.
    const auto events = scans.flush();
    REQUIRE(events.size() == 4); // the start and end of both scanners' scans
    std::stringstream state;
    proxies.save(state);
    proxy_detector<msg, manual_clock, alloc> reloaded(pc, manual_clock{}, alloc(&from_allocator));
    const std::size_t before_load = from_allocator;
    reloaded.load(state);
    CHECK(from_allocator > before_load);
    CHECK(reloaded.is_learned(ip("192.0.2.10")));
}
