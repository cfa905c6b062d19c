// Persistent state of both detectors: round trips, continuity, corruption.
#include "catch.hpp"
#include "state_frame.hpp"
#include "test_support.hpp"

#include <sipdetect/proxy_detector.hpp>
#include <sipdetect/scan_detector.hpp>
#include <sipdetect/state_file.hpp>

#include <fstream>
#include <sstream>
#include <unistd.h>

using namespace sipdetect;
using namespace std::chrono_literals;
using scan = scan_detector<msg>;
using proxy = proxy_detector<msg>;

namespace {

template <class D> std::string image_of(const D& d) {
    std::ostringstream out;
    d.save(out);
    return out.str();
}

template <class D> load_report load_image(D& d, const std::string& image) {
    std::istringstream in(image);
    return d.load(in);
}

scan_config scan_cfg() {
    scan_config c;
    c.threshold = 5;
    c.update_interval = 5min;
    c.event_idle_timeout = 30min;
    return c;
}

proxy_config proxy_cfg() {
    proxy_config c;
    c.min_uris = 5;
    c.closed_season = 2h;
    c.time_to_death = days(1);
    return c;
}

// Three hours of traffic: a proxy learned in training, a scan still active
// at the middle, a proxy that appears after training, phones, a second scan.
std::vector<msg> story() {
    std::vector<msg> out;
    auto relay = [&](const char* proxy_ip, double t0, int users) {
        for (int u = 0; u < users; ++u) {
            msg r = request(t0 + u * 30, proxy_ip, "192.0.2.20", sip_method::invite, "900");
            r.from_uri = "sip:user" + std::to_string(u) + "@" + proxy_ip;
            r.via_count = 2;
            out.push_back(r);
            out.push_back(response(r, t0 + u * 30 + 0.2, 200));
        }
    };
    relay("192.0.2.10", 0, 8); // learned in training
    for (int i = 0; i < 40; ++i) {
        // A scan from t = 3000 s to t = 6900 s: active across the middle.
        msg r = request(3000 + i * 100, "203.0.113.66", ("10.1.0." + std::to_string(i + 1)).c_str(), sip_method::options, "100");
        r.user_agent = "friendly-scanner";
        out.push_back(r);
        if (i % 2 == 0) out.push_back(response(r, 3000 + i * 100 + 0.1, 404));
    }
    for (int p = 0; p < 6; ++p) relay(("198.51.100." + std::to_string(p + 1)).c_str(), 500 + p * 900, 2);
    relay("192.0.2.11", 8000, 7); // after training
    for (int i = 0; i < 12; ++i)
        out.push_back(request(9000 + i * 20, "203.0.113.77", "10.2.0.1", sip_method::register_, std::to_string(100 + i)));
    std::stable_sort(out.begin(), out.end(), [](const msg& a, const msg& b) { return a.time < b.time; });
    return out;
}

struct all_events {
    std::vector<scan_event> scans;
    std::vector<proxy_event> proxies;
    friend bool operator==(const all_events&, const all_events&) = default;
};

void feed_range(scan& s, proxy& p, const std::vector<msg>& records, std::size_t from, std::size_t to, all_events& out) {
    for (std::size_t i = from; i < to; ++i) {
        s.feed(records[i]);
        p.feed(records[i]);
        if (i % 5 == 0) {
            for (auto& e : s.poll()) out.scans.push_back(std::move(e));
            for (auto& e : p.poll()) out.proxies.push_back(std::move(e));
        }
    }
}

} // namespace

TEST_CASE("continuity: save at the middle, load into a fresh detector, same events as without a restart") {
    const auto records = story();
    all_events whole;
    std::vector<known_proxy> whole_baseline; // holds what no event shows: the proxy learned in training
    {
        scan s(scan_cfg());
        proxy p(proxy_cfg());
        feed_range(s, p, records, 0, records.size(), whole);
        for (auto& e : s.flush()) whole.scans.push_back(std::move(e));
        for (auto& e : p.flush()) whole.proxies.push_back(std::move(e));
        whole_baseline = p.learned_proxies();
    }
    REQUIRE(whole.proxies.size() == 1); // 192.0.2.11, after training
    CHECK(whole.proxies[0].source == ip("192.0.2.11"));
    REQUIRE(whole_baseline.size() == 2);
    CHECK(whole_baseline[0].address == ip("192.0.2.10"));
    CHECK(whole_baseline[0].learned_in_training);
    REQUIRE(whole.scans.size() >= 4);

    for (std::size_t cut : {records.size() / 2, records.size() / 3, std::size_t{7}, records.size() - 3}) {
        INFO("restart after record " << cut);
        all_events restarted;
        std::string scan_image, proxy_image;
        {
            scan s(scan_cfg());
            proxy p(proxy_cfg());
            feed_range(s, p, records, 0, cut, restarted);
            scan_image = image_of(s);
            proxy_image = image_of(p);
        }
        scan s(scan_cfg());
        proxy p(proxy_cfg());
        CHECK(load_image(s, scan_image).config_differences.empty());
        CHECK(load_image(p, proxy_image).config_differences.empty());
        CHECK(image_of(s) == scan_image); // the loaded state is the saved state
        CHECK(image_of(p) == proxy_image);
        feed_range(s, p, records, cut, records.size(), restarted);
        for (auto& e : s.flush()) restarted.scans.push_back(std::move(e));
        for (auto& e : p.flush()) restarted.proxies.push_back(std::move(e));
        CHECK(restarted == whole);
        CHECK(p.learned_proxies() == whole_baseline);
    }
}

TEST_CASE("the middle of the story holds what the continuity test must carry") {
    const auto records = story();
    scan s(scan_cfg());
    proxy p(proxy_cfg());
    all_events ignored;
    feed_range(s, p, records, 0, records.size() / 2, ignored);
    (void)s.poll();
    (void)p.poll();
    CHECK(p.watermark() < p.season_end());       // still inside ClosedSeason
    CHECK(p.is_learned(ip("192.0.2.10")));       // a learned proxy
    CHECK(s.stats().events_started >= 1);         // a scan event ...
    CHECK(s.stats().events_ended == 0);           // ... still active
}

namespace {

template <class D, class Config> void check_every_corruption(const Config& cfg, const std::vector<msg>& records) {
    D d(cfg);
    for (const msg& r : records) d.feed(r);
    (void)d.poll();
    const std::string good = image_of(d);
    REQUIRE(good.size() < 20000);

    D target(cfg);
    for (std::size_t i = 0; i < records.size() / 2; ++i) target.feed(records[i]);
    const std::string before = image_of(target);

    std::size_t refused = 0;
    for (std::size_t i = 0; i < good.size(); ++i) {
        for (const unsigned mask : {0x01u, 0x80u, 0xffu}) {
            std::string bad = good;
            bad[i] = static_cast<char>(static_cast<unsigned char>(bad[i]) ^ mask);
            try {
                (void)load_image(target, bad);
                FAIL("corruption of byte " << i << " with mask " << int(mask) << " was accepted");
            } catch (const state_error&) {
                ++refused;
            }
        }
    }
    for (std::size_t n = 0; n < good.size(); ++n) {
        try {
            (void)load_image(target, good.substr(0, n));
            FAIL("truncation to " << n << " bytes was accepted");
        } catch (const state_error&) {
            ++refused;
        }
    }
    CHECK(refused == good.size() * 4);
    CHECK(image_of(target) == before); // untouched by every failed load
    CHECK_NOTHROW(load_image(target, good));
    CHECK(image_of(target) == good);
}

} // namespace

TEST_CASE("every single-byte corruption and truncation of a scan state is refused, detector unchanged") {
    auto records = story();
    records.resize(120);
    check_every_corruption<scan>(scan_cfg(), records);
}

TEST_CASE("every single-byte corruption and truncation of a proxy state is refused, detector unchanged") {
    auto records = story();
    records.resize(120);
    check_every_corruption<proxy>(proxy_cfg(), records);
}

TEST_CASE("foreign version, wrong detector, trailing bytes and bad magic have clear errors") {
    scan s(scan_cfg());
    proxy p(proxy_cfg());
    const std::string scan_image = image_of(s);
    auto error_of = [](auto& d, const std::string& image) {
        try {
            (void)load_image(d, image);
        } catch (const state_error& e) {
            return std::string(e.what());
        }
        return std::string("accepted");
    };
    CHECK(error_of(p, scan_image) == "state was saved by a scan_detector, not a proxy_detector");
    std::string v3 = scan_image;
    v3[8] = 3;
    CHECK(error_of(s, v3) == "unsupported state format version 3 (this build reads 2)");
    CHECK(error_of(s, "GARBAGE!" + scan_image.substr(8)) == "not a sipdetect state file (bad magic)");
    CHECK(error_of(s, scan_image + "x") == "state has trailing bytes after the checksum");
    CHECK(error_of(s, "") == "state truncated: 0 of 20 header bytes");
    std::string lying = scan_image;
    lying[12 + 5] = 0x7f; // payload length far beyond the file
    CHECK(error_of(s, lying).find("payload length") != std::string::npos);
}

namespace {

std::string le64_bytes(std::uint64_t v) {
    std::string out(8, '\0');
    for (std::size_t i = 0; i < 8; ++i) out[i] = static_cast<char>((v >> (8 * i)) & 0xffu);
    return out;
}

std::string address_bytes(const char* text) {
    const auto bytes = ip_address::parse(text).bytes();
    return std::string(reinterpret_cast<const char*>(bytes.data()), bytes.size());
}

// `image` with its payload bytes `old` (the last occurrence) replaced by
// `with`, framed again so that only the payload checks can refuse it.
std::string with_payload(std::string image, const std::string& old, const std::string& with) {
    const std::size_t at = image.rfind(old);
    REQUIRE(at != std::string::npos);
    image.replace(at, old.size(), with);
    return test_state_frame::with_fixed_frame(image);
}

// `image` with the two 8-byte times that follow `address` (and `gap` bytes),
// both `was`, replaced by `with`, framed again.
std::string with_entry_times(std::string image, const char* address, std::size_t gap, std::int64_t was,
                             std::int64_t with) {
    const std::string key = address_bytes(address);
    const std::size_t at = image.find(key);
    REQUIRE(at != std::string::npos);
    const std::size_t times = at + key.size() + gap;
    const auto twice = [](std::int64_t t) {
        return le64_bytes(static_cast<std::uint64_t>(t)) + le64_bytes(static_cast<std::uint64_t>(t));
    };
    REQUIRE(image.substr(times, 16) == twice(was));
    image.replace(times, 16, twice(with));
    return test_state_frame::with_fixed_frame(image);
}

// What load() says of `image`, without the payload offset it names.
template <class D> std::string load_error(const std::string& image, D d = D{}) {
    try {
        (void)load_image(d, image);
    } catch (const state_error& e) {
        const std::string what = e.what();
        return what.substr(what.rfind(": ") + 2);
    }
    return "accepted";
}

} // namespace

// Found by fuzzing: an entry dated by the min() sentinel loaded, and the
// next sweep's "now - last_seen" overflowed.
TEST_CASE("saved entries dated by a sentinel or after the newest record are refused") {
    const msg r = request(1000, "10.0.0.1", "10.0.0.2", sip_method::register_, "100");
    const std::int64_t t = micros_of(r.time);
    const std::int64_t later = t + 3'600'000'000;
    const std::int64_t year_10000 = micros_of(detail::latest_record_time) + 86'400'000'000;

    scan s;
    s.feed(r);
    const std::string scan_image = image_of(s);
    // A scan entry's times follow its address and its submethod byte.
    CHECK(load_error<scan>(with_entry_times(scan_image, "10.0.0.1", 1, t, t)) == "accepted");
    CHECK(load_error<scan>(with_entry_times(scan_image, "10.0.0.1", 1, t, INT64_MIN)) == "time out of range");
    CHECK(load_error<scan>(with_entry_times(scan_image, "10.0.0.1", 1, t, INT64_MAX)) == "time out of range");
    CHECK(load_error<scan>(with_entry_times(scan_image, "10.0.0.1", 1, t, year_10000)) == "time out of range");
    CHECK(load_error<scan>(with_entry_times(scan_image, "10.0.0.1", 1, t, later)) ==
          "time after the newest record or poll");

    proxy p;
    p.feed(r);
    const std::string proxy_image = image_of(p);
    CHECK(load_error<proxy>(with_entry_times(proxy_image, "10.0.0.1", 0, t, t)) == "accepted");
    CHECK(load_error<proxy>(with_entry_times(proxy_image, "10.0.0.1", 0, t, INT64_MIN)) == "time out of range");
    CHECK(load_error<proxy>(with_entry_times(proxy_image, "10.0.0.1", 0, t, later)) ==
          "time after the newest record or poll");
}

// Found by fuzzing the check above: a heavy part's times that keep their 1970
// default until used (a candidate's verdict time, a scan's last event) are
// later than records dated before 1970, and such a state must still load.
TEST_CASE("states of detectors fed records dated before 1970 load again") {
    const double t0 = -1e9; // 1938
    proxy p(proxy_cfg());
    scan s(scan_cfg());
    for (int u = 0; u < 2; ++u) { // two From URIs: a heavy part, short of min_uris
        msg r = request(t0 + u, "10.0.0.1", "10.0.0.2", sip_method::invite, std::to_string(900 + u));
        r.from_uri = "sip:user" + std::to_string(u) + "@example.com";
        p.feed(r);
        s.feed(r); // two targets: a heavy part, short of the threshold
    }
    for (int i = 0; i < 6; ++i) // an active scan whose start event is still pending
        s.feed(request(t0 + 10 + i, "10.0.0.3", ("10.1.0." + std::to_string(i + 1)).c_str(), sip_method::options, "100"));
    const std::string proxy_image = image_of(p);
    const std::string scan_image = image_of(s);
    CHECK(load_error(proxy_image, proxy(proxy_cfg())) == "accepted");
    CHECK(load_error(scan_image, scan(scan_cfg())) == "accepted");
}

TEST_CASE("a list of scans or verdicts that names one twice, or leaves one out, is refused") {
    const std::string a = address_bytes("10.0.0.1"), b = address_bytes("10.0.0.3");

    // Two proxy candidates past min_uris, awaiting their verdicts: listed after the (empty) proxy table.
    proxy p(proxy_cfg());
    for (const char* source : {"10.0.0.1", "10.0.0.3"})
        for (int u = 0; u < 5; ++u) {
            msg r = request(1000 + u, source, "10.0.0.2", sip_method::invite, "900");
            r.from_uri = "sip:user" + std::to_string(u) + "@example.com";
            p.feed(r);
        }
    const std::string proxy_image = image_of(p);
    const std::string verdicts = le64_bytes(2) + a + b + le64_bytes(0);
    CHECK(load_error(with_payload(proxy_image, verdicts, verdicts), proxy(proxy_cfg())) == "accepted");
    CHECK(load_error(with_payload(proxy_image, verdicts, le64_bytes(2) + a + a + le64_bytes(0)), proxy(proxy_cfg())) ==
          "pending verdict listed twice");
    CHECK(load_error(with_payload(proxy_image, verdicts, le64_bytes(1) + a + le64_bytes(0)), proxy(proxy_cfg())) ==
          "crossed candidates missing from the pending verdicts");

    // Two active scans: listed (address, submethod) at the end of the payload.
    scan s(scan_cfg());
    for (const char* source : {"10.0.0.1", "10.0.0.3"})
        for (int i = 0; i < 6; ++i)
            s.feed(request(1000 + i, source, ("10.1.0." + std::to_string(i + 1)).c_str(), sip_method::options, "100"));
    (void)s.poll();
    const std::string scan_image = image_of(s);
    const std::string options(1, '\1');
    const std::string active = le64_bytes(2) + a + options + b + options;
    CHECK(load_error(with_payload(scan_image, active, active), scan(scan_cfg())) == "accepted");
    CHECK(load_error(with_payload(scan_image, active, le64_bytes(2) + a + options + a + options), scan(scan_cfg())) ==
          "active scan listed twice");
    CHECK(load_error(with_payload(scan_image, active, le64_bytes(1) + a + options), scan(scan_cfg())) ==
          "active entries missing from the active list");
}

TEST_CASE("configuration is not taken from the file: differences are reported, the running one wins") {
    scan s(scan_cfg());
    for (const msg& r : story()) s.feed(r);
    const std::string image = image_of(s);

    scan_config other = scan_cfg();
    other.threshold = 7;
    other.update_interval = 1min;
    scan t(other);
    const load_report report = load_image(t, image);
    CHECK(report.config_differences == std::vector<std::string>{"threshold", "update_interval"});
    CHECK(t.config().threshold == 7);

    scan_config reseeded = scan_cfg();
    reseeded.hash_seed = 42;
    scan u(reseeded);
    CHECK_THROWS_WITH(load_image(u, image), "state was saved with a different hash_seed; its fingerprints cannot be used");

    scan_config smaller = scan_cfg();
    smaller.max_tracked = 1;
    scan v(smaller);
    CHECK_THROWS_AS(load_image(v, image), state_error);
}

TEST_CASE("atomic state files: the previous state survives a failed or interrupted save") {
    const auto dir = std::filesystem::temp_directory_path() / ("sipdetect-state-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    const auto path = dir / "scan.state";
    std::filesystem::remove(path);

    scan s(scan_cfg());
    CHECK_FALSE(load_state_file(path, s)); // absent: nothing to load
    for (const msg& r : story()) s.feed(r);
    save_state_file(path, s);
    const std::string first = image_of(s);
    CHECK(std::filesystem::file_size(path) == first.size());
    CHECK_FALSE(std::filesystem::exists(path.string() + ".tmp"));

    // A crash mid-save leaves a partial temporary file; the state file is intact.
    { std::ofstream(path.string() + ".tmp") << "partial"; }
    scan t(scan_cfg());
    CHECK(load_state_file(path, t));
    CHECK(image_of(t) == first);

    // A save that cannot complete leaves the old file in place.
    const auto blocked = dir / "blocked.state";
    std::filesystem::create_directories(blocked.string() + ".tmp"); // the temp path is a directory
    save_state_file(dir / "other.state", s);
    CHECK_THROWS_AS(save_state_file(blocked, s), state_error);

    // A corrupt file names itself in the error.
    { std::ofstream(dir / "bad.state") << "not a state"; }
    CHECK_THROWS_WITH(load_state_file(dir / "bad.state", t),
                      (dir / "bad.state").string() + ": state truncated: 11 of 20 header bytes");

    // Both detectors in one bundle: all or nothing.
    proxy p(proxy_cfg());
    for (const msg& r : story()) p.feed(r);
    save_state_file(dir / "both.state", s, p);
    scan s2(scan_cfg());
    proxy p2(proxy_cfg());
    CHECK(load_state_file(dir / "both.state", s2, p2));
    CHECK(image_of(s2) == image_of(s));
    CHECK(image_of(p2) == image_of(p));
    std::string bundle;
    {
        std::ifstream in(dir / "both.state", std::ios::binary);
        bundle.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    }
    bundle[bundle.size() - 1] = static_cast<char>(bundle.back() ^ 1); // corrupt the proxy image's checksum
    { std::ofstream(dir / "both.state", std::ios::binary) << bundle; }
    scan s3(scan_cfg());
    proxy p3(proxy_cfg());
    const std::string s3_before = image_of(s3);
    CHECK_THROWS_AS(load_state_file(dir / "both.state", s3, p3), state_error);
    CHECK(image_of(s3) == s3_before); // the scan image was fine, but nothing was committed
    std::filesystem::remove_all(dir);
}

namespace {
// What load() says of `d`'s state with its next event id `was` replaced by
// `id`. The id comes right before the counters, which start with `counters`.
template <class D>
std::string load_error_with_event_id(const D& d, std::uint64_t was, const std::string& counters, std::uint64_t id) {
    return load_error(with_payload(image_of(d), le64_bytes(was) + counters, le64_bytes(id) + counters),
                      D(d.config()));
}
} // namespace

// A forged next event id just below UINT64_MAX loaded, and the ids of the
// events after it wrapped to 0 and repeated.
TEST_CASE("a saved next event id that could run out is refused") {
    scan s(scan_cfg());
    proxy p(proxy_cfg());
    for (int i = 0; i < 6; ++i) { // one active scan, event id 1
        const msg r = request(1000 + i, "10.0.0.1", ("10.1.0." + std::to_string(i + 1)).c_str(), sip_method::options, "100");
        s.feed(r);
        p.feed(r);
    }
    const std::string scan_counters = le64_bytes(6) + le64_bytes(6); // records, requests
    const std::string proxy_counters = le64_bytes(6) + le64_bytes(0); // records, filtered
    for (const std::uint64_t accepted : {std::uint64_t{2}, detail::max_next_event_id}) {
        CHECK(load_error_with_event_id(s, 2, scan_counters, accepted) == "accepted");
        CHECK(load_error_with_event_id(p, 1, proxy_counters, accepted) == "accepted");
    }
    for (const std::uint64_t refused : {std::uint64_t{0}, detail::max_next_event_id + 1, UINT64_MAX - 1}) {
        CHECK(load_error_with_event_id(s, 2, scan_counters, refused) == "next event id out of range");
        CHECK(load_error_with_event_id(p, 1, proxy_counters, refused) == "next event id out of range");
    }
}
