// Persistent state of both detectors: round trips, continuity, corruption.
#include "catch.hpp"
#include "counting_allocator.hpp"
#include "state_frame.hpp"
#include "test_support.hpp"

#include <sipdetect/proxy_detector.hpp>
#include <sipdetect/scan_detector.hpp>
#include <sipdetect/state_file.hpp>

#include <cmath>
#include <fstream>
#include <sstream>
#include <streambuf>
#include <thread>
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
    for (const char version : {'\1', '\4'}) {
        std::string other = scan_image;
        other[8] = version;
        CHECK(error_of(s, other) == "unsupported state format version " + std::to_string(int(version)) +
                                        " (this build reads 2 to 3)");
    }
    CHECK(error_of(s, "GARBAGE!" + scan_image.substr(8)) == "not a sipdetect state file (bad magic)");
    CHECK(error_of(s, "") == "state truncated: 0 of 20 header bytes");
    CHECK(error_of(s, scan_image.substr(0, scan_image.size() - 2)) == "state truncated: the checksum is missing");
    std::string lying = scan_image;
    lying[12 + 5] = 0x7f; // payload length far beyond the file
    CHECK(error_of(s, lying).find("payload length") != std::string::npos);
    std::string long_frame = scan_image;
    long_frame[12 + 4] = 0x01; // 4 GiB: within the limit, beyond the file
    CHECK(error_of(s, long_frame).find("state truncated: payload declares") == 0);
    std::string flipped = scan_image;
    flipped[30] = static_cast<char>(flipped[30] ^ 0x40); // inside the configuration
    CHECK(error_of(s, flipped) == "state checksum mismatch: the file is corrupt");
    // A detector reads its own frame and stops; what follows is the caller's.
    CHECK(error_of(s, scan_image + "x") == "accepted");
}

TEST_CASE("saves compose: detectors saved one after the other into a stream load back in turn") {
    scan s(scan_cfg());
    proxy p(proxy_cfg());
    for (const msg& r : story()) {
        s.feed(r);
        p.feed(r);
    }
    std::stringstream both;
    s.save(both);
    p.save(both);
    s.save(both);
    scan s2(scan_cfg());
    proxy p2(proxy_cfg());
    scan s3(scan_cfg());
    CHECK_NOTHROW(s2.load(both));
    CHECK_NOTHROW(p2.load(both));
    CHECK_NOTHROW(s3.load(both));
    CHECK(both.peek() == std::char_traits<char>::eof());
    CHECK(image_of(s2) == image_of(s));
    CHECK(image_of(p2) == image_of(p));
    CHECK(image_of(s3) == image_of(s));
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

namespace {
// Temporary files of saves left in `dir`.
std::size_t leftover_temporaries(const std::filesystem::path& dir) {
    std::size_t n = 0;
    for (const auto& entry : std::filesystem::directory_iterator(dir))
        n += entry.path().filename().string().find(".tmp.") != std::string::npos ? 1u : 0u;
    return n;
}
} // namespace

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
    CHECK(leftover_temporaries(dir) == 0);

    // A crash mid-save leaves a partial temporary file; the state file is intact.
    { std::ofstream(path.string() + ".tmp.1.0123456789abcdef") << "partial"; }
    scan t(scan_cfg());
    CHECK(load_state_file(path, t));
    CHECK(image_of(t) == first);
    std::filesystem::remove(path.string() + ".tmp.1.0123456789abcdef");

    // A save that cannot complete (the target is a directory) leaves it in
    // place and no temporary file behind.
    const auto blocked = dir / "blocked.state";
    std::filesystem::create_directories(blocked / "inside");
    CHECK_THROWS_AS(save_state_file(blocked, s), state_error);
    CHECK(std::filesystem::is_directory(blocked / "inside"));
    CHECK(leftover_temporaries(dir) == 0);

    // A file holds exactly its state: a byte after it is refused.
    { std::ofstream(dir / "long.state", std::ios::binary) << first << 'x'; }
    CHECK_THROWS_WITH(load_state_file(dir / "long.state", t),
                      (dir / "long.state").string() + ": state has trailing bytes after the checksum");

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
    CHECK(bundle.substr(0, 12) == std::string("SIPDBNDL\x01\x00\x02\x00", 12));
    CHECK(bundle.substr(12, 8) == le64_bytes(image_of(s).size()));
    CHECK(bundle.size() == 12 + 8 + image_of(s).size() + 8 + image_of(p).size());
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

TEST_CASE("two savers of one path do not collide: the file is always one whole state") {
    const auto dir = std::filesystem::temp_directory_path() / ("sipdetect-savers-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    const auto path = dir / "shared.state";
    const auto records = story();
    scan early(scan_cfg()), late(scan_cfg());
    for (std::size_t i = 0; i < records.size(); ++i) {
        if (i < records.size() / 2) early.feed(records[i]);
        late.feed(records[i]);
    }
    const std::string early_image = image_of(early), late_image = image_of(late);
    REQUIRE(early_image != late_image);
    auto saver = [&](const scan& d) {
        for (int i = 0; i < 20; ++i) save_state_file(path, d);
    };
    std::thread a(saver, std::cref(early)), b(saver, std::cref(late));
    a.join();
    b.join();
    scan loaded(scan_cfg());
    REQUIRE(load_state_file(path, loaded));
    const std::string image = image_of(loaded);
    CHECK((image == early_image || image == late_image));
    CHECK(leftover_temporaries(dir) == 0);
    std::filesystem::remove_all(dir);
}

namespace {
// Events of the story fed whole, with a poll every few records.
all_events events_of_story(const scan_config& sc, const proxy_config& pc) {
    const auto records = story();
    scan s(sc);
    proxy p(pc);
    all_events out;
    feed_range(s, p, records, 0, records.size(), out);
    for (auto& e : s.flush()) out.scans.push_back(std::move(e));
    for (auto& e : p.flush()) out.proxies.push_back(std::move(e));
    return out;
}
} // namespace

TEST_CASE("hash seed: events do not depend on it, and unset it is random per process and taken from a loaded state") {
    scan_config sc = scan_cfg();
    proxy_config pc = proxy_cfg();
    REQUIRE_FALSE(sc.hash_seed.has_value()); // the default: this process's random seed
    const all_events by_default = events_of_story(sc, pc);
    REQUIRE(by_default.scans.size() >= 4);
    REQUIRE(by_default.proxies.size() == 1);
    for (const std::uint64_t seed : {std::uint64_t{1}, std::uint64_t{0x5eed5ca9}, ~std::uint64_t{0}}) {
        INFO("seed " << seed);
        sc.hash_seed = pc.hash_seed = seed;
        CHECK(events_of_story(sc, pc) == by_default); // every field of every event
    }

    scan unset_a(scan_cfg()), unset_b(scan_cfg());
    CHECK(unset_a.hash_seed() == unset_b.hash_seed()); // one seed per process
    CHECK(unset_a.hash_seed() == proxy(proxy_cfg()).hash_seed());

    // A restart (another process: another random seed) loads the state saved
    // before it, adopts its seed, and goes on as if there had been no restart.
    const auto records = story();
    const std::size_t cut = records.size() / 2;
    scan_config seeded = scan_cfg();
    seeded.hash_seed = unset_a.hash_seed() ^ 0x9e3779b97f4a7c15u; // not this process's
    proxy_config seeded_proxy = proxy_cfg();
    seeded_proxy.hash_seed = seeded.hash_seed;
    all_events whole, restarted;
    std::string scan_image, proxy_image;
    {
        scan s(seeded);
        proxy p(seeded_proxy);
        feed_range(s, p, records, 0, cut, restarted);
        scan_image = image_of(s);
        proxy_image = image_of(p);
        feed_range(s, p, records, cut, records.size(), whole);
        for (auto& e : s.flush()) whole.scans.push_back(std::move(e));
        for (auto& e : p.flush()) whole.proxies.push_back(std::move(e));
    }
    scan s(scan_cfg());
    proxy p(proxy_cfg());
    CHECK(load_image(s, scan_image).config_differences.empty()); // the seed is no difference
    CHECK(load_image(p, proxy_image).config_differences.empty());
    CHECK(s.hash_seed() == *seeded.hash_seed);
    CHECK(p.hash_seed() == *seeded.hash_seed);
    CHECK(image_of(s) == scan_image);
    all_events after;
    feed_range(s, p, records, cut, records.size(), after);
    for (auto& e : s.flush()) after.scans.push_back(std::move(e));
    for (auto& e : p.flush()) after.proxies.push_back(std::move(e));
    CHECK(after == whole);
    REQUIRE_FALSE(whole.scans.empty());

    // An explicitly set seed that differs is refused, also through a file.
    scan_config other = scan_cfg();
    other.hash_seed = *seeded.hash_seed + 1;
    scan refusing(other);
    CHECK_THROWS_WITH(load_image(refusing, scan_image),
                      "state was saved with a different hash_seed; its fingerprints cannot be used");
    CHECK(refusing.hash_seed() == *other.hash_seed);
}

namespace {
// What validate() says of a default Config changed by `change`.
template <class Config, class Change> std::string validate_error(Change change) {
    Config c;
    change(c);
    try {
        c.validate();
    } catch (const config_error& e) {
        return std::string(e.what());
    }
    return std::string("accepted");
}
} // namespace

TEST_CASE("configuration fields: validate() says exactly what each accepts") {
    auto scan_error = [](auto change) { return validate_error<scan_config>(change); };
    auto proxy_error = [](auto change) { return validate_error<proxy_config>(change); };
    CHECK(scan_error([](scan_config& c) { c.threshold = 0; }) == "scan_config.threshold must be at least 1");
    CHECK(scan_error([](scan_config& c) { c.update_interval = 0s; }) == "accepted");
    CHECK(scan_error([](scan_config& c) { c.update_interval = -1us; }) == "scan_config.update_interval must be zero or more");
    CHECK(scan_error([](scan_config& c) { c.event_idle_timeout = 0s; }) ==
          "scan_config.event_idle_timeout must be positive (at least 1 microsecond)");
    CHECK(scan_error([](scan_config& c) { c.event_idle_timeout = 1us; }) == "accepted");
    CHECK(scan_error([](scan_config& c) { c.max_lateness = -1us; }) == "scan_config.max_lateness must be zero or more");
    CHECK(scan_error([](scan_config& c) { c.max_tracked = 0; }) == "scan_config.max_tracked must be between 1 and 1073741824");
    CHECK(scan_error([](scan_config& c) { c.evidence_targets = 1001; }) == "scan_config.evidence_targets must be at most 1000");
    CHECK(scan_error([](scan_config& c) { c.evidence_targets = 1000; }) == "accepted");
    CHECK(scan_error([](scan_config& c) { c.max_success_share = std::nan(""); }) ==
          "scan_config.max_success_share must be between 0 and 1");
    CHECK(scan_error([](scan_config& c) { c.threshold = 300; }).find("exceeds max_distinct 256") != std::string::npos);
    CHECK(proxy_error([](proxy_config& c) { c.min_uris = 1; }) == "proxy_config.min_uris must be between 2 and 1048576");
    CHECK(proxy_error([](proxy_config& c) { c.closed_season = 0s; }) == "accepted");
    CHECK(proxy_error([](proxy_config& c) { c.time_to_death = 0s; }) ==
          "proxy_config.time_to_death must be positive (at least 1 microsecond)");
    CHECK(proxy_error([](proxy_config& c) { c.filter_mode = static_cast<proxy_filter_mode>(2); }) ==
          "proxy_config.filter_mode must be between 0 and 1");
    CHECK(proxy_error([](proxy_config& c) { c.max_clock_skew = 0s; }) == "accepted");
}

namespace {
// An output stream that only counts what it is given.
class counting_buffer : public std::streambuf {
public:
    std::size_t bytes = 0;

protected:
    int_type overflow(int_type c) override {
        ++bytes;
        return traits_type::not_eof(c);
    }
    std::streamsize xsputn(const char*, std::streamsize n) override {
        bytes += static_cast<std::size_t>(n);
        return n;
    }
};
} // namespace

TEST_CASE("saving streams: the heap it takes stays far below the size of the state") {
    if (!counting::active) {
        WARN("SKIPPED: heap counting is off under AddressSanitizer");
        return;
    }
    scan_config c = scan_cfg();
    c.max_tracked = 40'000;
    scan s(c);
    for (int i = 0; i < 30'000; ++i) { // 30,000 sources, each probing two targets: a heavy part each
        const std::string client = "10." + std::to_string(i >> 16) + "." + std::to_string((i >> 8) & 255) + "." +
                                   std::to_string(i & 255);
        for (int t = 0; t < 2; ++t)
            s.feed(request(1000 + i * 0.001, client.c_str(), ("192.0.2." + std::to_string(t + 1)).c_str(),
                           sip_method::options, "100"));
    }
    counting_buffer sink;
    std::ostream out(&sink);
    const std::size_t before = counting::live_bytes.load();
    counting::peak_bytes.store(before);
    s.save(out);
    const std::size_t peak = counting::peak_bytes.load() - before;
    INFO("state of " << sink.bytes << " bytes, heap peak during the save " << peak << " bytes");
    CHECK(sink.bytes > 3'000'000);
    CHECK(peak < 128 * 1024);
}
