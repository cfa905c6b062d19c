// The optimised detectors against their simple reference models, on random
// and adversarial streams (hash-colliding keys, sources at the memory caps,
// records back in time, a clock that jumps): identical events and counters,
// always.
#include "catch.hpp"
#include "reference_campaign_model.hpp"
#include "reference_proxy_model.hpp"
#include "reference_scan_model.hpp"
#include "test_support.hpp"

#include <sipdetect/campaign_detector.hpp>
#include <sipdetect/feed_all.hpp>
#include <sipdetect/proxy_detector.hpp>
#include <sipdetect/scan_detector.hpp>

#include <span>

using namespace sipdetect;

namespace {

struct rng {
    std::uint64_t state;
    std::uint64_t next() {
        std::uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        return z ^ (z >> 31);
    }
    std::uint32_t below(std::uint32_t n) { return static_cast<std::uint32_t>(next() % n); }
    bool chance(double p) { return static_cast<double>(next() >> 11) * 0x1.0p-53 < p; }
};

// How record times move: mostly small steps forward, sometimes a long pause,
// sometimes back. A coarse grid with short timeouts makes times meet the
// rules' boundaries exactly.
struct time_shape {
    double step = 0.5;              // seconds; a step is 0 to steps-1 of these
    std::uint32_t steps = 30;
    std::uint32_t pause = 900;      // a pause lasts pause to pause + pause_spread seconds
    std::uint32_t pause_spread = 4000;
    std::uint32_t back = 600;       // a record back in time goes up to this many seconds back

    double next(rng& r, double t) const {
        return t + (r.chance(0.01) ? pause + r.below(pause_spread) : r.below(steps) * step);
    }
    double when(rng& r, double t) const { return r.chance(0.02) ? t - r.below(back) : t; }
};
constexpr time_shape coarse_grid{1.0, 3, 20, 60, 5};

struct stream_shape {
    std::vector<ip_address> clients;
    std::uint32_t servers = 12;
    std::uint32_t users = 12;
    double response = 0.4;     // share of requests answered
    std::size_t records = 4000;
    time_shape time;
};

std::vector<msg> random_stream(rng& r, const stream_shape& shape) {
    std::vector<msg> out;
    double t = 1000;
    const sip_method methods[] = {sip_method::register_, sip_method::options, sip_method::invite, sip_method::bye};
    for (std::size_t i = 0; i < shape.records; ++i) {
        t = shape.time.next(r, t);
        const double when = shape.time.when(r, t);
        msg m;
        m.time = at_seconds(when);
        m.src = shape.clients[r.below(static_cast<std::uint32_t>(shape.clients.size()))];
        m.dst = r.chance(0.1) ? ip_address::parse("2001:db8::" + std::to_string(r.below(shape.servers) + 1))
                              : ip_address::from_v4(0x0a000000u + r.below(shape.servers));
        m.dst_port = static_cast<std::uint16_t>(5060 + r.below(3));
        m.method = methods[r.below(4)];
        std::string user = std::to_string(r.below(shape.users));
        if (r.chance(0.05)) user = std::string(40, 'x') + user; // users that share a 32-byte prefix
        if (r.chance(0.01)) user = std::string(300, 'y') + user; // beyond the hashed length
        m.to_uri = r.chance(0.05) ? "" : "sip:" + user + "@h";
        m.request_uri = "sip:" + user + "@h";
        m.from_uri = "sip:" + std::to_string(r.below(5)) + "@f";
        m.user_agent = r.chance(0.1) ? "friendly-scanner" : "agent" + std::to_string(r.below(8));
        m.via_count = r.chance(0.1) ? 2 : 1;
        out.push_back(m);
        if (r.chance(shape.response)) {
            static const std::uint16_t statuses[] = {100, 180, 200, 401, 403, 404, 486, 503, 999};
            msg answer = r.chance(0.5) ? response(m, when + 0.01, statuses[r.below(9)])
                                       : response_biflow(m, when + 0.01, statuses[r.below(9)]);
            out.push_back(answer);
        }
    }
    return out;
}

// Feeds a stream up to a record in batches of random sizes, drawn from a
// generator of its own so that the caller's stays as its streams were drawn.
template <class Record, class Feed> class batch_feeder {
public:
    batch_feeder(const std::vector<Record>& stream, Feed feed) : stream_(stream), feed_(std::move(feed)) {}
    void feed_until(std::size_t end) {
        while (unfed_ < end) {
            const std::size_t n = std::min<std::size_t>(end - unfed_, 1 + sizes_.below(40));
            feed_(std::span<const Record>(stream_).subspan(unfed_, n));
            unfed_ += n;
        }
    }

private:
    const std::vector<Record>& stream_;
    Feed feed_;
    rng sizes_{stream_.size()};
    std::size_t unfed_ = 0; // first record not yet fed
};

// The model, the detector fed record by record and the detector fed in
// batches of random sizes (feed(std::span), which prefetches) must agree.
// Between polls the clock is set up to clock_jump seconds either side of the
// newest record. Returns the detector's counters at the end, with which a
// test checks that its streams did start scans (events_started).
template <class Record>
scan_stats compare(const scan_config& cfg, const std::vector<Record>& stream, rng& r, std::uint32_t clock_jump = 3600) {
    scan_detector<Record> real(cfg);
    scan_detector<Record> batched(cfg);
    reference_scan_model<Record> model(cfg);
    batch_feeder feeder(stream, [&](std::span<const Record> batch) { batched.feed(batch); });
    for (std::size_t i = 0; i < stream.size(); ++i) {
        real.feed(stream[i]);
        model.feed(stream[i]);
        if (r.chance(0.05)) {
            feeder.feed_until(i + 1);
            // The clock jumps around, backwards included.
            real.clock().set(real.watermark() + std::chrono::seconds(r.below(2 * clock_jump)) -
                             std::chrono::seconds(clock_jump));
            batched.clock().set(real.clock().now());
            const auto a = real.poll();
            const auto b = model.poll(real.clock().now());
            REQUIRE(a == b);
            REQUIRE(batched.poll() == a);
        }
    }
    feeder.feed_until(stream.size());
    const auto a = real.flush();
    const auto b = model.flush(real.clock().now());
    REQUIRE(a == b);
    REQUIRE(batched.flush() == a);
    CHECK(batched.stats() == real.stats());
    scan_stats counters = real.stats();
    counters.memory_bytes = 0;
    CHECK(counters == model.stats());
    return counters;
}

// The models break ties of last_seen by their own order, the detectors by
// table position: the cap tests give every record its own microsecond.
template <class Record>
void make_times_distinct(std::vector<Record>& stream) {
    REQUIRE(stream.size() < 10'000);
    for (std::size_t i = 0; i < stream.size(); ++i) {
        const std::int64_t us = micros_of(stream[i].time);
        stream[i].time = record_time_from_micros((us + 5'000) / 10'000 * 10'000 + static_cast<std::int64_t>(i));
    }
}

std::vector<ip_address> plain_clients(std::size_t n) {
    std::vector<ip_address> out;
    for (std::size_t i = 0; i < n; ++i)
        out.push_back(i % 5 == 0 ? ip_address::parse("2001:db8:66::" + std::to_string(i + 1))
                                 : ip_address::from_v4(0xc0000200u + static_cast<std::uint32_t>(i)));
    return out;
}

// Clients whose table keys all land in the same home bucket of a small table:
// long probe chains, and deletions inside them. The detector's own table
// type (Entry: its entry) and hash seed decide the home bucket.
template <class Entry>
std::vector<ip_address> colliding_clients(std::uint64_t hash_seed, std::size_t n) {
    std::vector<ip_address> out;
    const detail::flat_table<detail::source_key, Entry, detail::source_key_hasher> table(
        detail::source_key_hasher{hash_seed});
    const auto home = [&](const ip_address& a) { return table.fragment_of(detail::source_key{a, 0}) & 1023u; };
    const std::uint32_t first = 0xcb007100u; // 203.0.113.0, outside every filter of these tests
    const std::uint32_t target = home(ip_address::from_v4(first));
    for (std::uint32_t i = 0; out.size() < n; ++i) {
        const ip_address a = ip_address::from_v4(first + i);
        if (home(a) == target) out.push_back(a);
    }
    return out;
}

} // namespace

TEST_CASE("differential: random streams, default-like configuration") {
    for (std::uint64_t seed = 1; seed <= 12; ++seed) {
        INFO("seed " << seed);
        rng r{seed};
        scan_config cfg;
        cfg.threshold = 3 + r.below(8);
        cfg.max_distinct = cfg.threshold + r.below(20);
        cfg.evidence_targets = r.below(25);
        cfg.max_user_agents = r.below(5);
        cfg.update_interval = std::chrono::seconds(r.below(1200));
        cfg.event_idle_timeout = std::chrono::seconds(600 + r.below(3600));
        cfg.source_idle_timeout = std::chrono::seconds(1200 + r.below(7200));
        cfg.max_success_share = r.below(3) * 0.4;
        cfg.ignore_relayed = r.chance(0.7);
        cfg.register_scan = r.chance(0.8);
        cfg.options_scan = r.chance(0.8);
        cfg.invite_scan = r.chance(0.8);
        if (r.chance(0.3)) cfg.destination_filter = prefix_set::parse("10.0.0.0/29,2001:db8::/120");
        stream_shape shape;
        shape.clients = plain_clients(3 + r.below(20));
        const auto stream = random_stream(r, shape);
        const scan_stats counters = compare(cfg, stream, r);
        CHECK(counters.events_started > 0);
    }
}

TEST_CASE("differential: threshold 1 and saturation at max_distinct") {
    rng r{99};
    scan_config cfg;
    cfg.threshold = 1;
    cfg.max_distinct = 4;
    stream_shape shape;
    shape.clients = plain_clients(6);
    const scan_stats counters = compare(cfg, random_stream(r, shape), r);
    CHECK(counters.events_started > 0);
}

TEST_CASE("differential: times on a coarse grid meet the timeouts exactly") {
    for (std::uint64_t seed = 30; seed < 38; ++seed) {
        INFO("seed " << seed);
        rng r{seed};
        scan_config cfg;
        cfg.threshold = 2 + r.below(4);
        cfg.max_distinct = cfg.threshold + r.below(6);
        cfg.update_interval = std::chrono::seconds(r.below(20));
        cfg.event_idle_timeout = std::chrono::seconds(5 + r.below(40));
        cfg.source_idle_timeout = std::chrono::seconds(10 * (1 + r.below(8)));
        cfg.max_lateness = std::chrono::seconds(r.below(6));
        stream_shape shape;
        shape.clients = plain_clients(3 + r.below(10));
        shape.time = coarse_grid;
        const scan_stats counters = compare(cfg, random_stream(r, shape), r, 30);
        CHECK(counters.events_started > 0);
    }
}

TEST_CASE("differential: hash-colliding keys with expiry and deletion in long probe chains") {
    for (std::uint64_t seed = 20; seed < 24; ++seed) {
        rng r{seed};
        scan_config cfg;
        cfg.threshold = 4;
        cfg.source_idle_timeout = std::chrono::seconds(900);
        cfg.event_idle_timeout = std::chrono::seconds(600);
        cfg.hash_seed = 0x5eed5ca9u; // the keys collide under this seed
        stream_shape shape;
        shape.clients = colliding_clients<detail::scan_source<std::allocator<std::byte>>>(*cfg.hash_seed, 40);
        shape.records = 6000;
        const scan_stats counters = compare(cfg, random_stream(r, shape), r);
        CHECK(counters.events_started > 0);
    }
}

TEST_CASE("differential: many sources at max_tracked, evictions and refusals included") {
    std::uint64_t evicted = 0, rejected = 0;
    for (std::uint64_t seed = 40; seed < 52; ++seed) {
        INFO("seed " << seed);
        rng r{seed};
        scan_config cfg;
        cfg.threshold = 2 + r.below(4);
        cfg.max_distinct = cfg.threshold + r.below(6);
        cfg.max_tracked = 1 + r.below(8); // at most 8: the detector's sample of victims is every entry
        cfg.evidence_targets = r.below(6);
        cfg.update_interval = std::chrono::seconds(r.below(1200));
        cfg.source_idle_timeout = std::chrono::seconds(1200 + r.below(7200));
        cfg.hash_seed = 0x5eed5ca9u; // the colliding keys collide under this seed
        stream_shape shape;
        const std::size_t clients = 10 + r.below(30);
        shape.clients = seed % 2 ? plain_clients(clients) : colliding_clients<detail::scan_source<std::allocator<std::byte>>>(*cfg.hash_seed, clients);
        shape.servers = 4;
        shape.users = 6;
        auto stream = random_stream(r, shape);
        make_times_distinct(stream);
        const scan_stats counters = compare(cfg, stream, r);
        CHECK(counters.events_started > 0);
        evicted += counters.sources_evicted;
        rejected += counters.sources_rejected;
    }
    CHECK(evicted > 1000);
    CHECK(rejected > 0);
}

namespace {

// Proxies (many From URIs, relayed, answered), scanners rotating From users
// (mostly refused), and phones (one or two URIs), with the caps, the filter
// and every time rule in play.
std::vector<msg> random_proxy_stream(rng& r, const std::vector<ip_address>& clients, std::size_t records,
                                     const time_shape& time = {}) {
    std::vector<msg> out;
    double t = 1000;
    const sip_method methods[] = {sip_method::register_, sip_method::invite, sip_method::options,
                                  sip_method::ack,       sip_method::bye,    sip_method::unknown};
    const std::string long_uri = "sip:" + std::string(300, 'l') + "@example.net";
    for (std::size_t i = 0; i < records; ++i) {
        t = time.next(r, t);
        const double when = time.when(r, t);
        const std::uint32_t who = r.below(static_cast<std::uint32_t>(clients.size()));
        const std::uint32_t role = who % 4; // 0: proxy, 1: scanner, else a phone
        msg m;
        m.time = at_seconds(when);
        m.src = clients[who];
        m.dst = r.chance(0.1) ? ip_address::parse("2001:db8:5::1") : ip_address::from_v4(0xc6336401u + r.below(3));
        m.method = methods[r.below(r.chance(0.02) ? 6 : 5)];
        const std::uint32_t user = role == 0 ? r.below(30) : role == 1 ? r.below(60) : who + r.below(2) * 1000;
        m.from_uri = r.chance(0.01) ? long_uri : "sip:u" + std::to_string(user) + "@example.net";
        m.to_uri = m.request_uri = "sip:" + std::to_string(r.below(9)) + "@example.org";
        m.user_agent = r.chance(0.2) ? "" : r.chance(0.05) ? std::string(200, 'a') : "agent" + std::to_string(r.below(6));
        m.via_count = role == 0 ? 2 + r.below(2) : r.chance(0.1) ? 0 : 1;
        out.push_back(m);
        if (m.method != sip_method::ack && r.chance(role == 1 ? 0.5 : 0.7)) {
            static const std::uint16_t ok[] = {200, 202, 180, 401}, refused[] = {403, 404, 100, 999};
            const std::uint16_t status = (role == 1 ? refused : ok)[r.below(4)];
            out.push_back(r.chance(0.5) ? response(m, when + 0.01, status) : response_biflow(m, when + 0.01, status));
        }
    }
    return out;
}

proxy_config random_proxy_config(rng& r) {
    proxy_config cfg;
    cfg.min_uris = 2 + r.below(7);
    cfg.closed_season = std::chrono::seconds(r.chance(0.3) ? 0 : r.below(6000));
    cfg.time_to_death = std::chrono::seconds(600 + r.below(8000));
    cfg.candidate_idle_timeout = std::chrono::seconds(300 + r.below(8000));
    cfg.answer_grace = std::chrono::seconds(r.below(60));
    cfg.min_success_share = r.below(3) * 0.3;
    cfg.uri_samples = r.below(6);
    cfg.peer_samples = r.below(4);
    cfg.max_user_agents = r.below(4);
    if (r.chance(0.3)) cfg.max_lateness = std::chrono::seconds(300);
    if (r.chance(0.3)) {
        cfg.filter = prefix_set::parse("192.0.2.0/29,198.51.100.0/24,2001:db8:66::/120");
        cfg.filter_mode = r.chance(0.5) ? proxy_filter_mode::exclude_devices : proxy_filter_mode::exclude_internal;
    }
    return cfg;
}

// What compare() saw, so a test can check that its streams reach the rules it names.
struct proxy_run {
    std::size_t events = 0;
    proxy_stats stats;
    // When the candidates of the events poll() returned crossed min_uris:
    // their verdicts fell due then, one answer grace later.
    std::vector<record_time> crossings;
};

// The model, the detector fed record by record and the detector fed in
// batches of random sizes must agree on events, learned proxies and counters.
template <class Record>
proxy_run compare_proxy(const proxy_config& cfg, const std::vector<Record>& stream, rng& r,
                        std::uint32_t clock_jump = 3600) {
    proxy_detector<Record> real(cfg), batched(cfg);
    reference_proxy_model<Record> model(cfg);
    proxy_run run;
    std::size_t unbatched = 0;
    rng batch_sizes{stream.size()};
    auto feed_batches = [&](std::size_t end) {
        while (unbatched < end) {
            const std::size_t n = std::min<std::size_t>(end - unbatched, 1 + batch_sizes.below(40));
            batched.feed(std::span<const Record>(stream).subspan(unbatched, n));
            unbatched += n;
        }
    };
    auto same_state = [&] {
        REQUIRE(real.learned_proxies() == model.learned_proxies());
        proxy_stats counters = real.stats();
        counters.memory_bytes = 0;
        REQUIRE(counters == model.stats());
    };
    for (std::size_t i = 0; i < stream.size(); ++i) {
        real.feed(stream[i]);
        model.feed(stream[i]);
        if (r.chance(0.05)) {
            feed_batches(i + 1);
            real.clock().set(real.watermark() + std::chrono::seconds(r.below(2 * clock_jump)) -
                             std::chrono::seconds(clock_jump));
            batched.clock().set(real.clock().now());
            const auto a = real.poll();
            REQUIRE(a == model.poll(real.clock().now()));
            REQUIRE(batched.poll() == a);
            same_state();
            run.events += a.size();
            for (const proxy_event& e : a) run.crossings.push_back(e.detected_at - cfg.answer_grace);
        }
    }
    feed_batches(stream.size());
    const auto a = real.flush();
    REQUIRE(a == model.flush(real.clock().now()));
    REQUIRE(batched.flush() == a);
    same_state();
    CHECK(batched.stats() == real.stats());
    run.events += a.size();
    run.stats = real.stats();
    return run;
}

} // namespace

TEST_CASE("differential: SIPPROXY on random streams") {
    std::uint64_t events = 0, in_training = 0, scanner_like = 0, expired = 0, filtered = 0, late = 0;
    for (std::uint64_t seed = 1; seed <= 16; ++seed) {
        INFO("seed " << seed);
        rng r{seed};
        const proxy_config cfg = random_proxy_config(r);
        const auto run = compare_proxy(cfg, random_proxy_stream(r, plain_clients(8 + r.below(40)), 4000), r);
        events += run.events;
        in_training += run.stats.learned_in_training;
        scanner_like += run.stats.judged_scanner_like;
        expired += run.stats.proxies_expired + run.stats.candidates_expired;
        filtered += run.stats.filtered;
        late += run.stats.late_dropped;
    }
    // The streams reach every rule the model has.
    CHECK(events > 0);
    CHECK(in_training > 0);
    CHECK(scanner_like > 0);
    CHECK(expired > 0);
    CHECK(filtered > 0);
    CHECK(late > 0);
}

// The season's end is set where a candidate crosses min_uris: the run
// without a season finds the crossings, and the replay (same stream, same
// polls; the season changes only whether a verdict is an event) ends the
// season exactly at one of them, which must then be an event.
TEST_CASE("differential: SIPPROXY with times on a coarse grid, meeting the season's end and the timeouts exactly") {
    std::uint64_t events = 0, in_training = 0, expired = 0, aimed = 0;
    for (std::uint64_t seed = 40; seed < 56; ++seed) {
        INFO("seed " << seed);
        rng r{seed};
        proxy_config cfg = random_proxy_config(r);
        cfg.closed_season = record_duration::zero();
        cfg.time_to_death = std::chrono::seconds(10 * (1 + r.below(20)));
        cfg.candidate_idle_timeout = std::chrono::seconds(10 * (1 + r.below(20)));
        cfg.answer_grace = std::chrono::seconds(r.below(8));
        cfg.max_lateness = std::chrono::seconds(r.below(6));
        const auto stream = random_proxy_stream(r, plain_clients(8 + r.below(24)), 3000, coarse_grid);
        rng replay = r;
        const auto seasonless = compare_proxy(cfg, stream, r, 30);
        std::vector<record_time> later;
        for (const record_time t : seasonless.crossings)
            if (t > stream.front().time) later.push_back(t);
        if (later.empty()) continue; // this seed's configuration made no event: the run above compared it
        ++aimed;
        const record_time season_end = later[later.size() / 2];
        cfg.closed_season = season_end - stream.front().time;
        const auto run = compare_proxy(cfg, stream, replay, 30);
        CHECK(std::count(run.crossings.begin(), run.crossings.end(), season_end) >= 1);
        events += run.events;
        in_training += run.stats.learned_in_training;
        expired += run.stats.proxies_expired + run.stats.candidates_expired;
    }
    CHECK(aimed >= 12);
    CHECK(events > 0);
    CHECK(in_training > 0);
    CHECK(expired > 0);
}

TEST_CASE("differential: SIPPROXY with hash-colliding keys, many sources at max_candidates and max_proxies") {
    std::uint64_t events = 0, evicted = 0, rejected = 0, proxies_evicted = 0;
    for (std::uint64_t seed = 60; seed < 76; ++seed) {
        INFO("seed " << seed);
        rng r{seed};
        proxy_config cfg = random_proxy_config(r);
        // At most 8: the detector's sample of victims is every entry.
        cfg.max_candidates = 1 + r.below(8);
        cfg.max_proxies = 1 + r.below(8);
        cfg.hash_seed = 0x5eedf00du; // the colliding keys collide under this seed
        const std::size_t n = 12 + r.below(30);
        const auto clients = seed % 2 ? colliding_clients<detail::proxy_candidate<std::allocator<std::byte>>>(*cfg.hash_seed, n) : plain_clients(n);
        auto stream = random_proxy_stream(r, clients, 5000);
        make_times_distinct(stream);
        const auto run = compare_proxy(cfg, stream, r);
        events += run.events;
        evicted += run.stats.candidates_evicted;
        rejected += run.stats.candidates_rejected;
        proxies_evicted += run.stats.proxies_evicted;
    }
    CHECK(events > 0);
    CHECK(evicted > 1000);
    CHECK(rejected > 0);
    CHECK(proxies_evicted > 0);
}

namespace {

// A flow record with per-flow SIP counters instead of one message, as
// Flowmon's sipStats gives them: one record stands for several requests and
// their answers.
struct counter_flow {
    record_time time{};
    ip_address src, dst;
    std::uint16_t dst_port = 5060;
    std::string from_uri, to_uri, user_agent;
    unsigned via_count = 1;
    sip_counters counters;
};

// Proxies (many From URIs, relayed), scanners (many hosts and users, few
// answers accepted) and phones, each flow with a few requests of each kind,
// or with one_kind of one SIPSCAN submethod only: a flow then updates one
// SIPSCAN entry, so distinct record times keep the entries' last_seen apart.
std::vector<counter_flow> random_counter_stream(rng& r, const std::vector<ip_address>& clients, std::size_t records,
                                                bool one_kind) {
    std::vector<counter_flow> out;
    const time_shape time;
    double t = 1000;
    for (std::size_t i = 0; i < records; ++i) {
        t = time.next(r, t);
        const std::uint32_t who = r.below(static_cast<std::uint32_t>(clients.size()));
        const std::uint32_t role = who % 4; // 0: proxy, 1: scanner, else a phone
        counter_flow f;
        f.time = at_seconds(time.when(r, t));
        f.src = clients[who];
        f.dst = role == 1 ? ip_address::from_v4(0x0a000000u + r.below(40)) : ip_address::from_v4(0xc6336401u + r.below(3));
        f.dst_port = static_cast<std::uint16_t>(5060 + r.below(2));
        f.to_uri = r.chance(0.05) ? "" : "sip:" + std::to_string(role == 1 ? r.below(30) : who) + "@example.org";
        const std::uint32_t from_user = role == 0 ? r.below(30) : role == 1 ? r.below(60) : who + r.below(2) * 1000;
        f.from_uri = "sip:u" + std::to_string(from_user) + "@example.net";
        f.user_agent = r.chance(0.2) ? "" : "agent" + std::to_string(r.below(6));
        f.via_count = role == 0 ? 2 + r.below(2) : r.chance(0.1) ? 0 : 1;
        sip_counters& c = f.counters;
        if (!r.chance(0.05)) { // else a flow of answers only
            c.register_requests = r.below(3);
            c.options_requests = r.below(3);
            c.invite_requests = r.below(2);
            c.other_requests = r.below(2);
            if (r.chance(0.01)) c.register_requests = 4'000'000'000u; // counts add up beyond 32 bits
            if (one_kind) {
                const std::uint32_t kind = r.below(3);
                if (kind != 0) c.register_requests = 0;
                if (kind != 1) c.options_requests = 0;
                if (kind != 2) c.invite_requests = 0;
            }
        }
        c.success_responses = role == 1 ? (r.chance(0.1) ? 1 : 0) : r.below(3);
        c.failure_responses = r.below(3);
        out.push_back(f);
    }
    return out;
}

} // namespace

TEST_CASE("differential: per-flow counter records (Flowmon sipStats), both detectors, caps included") {
    std::uint64_t scans_started = 0, proxy_events = 0, evicted = 0;
    for (std::uint64_t seed = 80; seed < 96; ++seed) {
        INFO("seed " << seed);
        rng r{seed};
        scan_config sc;
        sc.threshold = 3 + r.below(8);
        sc.max_distinct = sc.threshold + r.below(20);
        sc.evidence_targets = r.below(25);
        sc.max_success_share = r.below(3) * 0.4;
        sc.register_scan = r.chance(0.8);
        sc.options_scan = r.chance(0.8);
        sc.invite_scan = r.chance(0.8);
        if (r.chance(0.3)) sc.destination_filter = prefix_set::parse("10.0.0.0/29,198.51.100.0/30");
        proxy_config pc = random_proxy_config(r);
        const bool at_caps = seed % 2 == 1;
        auto stream = random_counter_stream(r, plain_clients(6 + r.below(30)), 3000, at_caps);
        if (at_caps) { // where victims are chosen: one microsecond a record, one SIPSCAN entry a record
            sc.max_tracked = 1 + r.below(8);
            pc.max_candidates = 1 + r.below(8);
            pc.max_proxies = 1 + r.below(8);
            make_times_distinct(stream);
        }
        const scan_stats scans = compare(sc, stream, r);
        const proxy_run proxies = compare_proxy(pc, stream, r);
        scans_started += scans.events_started;
        proxy_events += proxies.events;
        evicted += scans.sources_evicted + proxies.stats.candidates_evicted;
    }
    CHECK(scans_started > 0);
    CHECK(proxy_events > 0);
    CHECK(evicted > 0);
}

TEST_CASE("differential: feed_all() of both detectors in one pass decides as feeding each record by record") {
    for (std::uint64_t seed = 1; seed <= 4; ++seed) {
        INFO("seed " << seed);
        rng r{seed};
        proxy_config cfg;
        cfg.closed_season = std::chrono::seconds(r.below(30));
        cfg.min_uris = 3 + static_cast<std::uint32_t>(r.below(6));
        cfg.max_candidates = 16 + r.below(40); // evictions included
        std::vector<msg> stream;
        double t = 0;
        for (int i = 0; i < 3000; ++i) {
            t += 0.01 * static_cast<double>(r.below(100));
            const std::string client = "192.0.2." + std::to_string(1 + r.below(60));
            msg m = request(t, client.c_str(), ("198.51.100." + std::to_string(1 + r.below(4))).c_str(),
                            r.chance(0.5) ? sip_method::register_ : sip_method::invite, std::to_string(r.below(50)));
            m.from_uri = "sip:u" + std::to_string(r.below(client.back() % 3 == 0 ? 40 : 2)) + "@example.net";
            m.via_count = static_cast<unsigned>(1 + r.below(3));
            stream.push_back(m);
            if (r.chance(0.6)) stream.push_back(response(m, t + 0.005, r.chance(0.7) ? 200 : 403));
        }
        scan_config scan_cfg;
        scan_cfg.threshold = 5;
        scan_cfg.max_tracked = 40; // evictions included
        proxy_detector<msg> single(cfg), batched(cfg), together(cfg);
        scan_detector<msg> single_scans(scan_cfg), together_scans(scan_cfg);
        std::size_t events = 0, scan_events = 0;
        for (std::size_t i = 0; i < stream.size();) {
            const std::size_t n = std::min<std::size_t>(stream.size() - i, 1 + r.below(50));
            for (std::size_t k = i; k < i + n; ++k) {
                single.feed(stream[k]);
                single_scans.feed(stream[k]);
            }
            const auto batch = std::span<const msg>(stream).subspan(i, n);
            batched.feed(batch);
            feed_all(batch, together_scans, together);
            i += n;
            const auto a = single.poll();
            REQUIRE(batched.poll() == a);
            REQUIRE(together.poll() == a);
            events += a.size();
            const auto s = single_scans.poll();
            REQUIRE(together_scans.poll() == s);
            scan_events += s.size();
        }
        const auto a = single.flush();
        REQUIRE(batched.flush() == a);
        REQUIRE(together.flush() == a);
        events += a.size();
        const auto s = single_scans.flush();
        REQUIRE(together_scans.flush() == s);
        scan_events += s.size();
        CHECK(batched.stats() == single.stats());
        CHECK(together.stats() == single.stats());
        CHECK(together_scans.stats() == single_scans.stats());
        CHECK(events > 0);
        CHECK(scan_events > 0);
    }
}

// Fingerprints are part of saved state: a compiler without a 128-bit integer
// must compute the same ones.
TEST_CASE("the portable 64x64 multiply fold equals the 128-bit one") {
    rng r{99};
    const std::uint64_t edges[] = {0, 1, 0xffffffffu, 0x100000000u, ~std::uint64_t{0}, detail::hash_k1};
    for (std::uint64_t a : edges)
        for (std::uint64_t b : edges) CHECK(detail::fold_multiply_portable(a, b) == detail::fold_multiply(a, b));
    for (int i = 0; i < 100000; ++i) {
        const std::uint64_t a = r.next(), b = r.next();
        REQUIRE(detail::fold_multiply_portable(a, b) == detail::fold_multiply(a, b));
    }
}

namespace {

// Sources of a few kinds, each mostly true to its kind: scanning tools that
// mirror the target in From or send a fixed one, phones whose registrations
// and calls succeed, sources that change their User-Agent; probes of one to
// many targets, so that members, scanners and campaigns all occur.
std::vector<msg> random_campaign_stream(rng& r, std::size_t records, const time_shape& time) {
    std::vector<msg> out;
    double t = 1000;
    const sip_method methods[] = {sip_method::register_, sip_method::options, sip_method::invite, sip_method::bye};
    const char* agents[] = {"friendly-scanner", "pplsip", "", "Yealink SIP-T46S"};
    for (std::size_t i = 0; i < records; ++i) {
        t = time.next(r, t);
        const double when = time.when(r, t);
        const std::uint32_t client = r.below(90);
        const std::uint32_t kind = client % 4;
        const std::string server = r.chance(0.1) ? "2001:db8::" + std::to_string(1 + r.below(40))
                                                 : "10.0." + std::to_string(r.below(3)) + "." + std::to_string(1 + r.below(30));
        const std::string user = std::to_string(100 + r.below(kind == 1 ? 60 : 8));
        msg m = request(when, ("192.0.2." + std::to_string(1 + client)).c_str(), server.c_str(),
                        r.chance(0.9) ? methods[kind % 3] : methods[r.below(4)], user,
                        static_cast<std::uint16_t>(5060 + (r.chance(0.1) ? r.below(3) : 0)));
        m.user_agent = agents[r.chance(0.03) ? r.below(4) : kind];
        if (kind == 0) m.from_uri = "\"sipvicious\"<sip:100@1.1.1.1>";
        if (kind == 2 && r.chance(0.5)) m.from_uri = "sip:" + std::to_string(client) + "@pbx.example";
        if (r.chance(0.02)) m.from_uri = "sip:x@[" + server + "]";
        if (r.chance(0.01)) m.to_uri.clear();
        m.via_count = r.chance(0.05) ? 2 : 1;
        out.push_back(m);
        if (r.chance(kind == 3 ? 0.8 : 0.2)) {
            static const std::uint16_t statuses[] = {100, 200, 401, 404, 999};
            const std::uint16_t status = kind == 3 ? 200 : statuses[r.below(5)];
            out.push_back(r.chance(0.5) ? response(m, when + 0.01, status) : response_biflow(m, when + 0.01, status));
        }
    }
    return out;
}

campaign_config random_campaign_config(rng& r) {
    campaign_config c;
    c.campaign_threshold = 4 + r.below(20);
    c.min_sources = 2 + r.below(5);
    c.scan_threshold = 3 + r.below(15);
    c.campaign_window = std::chrono::seconds(300 + r.below(3600));
    c.event_idle_timeout = std::chrono::seconds(300 + r.below(3600));
    c.update_interval = std::chrono::seconds(r.below(900));
    c.source_idle_timeout = std::chrono::seconds(1000 + r.below(8000));
    c.source_samples = r.below(12);
    c.options_scan = !r.chance(0.2);
    c.ignore_relayed = !r.chance(0.2);
    if (r.chance(0.2)) c.destination_filter = prefix_set::parse("10.0.0.0/16,2001:db8::/120");
    return c;
}

// The model, the detector fed record by record, and the detector fed in
// batches through feed_all() beside a scan detector, agree at every poll.
campaign_stats compare_campaign(const campaign_config& cfg, const std::vector<msg>& stream, rng& r) {
    campaign_detector<msg> real(cfg), batched(cfg);
    scan_detector<msg> scans;
    reference_campaign_model<msg> model(cfg);
    batch_feeder feeder(stream, [&](std::span<const msg> batch) { feed_all(batch, scans, batched); });
    for (std::size_t i = 0; i < stream.size(); ++i) {
        real.feed(stream[i]);
        model.feed(stream[i]);
        if (r.chance(0.05)) {
            feeder.feed_until(i + 1);
            real.clock().set(real.watermark() + std::chrono::seconds(r.below(7200)) - std::chrono::seconds(3600));
            batched.clock().set(real.clock().now());
            const auto a = real.poll();
            REQUIRE(a == model.poll(real.clock().now()));
            REQUIRE(batched.poll() == a);
        }
    }
    feeder.feed_until(stream.size());
    const auto a = real.flush();
    REQUIRE(a == model.flush(real.clock().now()));
    REQUIRE(batched.flush() == a);
    campaign_stats counters = real.stats();
    CHECK(batched.stats() == counters);
    counters.memory_bytes = 0;
    CHECK(counters == model.stats());
    return counters;
}

} // namespace

TEST_CASE("differential: SIPCAMPAIGN on random streams against its reference model") {
    std::uint64_t started = 0, scanners = 0, answered = 0, inconsistent = 0, expired = 0;
    for (std::uint64_t seed = 1; seed <= 40; ++seed) {
        INFO("seed " << seed);
        rng r{seed};
        const campaign_config cfg = random_campaign_config(r);
        const auto stream = random_campaign_stream(r, 3000, seed % 2 == 0 ? coarse_grid : time_shape{});
        const campaign_stats s = compare_campaign(cfg, stream, r);
        started += s.events_started;
        scanners += s.scanners_excluded;
        answered += s.answered_excluded;
        inconsistent += s.inconsistent_excluded;
        expired += s.sources_expired;
    }
    // The streams did exercise every rule.
    CHECK(started > 10);
    CHECK(scanners > 0);
    CHECK(answered > 0);
    CHECK(inconsistent > 0);
    CHECK(expired > 0);
}
