// Helpers shared by the sipdetect fuzz targets (libFuzzer entry points that
// also build as plain corpus-replay programs, see replay_main.cpp).
#pragma once

#include <sipdetect/campaign_detector.hpp>
#include <sipdetect/json.hpp>
#include <sipdetect/proxy_detector.hpp>
#include <sipdetect/scan_detector.hpp>

#include "../state_frame.hpp"

#include <algorithm>
#include <bit>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <limits>
#include <map>
#include <sstream>
#include <string>
#include <string_view>
#include <system_error>

#include <fcntl.h>
#include <unistd.h>

#if defined(SIPDETECT_FUZZ_HAVE_NLOHMANN)
#include <nlohmann/json.hpp>
#endif

namespace fuzz {

// A failed invariant is a crash: libFuzzer keeps the input, the replay test fails.
[[noreturn]] inline void fail(const char* what, const char* file, int line, const std::string& detail = {}) {
    std::fprintf(stderr, "\n%s:%d: fuzz invariant failed: %s\n", file, line, what);
    if (!detail.empty()) std::fprintf(stderr, "  %s\n", detail.c_str());
    std::fflush(stderr);
    std::abort();
}

#define FUZZ_CHECK(cond) \
    do { \
        if (!(cond)) ::fuzz::fail(#cond, __FILE__, __LINE__); \
    } while (false)
#define FUZZ_CHECK_MSG(cond, msg) \
    do { \
        if (!(cond)) ::fuzz::fail(#cond, __FILE__, __LINE__, (msg)); \
    } while (false)

// Reads the fuzz input front to back; past the end every read yields zeros.
class input {
public:
    input(const std::uint8_t* data, std::size_t size) : data_(data), size_(size) {}

    bool empty() const noexcept { return pos_ >= size_; }
    std::size_t remaining() const noexcept { return size_ - pos_; }

    std::uint8_t u8() noexcept { return pos_ < size_ ? data_[pos_++] : std::uint8_t{0}; }
    std::uint16_t u16() noexcept { return static_cast<std::uint16_t>(u8() | u8() << 8); }
    std::uint32_t u32() noexcept { return std::uint32_t{u16()} | std::uint32_t{u16()} << 16; }
    std::uint64_t u64() noexcept { return std::uint64_t{u32()} | std::uint64_t{u32()} << 32; }
    std::int64_t i64() noexcept { return static_cast<std::int64_t>(u64()); }
    // Up to n bytes (fewer at the end of the input).
    std::string_view bytes(std::size_t n) noexcept {
        n = std::min(n, remaining());
        const std::string_view s(reinterpret_cast<const char*>(data_ + pos_), n);
        pos_ += n;
        return s;
    }

private:
    const std::uint8_t* data_;
    std::size_t size_;
    std::size_t pos_ = 0;
};

inline std::int64_t saturating_add(std::int64_t a, std::int64_t b) noexcept {
    std::int64_t r = 0;
    if (__builtin_add_overflow(a, b, &r)) return b > 0 ? std::numeric_limits<std::int64_t>::max()
                                                       : std::numeric_limits<std::int64_t>::min();
    return r;
}

// A per-process file in the temporary directory ($TMPDIR, else /tmp),
// reused by every run and removed at exit. It stays open: rewriting it in
// place is much cheaper than creating or truncating it for each input.
class temp_file {
public:
    explicit temp_file(const char* tag) {
        std::error_code ec;
        std::filesystem::path dir = std::filesystem::temp_directory_path(ec);
        if (ec) dir = "/tmp";
        path_ = dir / ("sipdetect-fuzz-" + std::string(tag) + "-" + std::to_string(::getpid()));
        fd_ = ::open(path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        if (fd_ < 0) fail("cannot create the temporary input file", __FILE__, __LINE__, path_.string());
    }
    ~temp_file() {
        ::close(fd_);
        std::error_code ec;
        std::filesystem::remove(path_, ec);
    }
    temp_file(const temp_file&) = delete;
    temp_file& operator=(const temp_file&) = delete;

    const std::filesystem::path& path() const noexcept { return path_; }

    void write(const std::uint8_t* data, std::size_t size) const {
        std::size_t done = 0;
        while (done < size) {
            const ::ssize_t n = ::pwrite(fd_, data + done, size - done, static_cast<::off_t>(done));
            if (n <= 0) fail("cannot write the temporary input file", __FILE__, __LINE__, path_.string());
            done += static_cast<std::size_t>(n);
        }
        if (::ftruncate(fd_, static_cast<::off_t>(size)) != 0)
            fail("cannot truncate the temporary input file", __FILE__, __LINE__, path_.string());
    }

private:
    std::filesystem::path path_;
    int fd_ = -1;
};

// ---------------------------------------------------------------------------
// Record types and clocks for the detectors.

// One SIP message per record, every optional field present.
struct message_record {
    sipdetect::record_time time{};
    sipdetect::ip_address src, dst;
    std::uint16_t src_port = 5060, dst_port = 5060;
    sipdetect::sender sent_by = sipdetect::sender::source;
    sipdetect::sip_method method = sipdetect::sip_method::unknown;
    std::uint16_t status = 0;
    std::string from_uri, to_uri, request_uri, user_agent;
    unsigned via_count = 1;
};

// One flow per record with Flowmon-style SIP counters.
struct counter_record {
    sipdetect::record_time time{};
    sipdetect::ip_address src, dst;
    std::uint16_t dst_port = 5060;
    sipdetect::sip_counters counters{};
    std::string from_uri, to_uri, user_agent;
    unsigned via_count = 1;
};

// A live clock whose wall time the test sets (unlike manual_clock, which
// says it is a replay clock and so disables the future-record check).
struct live_clock {
    sipdetect::record_time t{};
    sipdetect::record_time now() const noexcept { return t; }
};
static_assert(sipdetect::clock_is_live<live_clock>);
static_assert(!sipdetect::clock_is_live<sipdetect::manual_clock>);

inline void set_clock(live_clock& c, sipdetect::record_time t) noexcept { c.t = t; }
inline void set_clock(sipdetect::manual_clock& c, sipdetect::record_time t) noexcept { c.set(t); }

// 2020-01-01T00:00:00Z, a plausible base time for synthetic records.
inline constexpr std::int64_t base_micros = 1'577'836'800'000'000;

// ---------------------------------------------------------------------------
// Saved state images.

template <class D> std::string image_of(const D& d) {
    std::ostringstream out;
    d.save(out);
    return std::move(out).str();
}

template <class D> sipdetect::load_report load_image(D& d, const std::string& image) {
    std::istringstream in(image);
    return d.load(in);
}

// Mutations inside a state's payload get past the checksum with the frame fixed.
using test_state_frame::with_fixed_frame;

// Stats without memory_bytes, which depends on container capacities that a
// reload need not reproduce.
template <class Stats> Stats without_gauges(Stats s) {
    s.memory_bytes = 0;
    return s;
}

// ---------------------------------------------------------------------------
// Bounds derived from the configured caps.

// Buckets of a flat_table (or slots of a fingerprint_set, min_slots 8) that
// has never held more than max_entries: it grows at a load factor of 3/4.
inline std::uint64_t table_slots_bound(std::uint64_t max_entries, std::uint64_t min_slots = 16) {
    std::uint64_t s = min_slots;
    while (max_entries * 4 > s * 3) s *= 2;
    return s;
}

// A flat_table: 8-byte index buckets, entries in chunks (a chunk is added
// only when all are full, so never more than max_entries need, plus one for
// good measure), and the chunk pointers (a vector: up to twice as many).
template <class Entry>
std::uint64_t flat_table_bound(std::uint64_t max_entries) {
    constexpr std::size_t per_chunk = sipdetect::detail::flat_table<sipdetect::detail::source_key, Entry,
                                                                     sipdetect::detail::source_key_hasher>::chunk_entries;
    const std::uint64_t chunks = (max_entries + per_chunk - 1) / per_chunk + 1;
    return table_slots_bound(max_entries) * 8 + chunks * per_chunk * sizeof(Entry) + 2 * chunks * sizeof(void*);
}

// The detectors' internal types with the default allocator, as the fuzzers use them.
using default_allocator = std::allocator<std::byte>;

inline std::uint64_t scan_memory_bound(const sipdetect::scan_config& c) {
    namespace sd = sipdetect::detail;
    const std::uint64_t set_bytes = table_slots_bound(c.max_distinct, 8) * sizeof(std::uint32_t);
    const std::uint64_t per_heavy = sizeof(sd::scan_heavy<default_allocator>) + 3 * set_bytes +
                                    2 * std::uint64_t{c.evidence_targets} * (sizeof(sd::kept_target) + 64) +
                                    std::uint64_t{c.max_user_agents} *
                                        (sizeof(std::string) + 2 * sipdetect::user_agent_cap);
    return flat_table_bound<sd::scan_source<default_allocator>>(c.max_tracked) + c.max_tracked * per_heavy;
}

inline std::uint64_t proxy_memory_bound(const sipdetect::proxy_config& c) {
    namespace sd = sipdetect::detail;
    const std::uint64_t set_bytes = table_slots_bound(c.max_distinct, 8) * sizeof(std::uint32_t);
    const std::uint64_t per_heavy = sizeof(sd::proxy_heavy<default_allocator>) + set_bytes +
                                    std::uint64_t{c.uri_samples} * (sizeof(std::string) + 2 * 256) +
                                    2 * std::uint64_t{c.peer_samples} * sizeof(sipdetect::ip_address) +
                                    std::uint64_t{c.max_user_agents} *
                                        (sizeof(std::string) + 2 * sipdetect::user_agent_cap);
    return flat_table_bound<sd::proxy_candidate<default_allocator>>(c.max_candidates) + flat_table_bound<sd::learned_proxy>(c.max_proxies) +
           2 * c.max_candidates * sizeof(sd::source_key) + c.max_candidates * per_heavy;
}

// ---------------------------------------------------------------------------
// Event checks.

inline bool valid_utf8(std::string_view s) {
    for (std::size_t i = 0; i < s.size();) {
        const std::size_t n = sipdetect::detail::utf8_sequence(s, i);
        if (n == 0) return false;
        i += n;
    }
    return true;
}

// SIPDETECT_FUZZ_VERBOSE=1 prints every event (to see what a corpus input does).
inline bool verbose() {
    static const bool on = std::getenv("SIPDETECT_FUZZ_VERBOSE") != nullptr;
    return on;
}

// One JSON object on one line: no raw control bytes, valid UTF-8, balanced.
inline void check_json_line(const std::string& line) {
    if (verbose()) std::fprintf(stderr, "event: %s\n", line.c_str());
    FUZZ_CHECK_MSG(line.size() >= 2 && line.front() == '{' && line.back() == '}', line);
    for (const char ch : line) {
        const auto c = static_cast<unsigned char>(ch);
        FUZZ_CHECK_MSG(c >= 0x20 && c != 0x7f, line);
    }
    FUZZ_CHECK_MSG(valid_utf8(line), line);
#if defined(SIPDETECT_FUZZ_HAVE_NLOHMANN)
    FUZZ_CHECK_MSG(nlohmann::json::accept(line), line);
#endif
}

// `strict`: the event comes from records fed to a detector, not from a
// loaded state image (whose contents load() only checks for consistency).
inline void check_event(const sipdetect::scan_event& e, const sipdetect::scan_config& c, bool strict) {
    check_json_line(sipdetect::to_json(e));
    FUZZ_CHECK(e.id != 0);
    FUZZ_CHECK(e.first_seen <= e.last_seen);
    FUZZ_CHECK(e.sample.size() <= c.evidence_targets);
    FUZZ_CHECK(e.user_agents.size() <= c.max_user_agents);
    for (const auto& t : e.sample) FUZZ_CHECK(t.user.size() <= sipdetect::scan_user_cap);
    for (const auto& ua : e.user_agents) FUZZ_CHECK(ua.size() <= sipdetect::user_agent_cap && !ua.empty());
    FUZZ_CHECK(e.hosts <= c.max_distinct && e.users <= c.max_distinct && e.targets <= c.max_distinct);
    FUZZ_CHECK(e.successful_targets <= e.targets && e.failed_targets <= e.targets);
    if (strict && e.phase == sipdetect::scan_phase::start) FUZZ_CHECK(e.targets >= c.threshold);
}

inline void check_event(const sipdetect::campaign_event& e, const sipdetect::campaign_config& c, bool strict) {
    check_json_line(sipdetect::to_json(e));
    FUZZ_CHECK(e.id != 0);
    FUZZ_CHECK(e.first_seen <= e.last_seen);
    FUZZ_CHECK(e.source_sample.size() <= c.source_samples);
    FUZZ_CHECK(e.source_sample.size() <= e.sources || !strict);
    if (!strict) return;
    FUZZ_CHECK(e.hosts <= e.targets && e.users <= e.targets);
    FUZZ_CHECK(e.sources <= c.max_members);
    if (e.phase == sipdetect::scan_phase::start) FUZZ_CHECK(e.targets >= c.campaign_threshold && e.sources >= c.min_sources);
}

inline void check_event(const sipdetect::proxy_event& e, const sipdetect::proxy_config& c, bool strict) {
    check_json_line(sipdetect::to_json(e));
    FUZZ_CHECK(e.id != 0);
    if (!strict) return;
    FUZZ_CHECK(e.uris >= c.min_uris);
    FUZZ_CHECK(e.first_seen <= e.last_seen);
    FUZZ_CHECK(e.uri_sample.size() <= c.uri_samples);
    FUZZ_CHECK(e.peers.size() <= c.peer_samples);
    FUZZ_CHECK(e.user_agents.size() <= c.max_user_agents);
    for (const auto& u : e.uri_sample) FUZZ_CHECK(u.size() <= 256);
    for (const auto& ua : e.user_agents) FUZZ_CHECK(ua.size() <= sipdetect::user_agent_cap && !ua.empty());
    FUZZ_CHECK(e.min_via <= e.max_via);
}

// The ADS lifecycle of scan events: every id starts once, then updates, then ends once.
class scan_lifecycle {
public:
    void on(const sipdetect::scan_event& e) {
        auto it = state_.find(e.id);
        switch (e.phase) {
        case sipdetect::scan_phase::start:
            FUZZ_CHECK_MSG(it == state_.end(), "scan event id " + std::to_string(e.id) + " started twice");
            FUZZ_CHECK_MSG(e.id > last_start_, "scan event ids must grow");
            last_start_ = e.id;
            state_[e.id] = started;
            break;
        case sipdetect::scan_phase::update:
            FUZZ_CHECK_MSG(it != state_.end() && it->second == started, "update of a scan that is not running");
            break;
        case sipdetect::scan_phase::end:
            FUZZ_CHECK_MSG(it != state_.end() && it->second == started, "end of a scan that is not running");
            it->second = ended;
            break;
        }
    }
    // After flush() nothing may be left running.
    void expect_all_ended() const {
        for (const auto& [id, s] : state_) FUZZ_CHECK_MSG(s == ended, "scan " + std::to_string(id) + " never ended");
    }

private:
    enum phase_state { started, ended };
    std::map<std::uint64_t, phase_state> state_;
    std::uint64_t last_start_ = 0;
};

class proxy_ids {
public:
    void on(const sipdetect::proxy_event& e) {
        FUZZ_CHECK_MSG(e.id > last_, "new_proxy ids must grow");
        last_ = e.id;
    }

private:
    std::uint64_t last_ = 0;
};

} // namespace fuzz
