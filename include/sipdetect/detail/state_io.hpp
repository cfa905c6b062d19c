// sipdetect: the binary state format's framing, writer and reader.
//
// A detector's state is, all integers little-endian:
//   magic "SIPDSTAT" (8 bytes) | format version u16 | detector kind u8 |
//   reserved u8 (0) | payload length u64 | payload | CRC-32 u32
// The CRC (ISO-HDLC, as zlib) covers every byte before it. The payload is
// a sequence of explicitly sized fields written one by one, never a struct
// image, so the format does not depend on the host's layout or endianness.
//
// Saving streams: the payload is serialized twice by one writer template,
// first into a byte counter (the header needs its length), then into the
// stream with the CRC computed on the way; no image is held in memory.
// Loading reads exactly one frame from the stream, in bounded chunks.
#pragma once

#include <sipdetect/address.hpp>
#include <sipdetect/clock.hpp>
#include <sipdetect/detail/detector_common.hpp>
#include <sipdetect/detail/hash.hpp>
#include <sipdetect/detail/time_gate.hpp>
#include <sipdetect/errors.hpp>
#include <sipdetect/version.hpp>

#include <algorithm>
#include <array>
#include <bit>
#include <cstdint>
#include <cstring>
#include <istream>
#include <limits>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <vector>

SIPDETECT_NAMESPACE_BEGIN
namespace detail {

inline constexpr std::array<char, 8> state_magic{'S', 'I', 'P', 'D', 'S', 'T', 'A', 'T'};
// Version 3 stores logical content only (entries, not hash-table buckets;
// scanner tools by name). Version 2 files are still read.
inline constexpr std::uint16_t state_format_version = 3;
inline constexpr std::uint16_t oldest_state_format_version = 2;
inline constexpr std::size_t state_header_size = 8 + 2 + 1 + 1 + 8;
// A state larger than this is refused before it is read: no configuration
// that fits in memory produces one, and a hostile length must not make us allocate.
inline constexpr std::uint64_t max_state_payload = std::uint64_t{8} << 30;
// Streams are written and read in chunks of this many bytes.
inline constexpr std::size_t state_chunk_bytes = 64 * 1024;

enum class state_kind : std::uint8_t { scan = 1, proxy = 2, campaign = 3 };

// A saved next event id is at most this, so that ids never run out and wrap
// to a repeated one: 2^63 events at a billion a second take 292 years.
inline constexpr std::uint64_t max_next_event_id = std::uint64_t{1} << 63;

inline constexpr std::string_view state_kind_name(std::uint8_t kind) noexcept {
    switch (kind) {
    case 1: return "scan_detector";
    case 2: return "proxy_detector";
    case 3: return "campaign_detector";
    default: return "unknown detector";
    }
}

inline constexpr std::array<std::uint32_t, 256> crc32_table = [] {
    std::array<std::uint32_t, 256> t{};
    for (std::uint32_t i = 0; i < 256; ++i) {
        std::uint32_t c = i;
        for (int k = 0; k < 8; ++k) c = (c & 1u) ? 0xedb88320u ^ (c >> 1) : c >> 1;
        t[i] = c;
    }
    return t;
}();

// The CRC of `bytes` continued from `crc`, the CRC of the bytes before them.
inline std::uint32_t crc32(std::string_view bytes, std::uint32_t crc = 0) noexcept {
    crc = ~crc;
    for (char ch : bytes) crc = crc32_table[(crc ^ static_cast<unsigned char>(ch)) & 0xffu] ^ (crc >> 8);
    return ~crc;
}

// Sinks of a state_writer: put(bytes, n).
struct byte_counter {
    std::uint64_t bytes = 0;
    void put(const char*, std::size_t n) noexcept { bytes += n; }
};

// Buffers bytes into an ostream, with their CRC.
class crc_stream_sink {
public:
    explicit crc_stream_sink(std::ostream& os) : os_(os) { buffer_.reserve(state_chunk_bytes); }
    // The buffer never grows past its first allocation.
    void put(const char* p, std::size_t n) {
        crc_ = crc32(std::string_view(p, n), crc_);
        if (buffer_.size() + n > state_chunk_bytes) flush();
        if (n > state_chunk_bytes) write(p, n);
        else buffer_.append(p, n);
    }
    std::uint32_t crc() const noexcept { return crc_; }
    void flush() {
        write(buffer_.data(), buffer_.size());
        buffer_.clear();
    }

private:
    void write(const char* p, std::size_t n) {
        os_.write(p, static_cast<std::streamsize>(n));
        if (!os_) throw state_error("cannot write state: output stream failed");
    }
    std::ostream& os_;
    std::string buffer_;
    std::uint32_t crc_ = 0;
};

template <class Sink> class state_writer {
public:
    explicit state_writer(Sink& sink) noexcept : sink_(sink) {}
    void raw(std::string_view s) { sink_.put(s.data(), s.size()); }
    void u8(std::uint8_t v) { le(v, 1); }
    void boolean(bool v) { u8(v ? 1 : 0); }
    void u16(std::uint16_t v) { le(v, 2); }
    void u32(std::uint32_t v) { le(v, 4); }
    void u64(std::uint64_t v) { le(v, 8); }
    void i64(std::int64_t v) { le(static_cast<std::uint64_t>(v), 8); }
    void f64(double v) { u64(std::bit_cast<std::uint64_t>(v)); }
    void time(record_time t) { i64(micros_of(t)); }
    void duration(record_duration d) { i64(d.count()); }
    void address(const ip_address& a) { sink_.put(reinterpret_cast<const char*>(a.bytes().data()), 16); }
    void bytes(std::string_view s) {
        u32(static_cast<std::uint32_t>(s.size()));
        raw(s);
    }

private:
    void le(std::uint64_t v, int n) {
        char b[8];
        for (int i = 0; i < n; ++i) b[i] = static_cast<char>((v >> (8 * i)) & 0xffu);
        sink_.put(b, static_cast<std::size_t>(n));
    }
    Sink& sink_;
};

// Writes one frame: `payload(writer)` runs twice, once to count its bytes
// and once to write them; it must write the same bytes both times.
template <class Payload> void write_state(std::ostream& os, state_kind kind, Payload&& payload) {
    byte_counter counter;
    state_writer<byte_counter> count(counter);
    payload(count);
    crc_stream_sink sink(os);
    state_writer<crc_stream_sink> w(sink);
    w.raw(std::string_view(state_magic.data(), state_magic.size()));
    w.u16(state_format_version);
    w.u8(static_cast<std::uint8_t>(kind));
    w.u8(0);
    w.u64(counter.bytes);
    payload(w);
    const std::uint32_t crc = sink.crc();
    w.u32(crc);
    sink.flush();
}

// Reads one frame from a stream, a chunk at a time, and stops at its end.
// Any defect throws state_error; a defect found in the payload is reported
// as a checksum mismatch or a truncation when the frame has one.
class state_reader {
public:
    // Reads and checks the header; the payload is read as it is asked for.
    state_reader(std::istream& is, state_kind expected) : is_(is) {
        char head[state_header_size];
        is.read(head, static_cast<std::streamsize>(state_header_size));
        if (is.gcount() != static_cast<std::streamsize>(state_header_size))
            throw state_error("state truncated: " + std::to_string(is.gcount()) + " of " +
                              std::to_string(state_header_size) + " header bytes");
        if (std::memcmp(head, state_magic.data(), state_magic.size()) != 0)
            throw state_error("not a sipdetect state file (bad magic)");
        crc_ = crc32(std::string_view(head, state_header_size));
        version_ = static_cast<std::uint16_t>(le_of(head + 8, 2));
        if (version_ < oldest_state_format_version || version_ > state_format_version)
            throw state_error("unsupported state format version " + std::to_string(version_) + " (this build reads " +
                              std::to_string(oldest_state_format_version) + " to " +
                              std::to_string(state_format_version) + ")");
        const auto kind = static_cast<std::uint8_t>(head[10]);
        if (kind != static_cast<std::uint8_t>(expected))
            throw state_error("state was saved by a " + std::string(state_kind_name(kind)) + ", not a " +
                              std::string(state_kind_name(static_cast<std::uint8_t>(expected))));
        if (head[11] != 0) throw state_error("state header: reserved byte is not zero");
        length_ = le_of(head + 12, 8);
        if (length_ > max_state_payload) throw state_error("state payload length " + std::to_string(length_) + " is implausible");
    }

    std::uint16_t version() const noexcept { return version_; }

    std::uint8_t u8() { return static_cast<std::uint8_t>(le(1)); }
    bool boolean() {
        const std::uint8_t v = u8();
        if (v > 1) fail("boolean out of range");
        return v == 1;
    }
    std::uint16_t u16() { return static_cast<std::uint16_t>(le(2)); }
    std::uint32_t u32() { return static_cast<std::uint32_t>(le(4)); }
    std::uint64_t u64() { return le(8); }
    std::int64_t i64() { return static_cast<std::int64_t>(le(8)); }
    double f64() { return std::bit_cast<double>(u64()); }
    // A saved time lies within years 1 to 9999, like every record time a
    // detector accepts, so differences of two saved times fit in 64 bits.
    record_time time() {
        const record_time t = record_time_from_micros(i64());
        if (t < earliest_record_time || t > latest_record_time) fail("time out of range");
        return t;
    }
    // The same, no later than `newest`: a detector's entries and sweeps are
    // dated by records and polls it has seen, never after them.
    record_time time_until(record_time newest) {
        const record_time t = time();
        if (t > newest) fail("time after the newest record or poll");
        return t;
    }
    // The same as time(), or the one sentinel the field holds before it is set.
    record_time time_or(record_time unset) {
        const record_time t = record_time_from_micros(i64());
        if (t != unset && (t < earliest_record_time || t > latest_record_time)) fail("time out of range");
        return t;
    }
    record_duration duration() { return record_duration{i64()}; }
    ip_address address() {
        ip_address::bytes_type b{};
        take(reinterpret_cast<char*>(b.data()), b.size());
        return ip_address::from_bytes(b);
    }
    std::string bytes(std::size_t max_length) {
        const std::uint32_t n = u32();
        if (n > max_length) fail("string of " + std::to_string(n) + " bytes exceeds its cap of " + std::to_string(max_length));
        need(n);
        std::string s(n, '\0');
        take(s.data(), n);
        return s;
    }
    // A count of items that each take at least `min_item_bytes`: refused when
    // the rest of the payload could not hold them, before anything is reserved.
    std::uint64_t count(std::uint64_t limit, std::size_t min_item_bytes, const char* what) {
        const std::uint64_t n = u64();
        if (n > limit) fail(std::string(what) + " count " + std::to_string(n) + " exceeds the limit " + std::to_string(limit));
        if (min_item_bytes > 0 && n > (length_ - consumed_) / min_item_bytes) fail(std::string(what) + " count exceeds the payload");
        return n;
    }
    // The payload is read to its end and the checksum matches.
    void finish() {
        if (consumed_ != length_) fail("state has " + std::to_string(length_ - consumed_) + " unread payload bytes");
        check_checksum();
    }
    // Throws what is wrong: the frame's truncation or checksum if it has
    // one (a flipped bit is reported as such, not by what it broke), else
    // `what` at the current payload offset.
    [[noreturn]] void fail(const std::string& what) {
        const std::uint64_t at = consumed_;
        for (consumed_ += buffered(); consumed_ < length_; consumed_ += buffered())
            refill(static_cast<std::size_t>(std::min<std::uint64_t>(length_ - consumed_, state_chunk_bytes)));
        check_checksum();
        throw state_error("corrupt state at payload offset " + std::to_string(at) + ": " + what);
    }

private:
    static std::uint64_t le_of(const char* p, int n) noexcept {
        std::uint64_t v = 0;
        for (int i = n - 1; i >= 0; --i) v = v << 8 | static_cast<unsigned char>(p[i]);
        return v;
    }
    std::size_t buffered() const noexcept { return end_ - begin_; }
    void need(std::uint64_t n) {
        if (n > length_ - consumed_) fail("unexpected end of payload");
    }
    // Reads the next `want` payload bytes into the empty buffer; throws when the stream ends first.
    void refill(std::size_t want) {
        buffer_.resize(want);
        is_.read(buffer_.data(), static_cast<std::streamsize>(want));
        const auto got = static_cast<std::size_t>(is_.gcount());
        crc_ = crc32(std::string_view(buffer_.data(), got), crc_);
        begin_ = 0;
        end_ = got;
        if (got != want)
            throw state_error("state truncated: payload declares " + std::to_string(length_) + " bytes, " +
                              std::to_string(consumed_ + got) + " present");
    }
    // Copies the next n payload bytes to `out`.
    void take(char* out, std::size_t n) {
        need(n);
        while (n > 0) {
            if (buffered() == 0)
                refill(static_cast<std::size_t>(std::min<std::uint64_t>(length_ - consumed_, state_chunk_bytes)));
            const std::size_t k = std::min(n, buffered());
            std::memcpy(out, buffer_.data() + begin_, k);
            begin_ += k;
            consumed_ += k;
            out += k;
            n -= k;
        }
    }
    std::uint64_t le(int n) {
        char b[8];
        take(b, static_cast<std::size_t>(n));
        return le_of(b, n);
    }
    void check_checksum() {
        char stored[4];
        is_.read(stored, 4);
        if (is_.gcount() != 4) throw state_error("state truncated: the checksum is missing");
        if (le_of(stored, 4) != crc_) throw state_error("state checksum mismatch: the file is corrupt");
    }

    std::istream& is_;
    std::uint16_t version_ = 0;
    std::uint64_t length_ = 0;
    std::uint64_t consumed_ = 0; // payload bytes handed out
    std::uint32_t crc_ = 0;      // of every byte read from the stream so far
    std::string buffer_;         // payload bytes read ahead, [begin_, end_) not yet handed out
    std::size_t begin_ = 0, end_ = 0;
};

template <class W> void write_time_gate(W& w, const time_gate& g) {
    w.time(g.watermark);
    w.time(g.clock_reading);
    w.time(g.last_now);
}

inline time_gate read_time_gate(state_reader& r) {
    time_gate g;
    g.watermark = r.time_or(record_time::min());
    g.clock_reading = r.time_or(record_time::min());
    g.last_now = r.time_or(record_time::min());
    return g;
}
// The latest time a detector with this gate has seen.
inline record_time newest_seen(const time_gate& g) noexcept {
    return std::max(g.watermark, g.last_now);
}

// Whether a list of keys read from a state file names one twice; sorts a
// copy, so that a hostile list of a million keys takes a moment, not hours.
template <class Keys> bool any_repeated(const Keys& list) {
    std::vector<source_key> keys(list.begin(), list.end());
    auto before = [](const source_key& a, const source_key& b) {
        return a.address.bytes() != b.address.bytes() ? a.address.bytes() < b.address.bytes() : a.tag < b.tag;
    };
    std::sort(keys.begin(), keys.end(), before);
    return std::adjacent_find(keys.begin(), keys.end()) != keys.end();
}

// ---------------------------------------------------------------------------
// Configurations, saved field by field from their lists (detector_common.hpp),
// each integer at a fixed width whatever the host's.

template <class W, class T> void write_value(W& w, const T& v) {
    if constexpr (std::is_same_v<T, bool>) w.boolean(v);
    else if constexpr (std::is_enum_v<T>) w.u8(static_cast<std::uint8_t>(v));
    else if constexpr (std::is_same_v<T, std::uint32_t>) w.u32(v);
    else if constexpr (std::is_integral_v<T> && std::is_unsigned_v<T>) w.u64(static_cast<std::uint64_t>(v));
    else if constexpr (std::is_same_v<T, double>) w.f64(v);
    else if constexpr (std::is_same_v<T, record_duration>) w.duration(v);
    else if constexpr (std::is_same_v<T, prefix_set>) w.bytes(v.to_string());
    else static_assert(sizeof(T) == 0, "no state encoding for this configuration field type");
}

// Saved prefix lists are at most this long: far beyond any real filter.
inline constexpr std::size_t max_saved_prefix_text = 1 << 20;

template <class Config, class T> void read_value(state_reader& r, Config& c, const config_field<Config, T>& f) {
    if (r.version() < f.since_version) return;
    T& v = c.*(f.member);
    if constexpr (std::is_same_v<T, bool>) v = r.boolean();
    else if constexpr (std::is_enum_v<T>) {
        const std::uint8_t raw = r.u8();
        if (raw < static_cast<std::uint8_t>(f.low) || raw > static_cast<std::uint8_t>(f.high))
            r.fail("saved " + std::string(f.name) + " out of range");
        v = static_cast<T>(raw);
    } else if constexpr (std::is_same_v<T, std::uint32_t>) v = r.u32();
    else if constexpr (std::is_integral_v<T> && std::is_unsigned_v<T>) {
        const std::uint64_t raw = r.u64();
        if (raw > std::numeric_limits<T>::max()) r.fail("saved " + std::string(f.name) + " does not fit this host");
        v = static_cast<T>(raw);
    } else if constexpr (std::is_same_v<T, double>) v = r.f64();
    else if constexpr (std::is_same_v<T, record_duration>) v = r.duration();
    else if constexpr (std::is_same_v<T, prefix_set>) {
        const std::string text = r.bytes(max_saved_prefix_text);
        try {
            v = prefix_set::parse(text);
        } catch (const parse_error& e) {
            r.fail("saved " + std::string(f.name) + ": " + e.what());
        }
    } else static_assert(sizeof(T) == 0, "no state encoding for this configuration field type");
}

// The fields, then the seed the detector's fingerprints were made with.
template <class W, class Config, class... T>
void write_config(W& w, const Config& c, std::uint64_t seed, const std::tuple<config_field<Config, T>...>& fields) {
    std::apply([&](const auto&... f) { (write_value(w, c.*(f.member)), ...); }, fields);
    w.u64(seed);
}

template <class Config> struct saved_config {
    Config config;
    std::uint64_t hash_seed = 0;
};

template <class Config, class... T>
saved_config<Config> read_config(state_reader& r, const std::tuple<config_field<Config, T>...>& fields) {
    saved_config<Config> saved;
    std::apply([&](const auto&... f) { (read_value(r, saved.config, f), ...); }, fields);
    saved.hash_seed = r.u64();
    return saved;
}

// The seed a loading detector uses: the file's, unless its configuration
// set another one.
inline std::uint64_t seed_to_adopt(const std::optional<std::uint64_t>& configured, std::uint64_t saved) {
    if (configured && *configured != saved)
        throw state_error("state was saved with a different hash_seed; its fingerprints cannot be used");
    return saved;
}

// ---------------------------------------------------------------------------
// Parts both detectors save.

// Members are written sorted: the image is canonical whatever the set's layout.
template <class W, class Allocator> void write_set(W& w, const basic_fingerprint_set<Allocator>& set) {
    std::vector<std::uint32_t> members;
    members.reserve(set.size());
    set.for_each([&](std::uint32_t key, std::uint32_t flags) { members.push_back(key | flags << fingerprint_set::flag_shift); });
    std::sort(members.begin(), members.end());
    w.boolean(set.saturated());
    w.u64(members.size());
    for (std::uint32_t m : members) w.u32(m);
}

// Into a set that has its allocator.
template <class Allocator>
void read_set(state_reader& r, basic_fingerprint_set<Allocator>& set, std::uint32_t limit, const char* what) {
    const bool saturated = r.boolean();
    const std::uint64_t n = r.count(limit, 4, what);
    std::vector<std::uint32_t> members(static_cast<std::size_t>(n));
    for (auto& m : members) m = r.u32();
    if (!set.restore(members, saturated, limit)) r.fail(std::string(what) + ": duplicate or empty fingerprint");
}

// Cumulative counters, listed per stats type; gauges are recomputed.
template <class W, class Stats, std::size_t N>
void write_counters(W& w, const std::array<std::uint64_t Stats::*, N>& fields, const Stats& s) {
    for (auto f : fields) w.u64(s.*f);
}
template <class Stats, std::size_t N>
void read_counters(state_reader& r, const std::array<std::uint64_t Stats::*, N>& fields, Stats& s) {
    for (auto f : fields) s.*f = r.u64();
}

template <class W, class Strings> void write_strings(W& w, const Strings& v) {
    w.u64(v.size());
    for (const auto& s : v) w.bytes(s);
}
// Into `v` (emptied first), each string made with v's allocator; grown item
// by item: a count is only as good as the bytes that follow it.
template <class String, class Allocator>
void read_strings(state_reader& r, std::vector<String, Allocator>& v, std::uint64_t limit, std::size_t cap,
                  const char* what) {
    const std::uint64_t n = r.count(limit, 4, what);
    v.clear();
    for (std::uint64_t i = 0; i < n; ++i) {
        const std::string s = r.bytes(cap);
        v.emplace_back(s.data(), s.size(), typename String::allocator_type(v.get_allocator()));
    }
}
template <class W, class Addresses> void write_addresses(W& w, const Addresses& v) {
    w.u64(v.size());
    for (const auto& a : v) w.address(a);
}
template <class Allocator>
void read_addresses(state_reader& r, std::vector<ip_address, Allocator>& v, std::uint64_t limit, const char* what) {
    const std::uint64_t n = r.count(limit, 16, what);
    v.clear();
    for (std::uint64_t i = 0; i < n; ++i) v.push_back(r.address());
}

} // namespace detail
SIPDETECT_NAMESPACE_END
