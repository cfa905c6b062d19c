// sipdetect command-line program: helpers shared by the input readers.
// Internal to the readers; main() does not need this header.
#pragma once

#include "readers.hpp"

#include <sipdetect/address.hpp>
#include <sipdetect/clock.hpp>

#include <array>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <deque>
#include <filesystem>
#include <limits>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace sipdetect_cli::detail {

// A UniRec template line: "ipaddr DST_IP,ipaddr SRC_IP,uint16 DST_PORT,..." (readers.cpp).
bool is_unirec_template(std::string_view line) noexcept;

// Unsigned integers in network (big-endian) and little-endian byte order.
constexpr std::uint16_t be16(const std::uint8_t* p) noexcept { return static_cast<std::uint16_t>(p[0] << 8 | p[1]); }
constexpr std::uint32_t be32(const std::uint8_t* p) noexcept {
    return std::uint32_t{p[0]} << 24 | std::uint32_t{p[1]} << 16 | std::uint32_t{p[2]} << 8 | std::uint32_t{p[3]};
}
constexpr std::uint64_t be64(const std::uint8_t* p) noexcept {
    return std::uint64_t{be32(p)} << 32 | std::uint64_t{be32(p + 4)};
}
constexpr std::uint16_t le16(const std::uint8_t* p) noexcept { return static_cast<std::uint16_t>(p[0] | p[1] << 8); }
constexpr std::uint32_t le32(const std::uint8_t* p) noexcept {
    return std::uint32_t{p[0]} | std::uint32_t{p[1]} << 8 | std::uint32_t{p[2]} << 16 | std::uint32_t{p[3]} << 24;
}
constexpr std::uint64_t le64(const std::uint8_t* p) noexcept {
    return std::uint64_t{le32(p)} | std::uint64_t{le32(p + 4)} << 32;
}

// Link layers of captured frames that decode_frame understands.
enum class link_layer {
    ethernet,   // Ethernet II with 802.1Q/802.1ad/QinQ tags and PPPoE sessions
    linux_sll,  // Linux cooked capture v1
    linux_sll2, // Linux cooked capture v2
    raw_ip,     // IPv4 or IPv6, told apart by the version nibble
    raw_ipv4,   // IPv4 only
    raw_ipv6,   // IPv6 only
    bsd_null,   // 4-byte address family in the capturing host's byte order
    bsd_loop,   // 4-byte address family in network byte order
};

// Decodes one captured frame, link layer to SIP (pcap_reader.cpp; the pcap
// and NetMon readers share it): appends one input_record per SIP message, all
// stamped `time`, to `out`, and counts what it finds in `counters` (every
// packet counter except `packets` itself, which the caller counts). Never
// throws on frame content: cut or impossible headers are counted as
// truncated_packets.
void decode_frame(link_layer link, std::span<const std::uint8_t> frame, sipdetect::record_time time,
                  reader_counters& counters, std::deque<input_record>& out);

// An unsigned integer of 1 to 8 bytes in network (big-endian) byte order, as
// IPFIX's reduced-size encodings store them.
constexpr std::uint64_t read_be(std::span<const std::uint8_t> b) noexcept {
    std::uint64_t v = 0;
    for (const std::uint8_t byte : b) v = v << 8 | byte;
    return v;
}

// The link layer of a LINKTYPE_ value as pcap and pcapng files store it
// (tcpdump.org's list; 12 and 14 are DLT_RAW on the systems that wrote them
// into files before LINKTYPE_RAW existed); nullopt when not decoded.
std::optional<link_layer> link_layer_of_linktype(std::uint32_t linktype) noexcept;

// The block type of a pcapng Section Header Block, which opens every pcapng
// file: the same in either byte order.
inline constexpr std::uint32_t pcapng_section_header_type = 0x0A0D0D0A;

// A packet's time from whole seconds and microseconds since the epoch;
// nullopt beyond about year +-287,000, which only a corrupt capture holds.
inline constexpr std::int64_t max_capture_seconds = 9'000'000'000'000;
inline std::optional<sipdetect::record_time> capture_time(std::int64_t seconds, std::int64_t micros) noexcept {
    if (seconds > max_capture_seconds || seconds < -max_capture_seconds) return std::nullopt;
    return sipdetect::record_time_from_micros(seconds * 1'000'000 + micros);
}

// The library's: white space trimmed, and a quoted, printable excerpt of
// untrusted text for error messages.
using sipdetect::detail::quoted_excerpt;
using sipdetect::detail::trim;

[[noreturn]] inline void fail(const std::filesystem::path& file, std::string where, std::string what) {
    throw input_exception(input_error{file.string(), std::move(where), std::move(what)});
}

struct file_closer {
    void operator()(std::FILE* f) const noexcept { std::fclose(f); }
};
using file_ptr = std::unique_ptr<std::FILE, file_closer>;

inline file_ptr open_file(const std::filesystem::path& path) {
    errno = 0;
    file_ptr f(std::fopen(path.c_str(), "rb"));
    if (!f) fail(path, "", std::string("cannot open: ") + std::strerror(errno != 0 ? errno : ENOENT));
    return f;
}

// A reader whose input yields records a batch at a time (the messages of a
// captured packet, the request and response of a Zeek transaction), which
// next() hands out one at a time. An input_exception from read_more() is
// kept: the reader stays failed.
class batch_reader : public record_reader {
public:
    bool next(input_record& out) final {
        if (error_) throw input_exception(*error_);
        try {
            while (pending_.empty())
                if (!read_more()) return false;
        } catch (const input_exception& e) {
            error_ = e.error();
            throw;
        }
        out = std::move(pending_.front());
        pending_.pop_front();
        ++counters_.records;
        return true;
    }

protected:
    using record_reader::record_reader;
    // Reads on to the next packet or transaction and appends the records it
    // holds, if any, to pending(); false at the end of the file.
    virtual bool read_more() = 0;
    std::deque<input_record>& pending() noexcept { return pending_; }

private:
    std::deque<input_record> pending_;
    std::optional<input_error> error_;
};

// A reader of captured packets: read_more() reads the next packet and decodes its frame with decode().
class capture_reader : public batch_reader {
protected:
    using batch_reader::batch_reader;
    void decode(link_layer link, std::span<const std::uint8_t> frame, sipdetect::record_time time) {
        decode_frame(link, frame, time, counters_, pending());
    }
};

// Reads a text file, or a stream through a read_some_function, line by line
// with a bounded line length.
class line_source {
public:
    explicit line_source(const std::filesystem::path& path) : path_(path), file_(open_file(path)), buf_(1 << 16) {}
    // A stream: `read` returns what has arrived, so that a line is returned
    // as soon as it is complete, without waiting for a full buffer.
    line_source(std::filesystem::path name, read_some_function read)
        : path_(std::move(name)), read_(std::move(read)), buf_(1 << 16) {}

    // The next line without its "\n" or "\r\n"; false at the end of the file.
    bool next(std::string& line) {
        line.clear();
        line_offset_ = offset_;
        bool any = false;
        for (;;) {
            if (pos_ == end_) {
                if (!fill()) {
                    if (!any) return false;
                    unterminated_ = true;
                    break;
                }
            }
            any = true;
            const char* start = buf_.data() + pos_;
            const auto* nl = static_cast<const char*>(std::memchr(start, '\n', end_ - pos_));
            const std::size_t take = nl ? static_cast<std::size_t>(nl - start) : end_ - pos_;
            if (line.size() + take > max_line_length) too_long();
            line.append(start, take);
            pos_ += take;
            offset_ += take;
            if (nl) {
                ++pos_;
                ++offset_;
                unterminated_ = false;
                break;
            }
        }
        ++line_number_;
        if (!line.empty() && line.back() == '\r') line.pop_back();
        return true;
    }

    std::uint64_t line_number() const noexcept { return line_number_; } // of the last line returned
    std::uint64_t line_offset() const noexcept { return line_offset_; } // byte offset of the last line returned
    bool last_unterminated() const noexcept { return unterminated_; }   // it ended without a newline
    std::string where() const { return "line " + std::to_string(line_number_); }

private:
    bool fill() {
        pos_ = 0;
        bool failed = false;
        if (file_) {
            end_ = std::fread(buf_.data(), 1, buf_.size(), file_.get());
            failed = end_ == 0 && std::ferror(file_.get());
        } else {
            const std::ptrdiff_t got = read_(buf_.data(), buf_.size());
            end_ = got > 0 ? static_cast<std::size_t>(got) : 0;
            failed = got < 0;
        }
        if (failed)
            fail(path_, "line " + std::to_string(line_number_ + 1), std::string("read error: ") + std::strerror(errno));
        return end_ > 0;
    }
    [[noreturn]] void too_long() const {
        fail(path_, "line " + std::to_string(line_number_ + 1),
             "line longer than " + std::to_string(max_line_length) + " bytes");
    }

    std::filesystem::path path_;
    file_ptr file_;
    read_some_function read_;
    std::vector<char> buf_;
    std::size_t pos_ = 0, end_ = 0;
    std::uint64_t offset_ = 0, line_offset_ = 0, line_number_ = 0;
    bool unterminated_ = false;
};

// The last line of a file that holds something other than whitespace, with
// its byte offset; read from the end, at most max_line_length bytes back.
struct tail_line {
    std::string text;
    std::uint64_t offset = 0;
};
inline std::optional<tail_line> read_last_line(const std::filesystem::path& path) {
    auto f = open_file(path);
    if (std::fseek(f.get(), 0, SEEK_END) != 0) return std::nullopt;
    const long size_l = std::ftell(f.get());
    if (size_l <= 0) return std::nullopt;
    const auto size = static_cast<std::uint64_t>(size_l);
    const std::uint64_t window = std::min<std::uint64_t>(size, max_line_length + 2);
    const std::uint64_t start = size - window;
    if (std::fseek(f.get(), static_cast<long>(start), SEEK_SET) != 0) return std::nullopt;
    std::string buf(static_cast<std::size_t>(window), '\0');
    if (std::fread(buf.data(), 1, buf.size(), f.get()) != buf.size()) return std::nullopt;
    std::size_t end = buf.size();
    while (end > 0 && (buf[end - 1] == '\n' || buf[end - 1] == '\r' || buf[end - 1] == ' ' || buf[end - 1] == '\t'))
        --end;
    if (end == 0) return std::nullopt;
    const std::size_t nl = buf.rfind('\n', end - 1);
    if (nl == std::string::npos && start != 0) return std::nullopt; // longer than a line may be
    const std::size_t begin = nl == std::string::npos ? 0 : nl + 1;
    std::string text = buf.substr(begin, end - begin);
    if (!text.empty() && text.back() == '\r') text.pop_back();
    return tail_line{std::move(text), start + begin};
}

template <class T>
std::optional<T> parse_uint(std::string_view s) noexcept {
    s = trim(s);
    if (s.empty() || s.size() > 20) return std::nullopt;
    for (char c : s)
        if (c < '0' || c > '9') return std::nullopt;
    T value{};
    const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
    if (ec != std::errc{} || ptr != s.data() + s.size()) return std::nullopt;
    return value;
}

// Seconds since the epoch: "[-]digits[.digits]". The fraction is truncated to microseconds.
inline std::optional<std::int64_t> parse_epoch_seconds(std::string_view s) noexcept {
    s = trim(s);
    bool negative = false;
    if (!s.empty() && s.front() == '-') {
        negative = true;
        s.remove_prefix(1);
    }
    const std::size_t dot = s.find('.');
    const std::string_view whole = s.substr(0, dot);
    const std::string_view frac = dot == std::string_view::npos ? std::string_view{} : s.substr(dot + 1);
    if (whole.empty() || whole.size() > 12 || (dot != std::string_view::npos && frac.empty())) return std::nullopt;
    auto secs = parse_uint<std::int64_t>(whole);
    if (!secs) return std::nullopt;
    std::int64_t micros = 0;
    std::int64_t scale = 100000;
    for (char c : frac) {
        if (c < '0' || c > '9') return std::nullopt;
        micros += (c - '0') * scale;
        scale /= 10;
    }
    const std::int64_t total = *secs * 1'000'000 + micros;
    return negative ? -total : total;
}

// Seconds as a JSON number; nullopt when not finite or beyond year ±285,000.
inline std::optional<std::int64_t> epoch_seconds_from_double(double d) noexcept {
    if (!(d == d) || d > 9e12 || d < -9e12) return std::nullopt; // microseconds must fit in 64 bits
    const double us = d * 1e6;
    return static_cast<std::int64_t>(us < 0 ? us - 0.5 : us + 0.5);
}

// ISO 8601 UTC: "2016-08-16T08:27:28.605282" with optional "Z" or "+hh:mm"/"-hh:mm";
// a space may stand for the 'T'. The fraction is truncated to microseconds.
inline std::optional<std::int64_t> parse_iso_time(std::string_view s) noexcept {
    s = trim(s);
    auto digits = [&](std::size_t at, std::size_t n) -> std::optional<int> {
        if (at + n > s.size()) return std::nullopt;
        int v = 0;
        for (std::size_t i = at; i < at + n; ++i) {
            if (s[i] < '0' || s[i] > '9') return std::nullopt;
            v = v * 10 + (s[i] - '0');
        }
        return v;
    };
    const auto y = digits(0, 4), mo = digits(5, 2), d = digits(8, 2), h = digits(11, 2), mi = digits(14, 2),
               se = digits(17, 2);
    if (!y || !mo || !d || !h || !mi || !se || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != ' ') ||
        s[13] != ':' || s[16] != ':')
        return std::nullopt;
    if (*h > 23 || *mi > 59 || *se > 60) return std::nullopt;
    const std::chrono::year_month_day ymd{std::chrono::year{*y}, std::chrono::month{static_cast<unsigned>(*mo)},
                                          std::chrono::day{static_cast<unsigned>(*d)}};
    if (!ymd.ok()) return std::nullopt;
    std::size_t i = 19;
    std::int64_t micros = 0;
    if (i < s.size() && s[i] == '.') {
        ++i;
        std::int64_t scale = 100000;
        const std::size_t first = i;
        while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
            micros += (s[i] - '0') * scale;
            scale /= 10;
            ++i;
        }
        if (i == first || i - first > 9) return std::nullopt;
    }
    std::int64_t offset_minutes = 0;
    if (i < s.size()) {
        if (s[i] == 'Z' || s[i] == 'z') {
            ++i;
        } else if (s[i] == '+' || s[i] == '-') {
            const int sign = s[i] == '-' ? -1 : 1;
            const auto oh = digits(i + 1, 2);
            std::size_t j = i + 3;
            if (j < s.size() && s[j] == ':') ++j;
            const auto om = digits(j, 2);
            if (!oh || !om || *oh > 23 || *om > 59) return std::nullopt;
            offset_minutes = sign * (*oh * 60 + *om);
            i = j + 2;
        }
    }
    if (i != s.size()) return std::nullopt;
    const auto day_us = std::chrono::duration_cast<std::chrono::microseconds>(
                            std::chrono::sys_days{ymd}.time_since_epoch())
                            .count();
    const std::int64_t seconds = std::int64_t{*h} * 3600 + std::int64_t{*mi} * 60 + *se - offset_minutes * 60;
    return day_us + seconds * 1'000'000 + micros;
}

// Number of Via values in ipfixprobe's SIP_VIA: occurrences of "SIP/2.0/" (any case).
// ipfixprobe's SIP message types (SIP_MSG_TYPE, IPFIX element 8057/100):
// 1 INVITE, 2 ACK, 3 CANCEL, 4 BYE, 5 REGISTER, 6 OPTIONS, 7 PUBLISH,
// 8 NOTIFY, 9 INFO, 10 SUBSCRIBE; 99 is a response (later ipfixprobe
// versions also use status-like codes of 100 and above).
inline bool ipfixprobe_is_response(unsigned type) noexcept { return type >= 99; }
inline sipdetect::sip_method ipfixprobe_request_method(unsigned type) noexcept {
    static constexpr std::array<sipdetect::sip_method, 11> by_type{
        sipdetect::sip_method::unknown, sipdetect::sip_method::invite,   sipdetect::sip_method::ack,
        sipdetect::sip_method::cancel,  sipdetect::sip_method::bye,      sipdetect::sip_method::register_,
        sipdetect::sip_method::options, sipdetect::sip_method::publish,  sipdetect::sip_method::notify,
        sipdetect::sip_method::info,    sipdetect::sip_method::subscribe};
    return type < by_type.size() ? by_type[type] : sipdetect::sip_method::unknown;
}
// A response's status: its status code, else a status-like message type; 0 when neither is a SIP status.
inline unsigned ipfixprobe_status(unsigned type, unsigned status_code) noexcept {
    if (status_code == 0 && type >= 100) status_code = type;
    return status_code >= 100 && status_code <= 699 ? status_code : 0;
}

inline unsigned count_via_values(std::string_view via) noexcept {
    constexpr std::string_view needle = "sip/2.0/";
    unsigned n = 0;
    for (std::size_t i = 0; i + needle.size() <= via.size(); ++i) {
        bool match = true;
        for (std::size_t k = 0; k < needle.size() && match; ++k) {
            char c = via[i + k];
            if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
            match = c == needle[k];
        }
        if (match) {
            ++n;
            i += needle.size() - 1;
        }
    }
    return n;
}

// Splits one CSV line (RFC 4180 quoting, "" for a quote inside quotes).
// Returns an error text, or an empty string on success.
inline std::string split_csv(std::string_view line, std::vector<std::string>& fields) {
    fields.clear();
    std::string cur;
    std::size_t i = 0;
    for (;;) {
        cur.clear();
        if (i < line.size() && line[i] == '"') {
            ++i;
            for (;;) {
                if (i >= line.size()) return "unterminated quoted field " + std::to_string(fields.size() + 1);
                if (line[i] == '"') {
                    if (i + 1 < line.size() && line[i + 1] == '"') {
                        cur += '"';
                        i += 2;
                        continue;
                    }
                    ++i;
                    break;
                }
                cur += line[i++];
            }
            if (i < line.size() && line[i] != ',')
                return "text after the closing quote of field " + std::to_string(fields.size() + 1);
        } else {
            const std::size_t comma = line.find(',', i);
            const std::size_t stop = comma == std::string_view::npos ? line.size() : comma;
            cur.assign(line.substr(i, stop - i));
            if (cur.find('"') != std::string::npos)
                return "stray quote in unquoted field " + std::to_string(fields.size() + 1);
            i = stop;
        }
        fields.push_back(cur);
        if (i >= line.size()) return {};
        ++i; // the comma
    }
}

// Readers on streams (see open_stream_reader), by format.
std::unique_ptr<record_reader> open_zeek_tsv_stream(const std::string& name, read_some_function read);
std::unique_ptr<record_reader> open_zeek_json_stream(const std::string& name, read_some_function read);
std::unique_ptr<record_reader> open_ipfixprobe_stream(const std::string& name, read_some_function read);
std::unique_ptr<record_reader> open_pcap_stream(const std::string& name, file_ptr stream);
std::unique_ptr<record_reader> open_pcapng_stream(const std::string& name, file_ptr stream);
std::unique_ptr<record_reader> open_ipfix_stream(const std::string& name, file_ptr stream);

} // namespace sipdetect_cli::detail
