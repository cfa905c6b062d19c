// The state format is stable: files saved by an earlier build, committed in
// tests/data, still load and mean the same, whatever their version. Write the
// current version's files only with a new format version:
// SIPDETECT_WRITE_GOLDEN=1 ./test_golden_state
#include "catch.hpp"
#include "test_support.hpp"

#include <sipdetect/proxy_detector.hpp>
#include <sipdetect/scan_detector.hpp>
#include <sipdetect/state_file.hpp>

#include <fstream>
#include <iterator>
#include <sstream>

using namespace sipdetect;
using namespace std::chrono_literals;

namespace {

const std::filesystem::path golden_dir = std::filesystem::path(SIPDETECT_SOURCE_DIR) / "tests" / "data";

// The seeds are those the version 2 files were saved with (then the fixed defaults).
scan_config scan_cfg() {
    scan_config c;
    c.threshold = 4;
    c.hash_seed = 0x5eed5ca9u;
    return c;
}
proxy_config proxy_cfg() {
    proxy_config c;
    c.min_uris = 5;
    c.closed_season = 1h;
    c.hash_seed = 0x5eedf00du;
    return c;
}

// A fixed story: a vertical scan still active, a proxy learned in training,
// a second proxy awaiting its verdict, phones, IPv6.
template <class Scan, class Proxy> void tell(Scan& s, Proxy& p) {
    std::vector<msg> story;
    for (int u = 0; u < 6; ++u) {
        msg r = request(3000 + u, "203.0.113.5", "10.1.1.1", sip_method::register_, std::to_string(6000 + u));
        r.user_agent = "friendly-scanner";
        story.push_back(r);
        story.push_back(response(r, 3000 + u + 0.01, u == 2 ? 200 : 401));
    }
    for (int u = 0; u < 6; ++u) {
        msg r = request(200 + u, "192.0.2.10", "192.0.2.20", sip_method::invite, "900");
        r.from_uri = "sip:user" + std::to_string(u) + "@example.net";
        r.via_count = 2;
        story.push_back(r);
        story.push_back(response(r, 200 + u + 0.05, 200));
    }
    for (int u = 0; u < 5; ++u) {
        msg r = request(4000 + u, "2001:db8::10", "2001:db8::20", sip_method::invite, "900");
        r.from_uri = "sip:v6user" + std::to_string(u) + "@example.net";
        story.push_back(r);
        story.push_back(response(r, 4000 + u + 0.05, 200));
    }
    story.push_back(request(4010, "198.51.100.7", "192.0.2.20", sip_method::register_, "phone"));
    std::stable_sort(story.begin(), story.end(), [](const msg& a, const msg& b) { return a.time < b.time; });
    for (const msg& r : story) {
        s.feed(r);
        p.feed(r);
    }
    (void)s.poll();
    (void)p.poll();
}

std::string read_file(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

template <class D> std::string image_of(const D& d) {
    std::ostringstream out;
    d.save(out);
    return out.str();
}

// What the story's state means: the active scan ends with its evidence, the
// learned proxy stays learned, the pending one is decided after training.
template <class Scan, class Proxy> void check_meaning(Scan& s, Proxy& p) {
    CHECK(s.stats().events_started == 1);
    CHECK(p.is_learned(ip("192.0.2.10")));
    const auto scans = s.flush();
    REQUIRE(scans.size() == 1);
    CHECK(scans[0].phase == scan_phase::end);
    CHECK(scans[0].source == ip("203.0.113.5"));
    CHECK(scans[0].users == 6);
    CHECK(scans[0].tool == "sipvicious");
    CHECK(scans[0].sample[1].answered_success); // the third target: the first is not in the sample
    const auto proxies = p.flush();
    REQUIRE(proxies.size() == 1);
    CHECK(proxies[0].source.to_string() == "2001:db8::10");
    CHECK(proxies[0].answers_judged);
}

} // namespace

TEST_CASE("golden state files of format version 3 are what this build writes, and load") {
    scan_detector<msg> s(scan_cfg());
    proxy_detector<msg> p(proxy_cfg());
    tell(s, p);
    if (std::getenv("SIPDETECT_WRITE_GOLDEN") != nullptr) {
        save_state_file(golden_dir / "scan-v3.state", s);
        save_state_file(golden_dir / "proxy-v3.state", p);
        WARN("golden files rewritten in " << golden_dir);
    }
    const std::string scan_golden = read_file(golden_dir / "scan-v3.state");
    const std::string proxy_golden = read_file(golden_dir / "proxy-v3.state");
    REQUIRE_FALSE(scan_golden.empty());
    REQUIRE_FALSE(proxy_golden.empty());
    CHECK(scan_golden.substr(8, 2) == std::string("\x03\x00", 2));
    CHECK(image_of(s) == scan_golden);
    CHECK(image_of(p) == proxy_golden);

    // Into detectors of unset seeds: the files' seeds are taken.
    scan_config unseeded_scan = scan_cfg();
    proxy_config unseeded_proxy = proxy_cfg();
    unseeded_scan.hash_seed.reset();
    unseeded_proxy.hash_seed.reset();
    scan_detector<msg> s2(unseeded_scan);
    proxy_detector<msg> p2(unseeded_proxy);
    REQUIRE(load_state_file(golden_dir / "scan-v3.state", s2));
    REQUIRE(load_state_file(golden_dir / "proxy-v3.state", p2));
    CHECK(s2.hash_seed() == *scan_cfg().hash_seed);
    CHECK(p2.hash_seed() == *proxy_cfg().hash_seed);
    CHECK(image_of(s2) == scan_golden);
    check_meaning(s2, p2);
}

TEST_CASE("golden state files of format version 2 load forever, mean the same, and save as version 3") {
    const std::string scan_v2 = read_file(golden_dir / "scan-v2.state");
    const std::string proxy_v2 = read_file(golden_dir / "proxy-v2.state");
    REQUIRE(scan_v2.substr(8, 2) == std::string("\x02\x00", 2));
    REQUIRE(proxy_v2.substr(8, 2) == std::string("\x02\x00", 2));
    scan_detector<msg> s(scan_cfg());
    proxy_detector<msg> p(proxy_cfg());
    REQUIRE(load_state_file(golden_dir / "scan-v2.state", s));
    REQUIRE(load_state_file(golden_dir / "proxy-v2.state", p));
    // Saved again, a version 2 scan state is exactly what this build writes
    // for the same story, and canonical: two saves are the same bytes. A
    // version 2 proxy state kept a candidate's From URIs only up to min_uris,
    // where version 3 counts them up to max_distinct: it saves as what this
    // build writes less the URIs version 2 never kept, so it is compared by
    // meaning (the events it still gives, below).
    CHECK(image_of(s) == read_file(golden_dir / "scan-v3.state"));
    CHECK(image_of(s) == image_of(s));
    CHECK(image_of(p) == image_of(p));
    check_meaning(s, p);
}

// Version 1 used other fingerprint hashes: its files are refused, not misread.
TEST_CASE("state files of format version 1 are refused with the version named") {
    scan_detector<msg> s(scan_cfg());
    proxy_detector<msg> p(proxy_cfg());
    auto error_of = [](auto& detector, const char* name) {
        try {
            (void)load_state_file(golden_dir / name, detector);
        } catch (const state_error& e) {
            return std::string(e.what());
        }
        return std::string("accepted");
    };
    CHECK(error_of(s, "scan-v1.state").find("unsupported state format version 1 (this build reads 2 to 3)") !=
          std::string::npos);
    CHECK(error_of(p, "proxy-v1.state").find("unsupported state format version 1 (this build reads 2 to 3)") !=
          std::string::npos);
    CHECK(s.stats().records == 0);
    CHECK(p.stats().records == 0);
}
