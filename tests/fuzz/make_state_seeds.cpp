// Writes the seed corpus of the state fuzz targets: saved images of
// detectors fed with our own synthetic records (no captured traffic).
//
//   fuzz_make_state_seeds <corpus dir>   writes <dir>/scan_state/*.state, <dir>/proxy_state/*.state and
//                                        <dir>/campaign_state/*.state
#include "fuzz_common.hpp"
#include "state_harness.hpp"

#include <sipdetect/state_file.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace {

using namespace sipdetect;
using fuzz::message_record;

void write(const std::filesystem::path& p, const std::string& bytes) {
    std::filesystem::create_directories(p.parent_path());
    std::ofstream out(p, std::ios::binary);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!out) {
        std::fprintf(stderr, "cannot write %s\n", p.c_str());
        std::exit(1);
    }
    std::printf("%s: %zu bytes\n", p.c_str(), bytes.size());
}

// The seeds' states carry fixed hash seeds, so that they are the same
// bytes whenever they are written again.
inline constexpr std::uint64_t scan_seed = 0x5eed5ca9u;
inline constexpr std::uint64_t proxy_seed = 0x5eedf00du;
inline constexpr std::uint64_t campaign_seed = 0x5eedca3bu;

scan_config seeded_scan() {
    scan_config c;
    c.hash_seed = scan_seed;
    return c;
}

proxy_config seeded_proxy() {
    proxy_config c;
    c.hash_seed = proxy_seed;
    return c;
}

scan_config small_scan() {
    scan_config c = seeded_scan();
    c.threshold = 3;
    c.max_tracked = 4;
    c.max_distinct = 4;
    c.evidence_targets = 2;
    c.max_user_agents = 1;
    c.destination_filter = prefix_set::parse("10.0.0.0/8,2001:db8::/32");
    return c;
}

proxy_config small_proxy() {
    proxy_config c = seeded_proxy();
    c.min_uris = 3;
    c.closed_season = std::chrono::seconds(5);
    c.answer_grace = std::chrono::seconds(1);
    c.max_candidates = 4;
    c.max_proxies = 2;
    c.uri_samples = 2;
    c.peer_samples = 2;
    c.max_user_agents = 1;
    c.filter = prefix_set::parse("192.0.2.0/24");
    return c;
}

// Sources that rotate From URIs (and so become proxy candidates or proxies).
std::vector<message_record> relays(std::int64_t t0, int sources, int users) {
    std::vector<message_record> out;
    for (int s = 0; s < sources; ++s) {
        const std::string src = "10.0.1." + std::to_string(s + 1);
        for (int u = 0; u < users; ++u) {
            message_record r = fuzz::state_msg(t0 + (s * users + u) * 1'000'000, src.c_str(), "10.0.0.20",
                                               sip_method::invite, "900");
            r.from_uri = "sip:user" + std::to_string(u) + "@example.com";
            r.via_count = 2;
            out.push_back(r);
            message_record a = fuzz::state_msg(r.time.time_since_epoch().count() + 1000, src.c_str(), "10.0.0.20",
                                               sip_method::invite, "900", u % 3 == 0 ? 486 : 200);
            a.from_uri = r.from_uri;
            out.push_back(a);
        }
    }
    return out;
}

campaign_config small_campaign() {
    campaign_config c;
    c.hash_seed = campaign_seed;
    c.campaign_threshold = 6;
    c.min_sources = 3;
    c.scan_threshold = 4;
    c.max_tracked = 12;
    c.max_groups = 4;
    c.max_members = 8;
    c.source_samples = 3;
    return c;
}

// Sources 10.0.2.x that each probe `per_source` hosts with one fingerprint,
// and one whose User-Agent changes.
std::vector<message_record> campaign_probes(std::int64_t t0, int sources, int per_source) {
    std::vector<message_record> out;
    int host = 0;
    for (int s = 0; s < sources; ++s) {
        const std::string src = "10.0.2." + std::to_string(s + 1);
        for (int k = 0; k < per_source; ++k, ++host) {
            const std::string dst = "10.1.1." + std::to_string(host % 250 + 1);
            message_record r = fuzz::state_msg(t0 + host * 1'000'000, src.c_str(), dst.c_str(), sip_method::options, "100");
            r.user_agent = s == 0 && k > 0 ? "changed" : "friendly-scanner";
            out.push_back(r);
        }
    }
    return out;
}

template <class D> void feed(D& d, const std::vector<message_record>& records) {
    for (const auto& r : records) d.feed(r);
}

} // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: %s <corpus dir>\n", argv[0]);
        return 2;
    }
    const std::filesystem::path dir = argv[1];
    const std::int64_t t0 = fuzz::base_micros;

    // Scan detector.
    {
        scan_detector<message_record> d(seeded_scan());
        write(dir / "scan_state" / "empty-default.state", fuzz::image_of(d));
    }
    {
        scan_detector<message_record> d(small_scan());
        feed(d, fuzz::state_story(t0, 0));
        write(dir / "scan_state" / "small-active-start-pending.state", fuzz::image_of(d));
        (void)d.poll();
        feed(d, fuzz::state_story(t0 + 30'000'000, 1));
        write(dir / "scan_state" / "small-active-after-poll.state", fuzz::image_of(d));
        (void)d.flush();
        write(dir / "scan_state" / "small-after-flush.state", fuzz::image_of(d));
    }
    {
        scan_config c = seeded_scan();
        c.threshold = 2;
        scan_detector<message_record> d(c);
        feed(d, fuzz::state_story(t0, 0));
        feed(d, fuzz::state_story(t0 + 60'000'000, 1));
        (void)d.poll();
        write(dir / "scan_state" / "default-seed-threshold-2.state", fuzz::image_of(d));
    }
    // A bundle of both detectors, as the sipdetect program saves it.
    {
        scan_detector<message_record> scan(seeded_scan());
        proxy_detector<message_record> proxy(seeded_proxy());
        feed(scan, fuzz::state_story(t0, 0));
        feed(proxy, fuzz::state_story(t0, 0));
        const auto path = std::filesystem::temp_directory_path() / "sipdetect-make-state-seeds.bundle";
        save_state_file(path, scan, proxy);
        std::ifstream in(path, std::ios::binary);
        const std::string bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
        std::filesystem::remove(path);
        write(dir / "scan_state" / "bundle-default.state", bytes);
    }

    // Campaign detector.
    {
        campaign_config c;
        c.hash_seed = campaign_seed;
        campaign_detector<message_record> d(c);
        write(dir / "campaign_state" / "empty-default.state", fuzz::image_of(d));
    }
    {
        campaign_detector<message_record> d(small_campaign());
        feed(d, campaign_probes(t0, 5, 2));
        write(dir / "campaign_state" / "small-start-pending.state", fuzz::image_of(d));
        (void)d.poll();
        feed(d, campaign_probes(t0 + 30'000'000, 9, 3)); // evictions, a scanner, a full group
        write(dir / "campaign_state" / "small-active-after-poll.state", fuzz::image_of(d));
        (void)d.flush();
        write(dir / "campaign_state" / "small-after-flush.state", fuzz::image_of(d));
    }
    // A bundle of the three detectors, as the sipdetect program saves it.
    {
        scan_detector<message_record> scan(seeded_scan());
        proxy_detector<message_record> proxy(seeded_proxy());
        campaign_detector<message_record> campaign(small_campaign());
        feed(scan, campaign_probes(t0, 6, 2));
        feed(proxy, fuzz::state_story(t0, 0));
        feed(campaign, campaign_probes(t0, 6, 2));
        const auto path = std::filesystem::temp_directory_path() / "sipdetect-make-state-seeds-3.bundle";
        save_state_file(path, scan, proxy, campaign);
        std::ifstream in(path, std::ios::binary);
        const std::string bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
        std::filesystem::remove(path);
        write(dir / "campaign_state" / "bundle-three.state", bytes);
    }

    // Proxy detector.
    {
        proxy_detector<message_record> d(seeded_proxy());
        write(dir / "proxy_state" / "empty-default.state", fuzz::image_of(d));
    }
    {
        proxy_detector<message_record> d(small_proxy());
        feed(d, relays(t0, 2, 4)); // learned in training
        write(dir / "proxy_state" / "small-training.state", fuzz::image_of(d));
        feed(d, relays(t0 + 60'000'000, 4, 4)); // after training: crossed, awaiting verdicts, evictions
        write(dir / "proxy_state" / "small-crossed-pending.state", fuzz::image_of(d));
        (void)d.poll();
        feed(d, relays(t0 + 120'000'000, 3, 2));
        write(dir / "proxy_state" / "small-after-poll.state", fuzz::image_of(d));
        (void)d.flush();
        write(dir / "proxy_state" / "small-after-flush.state", fuzz::image_of(d));
    }
    {
        proxy_config c = seeded_proxy();
        c.min_uris = 3;
        c.closed_season = std::chrono::seconds(0);
        proxy_detector<message_record> d(c);
        feed(d, relays(t0, 3, 5));
        write(dir / "proxy_state" / "default-seed-events-pending.state", fuzz::image_of(d));
    }
    return 0;
}
