// sipdetect: the binary state format's framing, writer and reader.
//
// A state file is, all integers little-endian:
//   magic "SIPDSTAT" (8 bytes) | format version u16 | detector kind u8 |
//   reserved u8 (0) | payload length u64 | payload | CRC-32 u32
// The CRC (ISO-HDLC, as zlib) covers every byte before it. The payload is
// a sequence of explicitly sized fields written one by one, never a struct
// image, so the format does not depend on the host's layout or endianness.
#pragma once

#include <sipdetect/address.hpp>
#include <sipdetect/clock.hpp>
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
#include <ostream>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <vector>

SIPDETECT_NAMESPACE_BEGIN
namespace detail {

inline constexpr std::array<char, 8> state_magic{'S', 'I', 'P', 'D', 'S', 'T', 'A', 'T'};
inline constexpr std::uint16_t state_format_version = 2;
inline constexpr std::size_t state_header_size = 8 + 2 + 1 + 1 + 8;
// A state larger than this is refused before it is read: no configuration
// that fits in memory produces one, and a hostile length must not make us allocate.
inline constexpr std::uint64_t max_state_payload = std::uint64_t{8} << 30;

enum class state_kind : std::uint8_t { scan = 1, proxy = 2 };

// A saved next event id is at most this, so that ids never run out and wrap
// to a repeated one: 2^63 events at a billion a second take 292 years.
inline constexpr std::uint64_t max_next_event_id = std::uint64_t{1} << 63;

// The most buckets a table capped at `cap` entries can have grown to: a
// saved bucket count above it is corrupt, and must not make us allocate.
inline constexpr std::uint64_t max_buckets_for(std::uint64_t cap) noexcept {
    std::uint64_t b = 16;
    while (b * 3 < cap * 4 && b < (std::uint64_t{1} << 42)) b *= 2;
    return b;
}

inline constexpr std::string_view state_kind_name(std::uint8_t kind) noexcept {
    switch (kind) {
    case 1: return "scan_detector";
    case 2: return "proxy_detector";
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

inline std::uint32_t crc32(std::string_view bytes, std::uint32_t crc = 0) noexcept {
    crc = ~crc;
    for (char ch : bytes) crc = crc32_table[(crc ^ static_cast<unsigned char>(ch)) & 0xffu] ^ (crc >> 8);
    return ~crc;
}

class state_writer {
public:
    void u8(std::uint8_t v) { out_ += static_cast<char>(v); }
    void boolean(bool v) { u8(v ? 1 : 0); }
    void u16(std::uint16_t v) { le(v, 2); }
    void u32(std::uint32_t v) { le(v, 4); }
    void u64(std::uint64_t v) { le(v, 8); }
    void i64(std::int64_t v) { le(static_cast<std::uint64_t>(v), 8); }
    void f64(double v) { u64(std::bit_cast<std::uint64_t>(v)); }
    void time(record_time t) { i64(micros_of(t)); }
    void duration(record_duration d) { i64(d.count()); }
    void address(const ip_address& a) { out_.append(reinterpret_cast<const char*>(a.bytes().data()), 16); }
    void bytes(std::string_view s) {
        u32(static_cast<std::uint32_t>(s.size()));
        out_.append(s);
    }

    // Frames the payload and writes the whole file image.
    void finish(std::ostream& os, state_kind kind) const {
        std::string image;
        image.reserve(state_header_size + out_.size() + 4);
        image.append(state_magic.data(), state_magic.size());
        state_writer header;
        header.u16(state_format_version);
        header.u8(static_cast<std::uint8_t>(kind));
        header.u8(0);
        header.u64(out_.size());
        image += header.out_;
        image += out_;
        state_writer tail;
        tail.u32(crc32(image));
        image += tail.out_;
        os.write(image.data(), static_cast<std::streamsize>(image.size()));
        if (!os) throw state_error("cannot write state: output stream failed");
    }

private:
    void le(std::uint64_t v, int n) {
        for (int i = 0; i < n; ++i) out_ += static_cast<char>((v >> (8 * i)) & 0xffu);
    }
    std::string out_;
};

class state_reader {
public:
    // Reads and verifies the frame; throws state_error naming what is wrong.
    state_reader(std::istream& is, state_kind expected) {
        char head[state_header_size];
        is.read(head, static_cast<std::streamsize>(state_header_size));
        if (is.gcount() != static_cast<std::streamsize>(state_header_size))
            throw state_error("state truncated: " + std::to_string(is.gcount()) + " of " +
                              std::to_string(state_header_size) + " header bytes");
        if (std::memcmp(head, state_magic.data(), state_magic.size()) != 0)
            throw state_error("not a sipdetect state file (bad magic)");
        data_.assign(head, state_header_size);
        end_ = state_header_size;
        pos_ = 8;
        const std::uint16_t version = u16();
        if (version != state_format_version)
            throw state_error("unsupported state format version " + std::to_string(version) + " (this build reads " +
                              std::to_string(state_format_version) + ")");
        const std::uint8_t kind = u8();
        if (kind != static_cast<std::uint8_t>(expected))
            throw state_error("state was saved by a " + std::string(state_kind_name(kind)) + ", not a " +
                              std::string(state_kind_name(static_cast<std::uint8_t>(expected))));
        if (u8() != 0) throw state_error("state header: reserved byte is not zero");
        const std::uint64_t length = u64();
        if (length > max_state_payload) throw state_error("state payload length " + std::to_string(length) + " is implausible");
        // Read in chunks so a lying length cannot make us allocate it up front.
        std::uint64_t remaining = length + 4;
        char chunk[65536];
        while (remaining > 0) {
            const auto want = static_cast<std::streamsize>(std::min<std::uint64_t>(remaining, sizeof chunk));
            is.read(chunk, want);
            const std::streamsize got = is.gcount();
            data_.append(chunk, static_cast<std::size_t>(got));
            if (got != want)
                throw state_error("state truncated: payload declares " + std::to_string(length) + " bytes, " +
                                  std::to_string(data_.size() - state_header_size) + " present with checksum");
            remaining -= static_cast<std::uint64_t>(got);
        }
        if (is.peek() != std::char_traits<char>::eof()) throw state_error("state has trailing bytes after the checksum");
        const std::size_t body = data_.size() - 4;
        end_ = data_.size();
        pos_ = body;
        const std::uint32_t stored = u32();
        if (stored != crc32(std::string_view(data_).substr(0, body)))
            throw state_error("state checksum mismatch: the file is corrupt");
        end_ = body;
        pos_ = state_header_size;
    }

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
        need(16);
        ip_address::bytes_type b{};
        std::memcpy(b.data(), data_.data() + pos_, 16);
        pos_ += 16;
        return ip_address::from_bytes(b);
    }
    std::string bytes(std::size_t max_length) {
        const std::uint32_t n = u32();
        if (n > max_length) fail("string of " + std::to_string(n) + " bytes exceeds its cap of " + std::to_string(max_length));
        need(n);
        std::string s = data_.substr(pos_, n);
        pos_ += n;
        return s;
    }
    // A count of items that each take at least `min_item_bytes`: refused when
    // the rest of the payload could not hold them, before anything is reserved.
    std::uint64_t count(std::uint64_t limit, std::size_t min_item_bytes, const char* what) {
        const std::uint64_t n = u64();
        if (n > limit) fail(std::string(what) + " count " + std::to_string(n) + " exceeds the limit " + std::to_string(limit));
        if (min_item_bytes > 0 && n > (end_ - pos_) / min_item_bytes) fail(std::string(what) + " count exceeds the payload");
        return n;
    }
    void expect_end() const {
        if (pos_ != end_) fail("state has " + std::to_string(end_ - pos_) + " unread payload bytes");
    }
    [[noreturn]] void fail(const std::string& what) const {
        throw state_error("corrupt state at payload offset " + std::to_string(pos_ - state_header_size) + ": " + what);
    }

private:
    void need(std::size_t n) const {
        if (n > end_ - pos_) fail("unexpected end of payload");
    }
    std::uint64_t le(int n) {
        need(static_cast<std::size_t>(n));
        std::uint64_t v = 0;
        for (int i = n - 1; i >= 0; --i) v = v << 8 | static_cast<unsigned char>(data_[pos_ + static_cast<std::size_t>(i)]);
        pos_ += static_cast<std::size_t>(n);
        return v;
    }

    std::string data_;
    std::size_t pos_ = 0;
    std::size_t end_ = 0;
};

inline void write_time_gate(state_writer& w, const time_gate& g) {
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
inline bool any_repeated(std::vector<source_key> keys) {
    auto before = [](const source_key& a, const source_key& b) {
        return a.address.bytes() != b.address.bytes() ? a.address.bytes() < b.address.bytes() : a.tag < b.tag;
    };
    std::sort(keys.begin(), keys.end(), before);
    return std::adjacent_find(keys.begin(), keys.end()) != keys.end();
}

// Configurations are saved field by field from one list per config type
// (name and member); the same list reads them back and names differences.
template <class Config, class T> struct config_field {
    std::string_view name;
    T Config::*member;
};

template <class T> void write_value(state_writer& w, const T& v) {
    if constexpr (std::is_same_v<T, bool>) w.boolean(v);
    else if constexpr (std::is_enum_v<T>) w.u8(static_cast<std::uint8_t>(v));
    else if constexpr (std::is_integral_v<T> && sizeof(T) == 4) w.u32(v);
    else if constexpr (std::is_integral_v<T> && sizeof(T) == 8) w.u64(v);
    else if constexpr (std::is_same_v<T, double>) w.f64(v);
    else if constexpr (std::is_same_v<T, record_duration>) w.duration(v);
    else if constexpr (std::is_same_v<T, prefix_set>) w.bytes(v.to_string());
    else static_assert(sizeof(T) == 0, "no state encoding for this configuration field type");
}

template <class T> void read_value(state_reader& r, T& v, std::string_view name) {
    if constexpr (std::is_same_v<T, bool>) v = r.boolean();
    else if constexpr (std::is_enum_v<T>) {
        const std::uint8_t raw = r.u8();
        if (raw > 1) r.fail("saved " + std::string(name) + " out of range");
        v = static_cast<T>(raw);
    } else if constexpr (std::is_integral_v<T> && sizeof(T) == 4) v = r.u32();
    else if constexpr (std::is_integral_v<T> && sizeof(T) == 8) v = static_cast<T>(r.u64());
    else if constexpr (std::is_same_v<T, double>) v = r.f64();
    else if constexpr (std::is_same_v<T, record_duration>) v = r.duration();
    else if constexpr (std::is_same_v<T, prefix_set>) {
        const std::string text = r.bytes(1 << 20);
        try {
            v = prefix_set::parse(text);
        } catch (const parse_error& e) {
            r.fail("saved " + std::string(name) + ": " + e.what());
        }
    } else static_assert(sizeof(T) == 0, "no state encoding for this configuration field type");
}

template <class Config, class... T>
void write_config(state_writer& w, const Config& c, const std::tuple<config_field<Config, T>...>& fields) {
    std::apply([&](const auto&... f) { (write_value(w, c.*(f.member)), ...); }, fields);
}

template <class Config, class... T>
Config read_config(state_reader& r, const std::tuple<config_field<Config, T>...>& fields) {
    Config c;
    std::apply([&](const auto&... f) { (read_value(r, c.*(f.member), f.name), ...); }, fields);
    return c;
}

// Names of the fields that differ, the hash seed excepted (it is checked on its own).
template <class Config, class... T>
std::vector<std::string> config_differences(const Config& saved, const Config& running,
                                            const std::tuple<config_field<Config, T>...>& fields) {
    std::vector<std::string> out;
    auto note = [&](const auto& f) {
        if (f.name != "hash_seed" && !(saved.*(f.member) == running.*(f.member))) out.emplace_back(f.name);
    };
    std::apply([&](const auto&... f) { (note(f), ...); }, fields);
    return out;
}

} // namespace detail
SIPDETECT_NAMESPACE_END
