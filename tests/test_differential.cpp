// The optimised scan detector against the simple reference model, on random
// and adversarial streams: identical events, always.
#include "catch.hpp"
#include "reference_scan_model.hpp"
#include "test_support.hpp"

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

struct stream_shape {
    std::vector<ip_address> clients;
    std::uint32_t servers = 12;
    std::uint32_t users = 12;
    double backwards = 0.02;   // share of records that go back in time
    double response = 0.4;     // share of requests answered
    std::size_t records = 4000;
};

std::vector<msg> random_stream(rng& r, const stream_shape& shape) {
    std::vector<msg> out;
    double t = 1000;
    const sip_method methods[] = {sip_method::register_, sip_method::options, sip_method::invite, sip_method::bye};
    for (std::size_t i = 0; i < shape.records; ++i) {
        t += r.chance(0.01) ? 900 + r.below(4000) : r.below(30) * 0.5;
        const double when = r.chance(shape.backwards) ? t - r.below(600) : t;
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

// The model, the detector fed record by record and the detector fed in
// batches of random sizes (feed(std::span), which prefetches) must agree.
void compare(const scan_config& cfg, const std::vector<msg>& stream, rng& r) {
    scan_detector<msg> real(cfg);
    scan_detector<msg> batched(cfg);
    reference_scan_model<msg> model(cfg);
    std::size_t events = 0;
    std::size_t unbatched = 0; // first record not yet given to `batched`
    rng batch_sizes{stream.size()}; // its own stream: `r` stays as the streams were drawn for
    auto feed_batches = [&](std::size_t end) {
        while (unbatched < end) {
            const std::size_t n = std::min<std::size_t>(end - unbatched, 1 + batch_sizes.below(40));
            batched.feed(std::span<const msg>(stream).subspan(unbatched, n));
            unbatched += n;
        }
    };
    for (std::size_t i = 0; i < stream.size(); ++i) {
        real.feed(stream[i]);
        model.feed(stream[i]);
        if (r.chance(0.05)) {
            feed_batches(i + 1);
            // The clock jumps around, backwards included.
            real.clock().set(real.watermark() + std::chrono::seconds(r.below(7200)) - std::chrono::seconds(3600));
            batched.clock().set(real.clock().now());
            const auto a = real.poll();
            const auto b = model.poll(real.clock().now());
            REQUIRE(a == b);
            REQUIRE(batched.poll() == a);
            events += a.size();
        }
    }
    feed_batches(stream.size());
    const auto a = real.flush();
    const auto b = model.flush(real.clock().now());
    REQUIRE(a == b);
    REQUIRE(batched.flush() == a);
    CHECK(batched.stats() == real.stats());
    events += a.size();
    CHECK(events > 0);
}

std::vector<ip_address> plain_clients(std::size_t n) {
    std::vector<ip_address> out;
    for (std::size_t i = 0; i < n; ++i)
        out.push_back(i % 5 == 0 ? ip_address::parse("2001:db8:66::" + std::to_string(i + 1))
                                 : ip_address::from_v4(0xc0000200u + static_cast<std::uint32_t>(i)));
    return out;
}

// Clients whose table keys all land in the same home bucket of a small table:
// long probe chains, and deletions inside them.
std::vector<ip_address> colliding_clients(const scan_config& cfg, std::size_t n) {
    std::vector<ip_address> out;
    // The detector's own table type decides the home bucket.
    const detail::flat_table<detail::source_key, detail::scan_source, detail::source_key_hasher> table(
        detail::source_key_hasher{cfg.hash_seed});
    const auto home = [&](const ip_address& a) { return table.fragment_of(detail::source_key{a, 0}) & 1023u; };
    const std::uint32_t target = home(ip_address::from_v4(0xc6336400u));
    for (std::uint32_t i = 0; out.size() < n; ++i) {
        const ip_address a = ip_address::from_v4(0xc6336400u + i);
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
        compare(cfg, stream, r);
    }
}

TEST_CASE("differential: threshold 1 and saturation at max_distinct") {
    rng r{99};
    scan_config cfg;
    cfg.threshold = 1;
    cfg.max_distinct = 4;
    stream_shape shape;
    shape.clients = plain_clients(6);
    compare(cfg, random_stream(r, shape), r);
}

TEST_CASE("differential: hash-colliding keys with expiry and deletion in long probe chains") {
    for (std::uint64_t seed = 20; seed < 24; ++seed) {
        rng r{seed};
        scan_config cfg;
        cfg.threshold = 4;
        cfg.source_idle_timeout = std::chrono::seconds(900);
        cfg.event_idle_timeout = std::chrono::seconds(600);
        stream_shape shape;
        shape.clients = colliding_clients(cfg, 40);
        shape.records = 6000;
        compare(cfg, random_stream(r, shape), r);
    }
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
