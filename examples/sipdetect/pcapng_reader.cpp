// sipdetect command-line program: the pcapng reader.
//
// libpcap reads a pcapng file only when all its interfaces share one link
// type, yet dumpcap capturing on several interfaces and mergecap joining
// captures of different link types write files whose interfaces differ. This
// reader parses the blocks itself and decodes each packet with the link type
// and time resolution of its own interface, through the decoder of the pcap
// reader (detail::decode_frame). Layout (the pcapng specification,
// draft-ietf-opsawg-pcapng; Wireshark's wiretap/pcapng.c):
//
//   every block: u32 type, u32 total length (a multiple of 4, at least 12),
//     the body, the total length again; integers in the byte order of the
//     section the block is in
//   Section Header Block, type 0x0A0D0D0A: u32 byte-order magic 0x1A2B3C4D,
//     u16 major version (1), u16 minor version, s64 section length (not
//     used), options. Each one starts a section: its byte order may differ
//     from the previous one's and its interfaces are numbered from 0 again.
//   Interface Description Block, type 1: u16 link type, u16 reserved, u32
//     snap length, options; if_tsresol (code 9, one byte: 10^-n seconds, or
//     2^-n when the top bit is set; 10^-6 when absent) and if_tsoffset (code
//     14, s64 seconds added to every timestamp) are used.
//   Enhanced Packet Block, type 6: u32 interface, u32 timestamp high and low
//     halves (in if_tsresol units), u32 captured length, u32 original length,
//     the data padded to 4 bytes, options.
//   Packet Block (obsolete), type 2: the same with a u16 interface and a u16
//     drop count.
//   Simple Packet Block, type 3: u32 original length, the data. It belongs to
//     interface 0 and has no timestamp: its packet takes the time of the last
//     timestamped packet decoded before it (the epoch when there is none).
//   Every other block (name resolution, interface statistics, decryption
//     secrets, journal entries, custom blocks, ...) is skipped by its length.
//
// Link types are LINKTYPE_ values (detail::link_layer_of_linktype). Packets
// of an interface whose link type is not decoded are counted in
// unsupported_link_packets and skipped: the other interfaces are read.
//
// Hostile input: a block length that is not a multiple of 4, too small for
// its block type, beyond the end of the file or beyond max_block_length for
// a block that is read (skipped blocks are never held in memory); a trailing
// length that differs from the leading one; an option that runs past its
// block; a captured length beyond its block; a packet of an interface the
// section has not described; more than max_interfaces interfaces in a
// section; an if_tsresol finer than a 64-bit timestamp can count (10^-19 or
// 2^-63 seconds): each is an input_error naming the block and its offset. A
// time beyond about year 287,000 (timestamp and if_tsoffset together) is
// read as the epoch and counted in bad_timestamps, as in the pcap reader.
#include "readers.hpp"

#include "readers_detail.hpp"

#include <algorithm>
#include <limits>
#include <array>
#include <cerrno>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <optional>
#include <span>
#include <string>
#include <system_error>
#include <vector>

namespace sipdetect_cli {

namespace {

using bytes = std::span<const std::uint8_t>;

constexpr std::uint32_t interface_description_type = 1;
constexpr std::uint32_t packet_type = 2; // the obsolete Packet Block
constexpr std::uint32_t simple_packet_type = 3;
constexpr std::uint32_t enhanced_packet_type = 6;
constexpr std::uint32_t byte_order_magic = 0x1A2B3C4D;

// Blocks that are read into memory are at most this long: a packet of
// Wireshark's largest snap length (256 KiB) leaves ample room for options.
constexpr std::uint32_t max_block_length = 16u << 20;

// Interfaces one section may describe, so that memory does not grow with the file: far more than
// dumpcap captures on or mergecap joins.
constexpr std::size_t max_interfaces = 65536;

constexpr std::uint16_t option_end = 0;
constexpr std::uint16_t option_if_tsresol = 9;
constexpr std::uint16_t option_if_tsoffset = 14;

// The finest if_tsresol a 64-bit count can use: 10^19 and 2^63 units a second still fit in it.
constexpr unsigned max_decimal_exponent = 19;
constexpr unsigned max_binary_exponent = 63;

constexpr std::uint64_t power_of_ten(unsigned exponent) noexcept {
    std::uint64_t p = 1;
    for (unsigned i = 0; i < exponent; ++i) p *= 10;
    return p;
}

// A timestamp unit of 10^-exponent seconds, or 2^-exponent when binary.
struct resolution {
    bool binary = false;
    unsigned exponent = 6;

    std::uint64_t units_per_second() const noexcept {
        return binary ? std::uint64_t{1} << exponent : power_of_ten(exponent);
    }
    // The microseconds in `units` (fewer than a second's worth), rounded down, without overflow.
    std::uint64_t micros_of_fraction(std::uint64_t units) const noexcept {
        if (!binary) return exponent >= 6 ? units / power_of_ten(exponent - 6) : units * power_of_ten(6 - exponent);
        // units * 10^6 / 2^exponent. units < 2^exponent, so below 2^44 units the product fits in 64
        // bits; above, the low bits are scaled apart: with units = high * 2^shift + low,
        // floor((high * 10^6 + low * 10^6 / 2^shift) / 2^44) is the same floor, and each term fits.
        constexpr unsigned fits = 44;
        const unsigned shift = exponent > fits ? exponent - fits : 0;
        const std::uint64_t high = units >> shift, low = units & ((std::uint64_t{1} << shift) - 1);
        return (high * 1'000'000 + ((low * 1'000'000) >> shift)) >> (exponent - shift);
    }
    std::string text() const { return (binary ? "2^-" : "10^-") + std::to_string(exponent); }
};

struct interface_info {
    std::optional<detail::link_layer> link; // nullopt: not decoded
    std::uint32_t snap_length = 0;          // 0: no limit
    resolution unit;
    std::int64_t offset_seconds = 0; // if_tsoffset
};

class pcapng_reader final : public detail::capture_reader {
public:
    explicit pcapng_reader(const std::filesystem::path& path)
        : capture_reader(path, input_format::pcap), file_(detail::open_file(path)) {
        std::error_code ec;
        file_size_ = std::filesystem::file_size(path, ec);
        if (ec) detail::fail(path, "", "cannot read the file size: " + ec.message());
        start();
    }
    // A stream, whose size is not known: a block cut short shows as an unexpected end.
    pcapng_reader(const std::filesystem::path& name, detail::file_ptr stream)
        : capture_reader(name, input_format::pcap), file_(std::move(stream)),
          file_size_(std::numeric_limits<std::uint64_t>::max()) {
        start();
    }

private:
    void start() {
        std::array<std::uint8_t, 8> head{};
        const std::size_t got = read_block_header(head);
        if (got >= 4 && detail::le32(head.data()) != detail::pcapng_section_header_type)
            detail::fail(path(), "", "not a pcapng file (no section header block at its start)");
        if (got < head.size())
            fail_here("truncated section header block (" + std::to_string(got) + " of 28 bytes or more)");
        read_section_header(head);
    }

    bool read_more() override {
        for (;;) {
            std::array<std::uint8_t, 8> head{};
            const std::size_t got = read_block_header(head);
            if (got == 0) return false;
            if (got < head.size())
                fail_here("truncated block header (" + std::to_string(got) + " of 8 bytes): truncated capture?");
            const std::uint32_t type = u32(head.data());
            switch (type) {
            case detail::pcapng_section_header_type: read_section_header(head); continue;
            case interface_description_type: read_interface(u32(head.data() + 4)); continue;
            case enhanced_packet_type:
            case packet_type: read_packet_block(type, u32(head.data() + 4)); return true;
            case simple_packet_type: read_simple_packet(u32(head.data() + 4)); return true;
            default: skip_block(u32(head.data() + 4)); continue;
            }
        }
    }

    // --- reading --------------------------------------------------------------

    // Reads up to 8 bytes at the next block; the number read (0 at the end of the file).
    std::size_t read_block_header(std::array<std::uint8_t, 8>& head) {
        block_offset_ = offset_;
        block_name_ = "block";
        packet_number_ = 0;
        const std::size_t got = std::fread(head.data(), 1, head.size(), file_.get());
        if (got < head.size() && std::ferror(file_.get()))
            fail_here(std::string("read error: ") + std::strerror(errno));
        offset_ += got;
        return got;
    }

    void read_exact(std::uint8_t* to, std::size_t n) {
        if (std::fread(to, 1, n, file_.get()) != n)
            fail_here(std::ferror(file_.get()) ? std::string("read error: ") + std::strerror(errno)
                                               : std::string("unexpected end of file (it shrank while read?)"));
        offset_ += n;
    }

    // Checks a block's total length against its type's minimum and the file.
    void check_length(std::uint32_t length, std::uint32_t minimum) {
        if (length % 4 != 0) fail_here("block length " + std::to_string(length) + " is not a multiple of 4");
        if (length < minimum)
            fail_here("block length " + std::to_string(length) + " is below the " + std::to_string(minimum) +
                      " bytes this block type needs");
        const std::uint64_t left = file_size_ > block_offset_ ? file_size_ - block_offset_ : 0;
        if (length > left)
            fail_here("block length " + std::to_string(length) + " runs past the end of the file (" +
                      std::to_string(left) + " bytes left): truncated capture?");
    }

    void check_trailer(std::uint32_t length, std::uint32_t trailer) {
        if (trailer != length)
            fail_here("trailing block length " + std::to_string(trailer) + " differs from the leading " +
                      std::to_string(length));
    }

    // Reads the rest of a block of `length` bytes whose first `read` bytes are read; returns the rest
    // without the trailing length.
    bytes read_body(std::uint32_t length, std::uint32_t minimum, std::uint32_t read = 8) {
        check_length(length, minimum);
        if (length > max_block_length)
            fail_here("block length " + std::to_string(length) + " beyond the limit of " +
                      std::to_string(max_block_length) + " bytes");
        body_.resize(length - read);
        read_exact(body_.data(), body_.size());
        check_trailer(length, u32(body_.data() + body_.size() - 4));
        return bytes(body_).first(body_.size() - 4);
    }

    void skip_block(std::uint32_t length) {
        check_length(length, 12);
        // Read, not sought past: a stream cannot seek.
        std::array<std::uint8_t, 4096> skipped{};
        for (std::size_t left = length - 12; left > 0;) {
            const std::size_t n = std::min(left, skipped.size());
            read_exact(skipped.data(), n);
            left -= n;
        }
        std::array<std::uint8_t, 4> trailer{};
        read_exact(trailer.data(), trailer.size());
        check_trailer(length, u32(trailer.data()));
    }

    // --- blocks ---------------------------------------------------------------

    // A section header block whose type and (not yet decoded) length are in `head`.
    void read_section_header(const std::array<std::uint8_t, 8>& head) {
        block_name_ = "section header block";
        std::array<std::uint8_t, 4> magic{};
        if (file_size_ < offset_ + magic.size())
            fail_here("truncated section header block: the file ends before its byte-order magic");
        read_exact(magic.data(), magic.size());
        if (detail::le32(magic.data()) == byte_order_magic)
            little_endian_ = true;
        else if (detail::be32(magic.data()) == byte_order_magic)
            little_endian_ = false;
        else
            fail_here("byte-order magic 0x" + hex(detail::be32(magic.data())) +
                      " is not 0x1a2b3c4d in either byte order");
        const bytes body = read_body(u32(head.data() + 4), 28, 12);
        const std::uint16_t major = u16(body.data()), minor = u16(body.data() + 2);
        if (major != 1)
            fail_here("unsupported pcapng version " + std::to_string(major) + "." + std::to_string(minor) +
                      " (1.x expected)");
        interfaces_.clear();
    }

    void read_interface(std::uint32_t length) {
        block_name_ = "interface description block";
        const bytes body = read_body(length, 20);
        if (interfaces_.size() == max_interfaces)
            fail_here("more than " + std::to_string(max_interfaces) + " interfaces in one section");
        interface_info i;
        i.link = detail::link_layer_of_linktype(u16(body.data()));
        i.snap_length = u32(body.data() + 4);
        bytes options = body.subspan(8);
        while (options.size() >= 4) {
            const std::uint16_t code = u16(options.data()), size = u16(options.data() + 2);
            if (code == option_end) break;
            const std::size_t padded = (std::size_t{size} + 3) / 4 * 4;
            if (padded > options.size() - 4)
                fail_here("option " + std::to_string(code) + " of " + std::to_string(size) +
                          " bytes runs past its block");
            const bytes value = options.subspan(4, size);
            if (code == option_if_tsresol) i.unit = tsresol(value, interfaces_.size());
            if (code == option_if_tsoffset) {
                if (size != 8) fail_here("if_tsoffset of " + std::to_string(size) + " bytes, expected 8");
                i.offset_seconds = static_cast<std::int64_t>(u64(value.data()));
            }
            options = options.subspan(4 + padded);
        }
        interfaces_.push_back(i);
    }

    resolution tsresol(bytes value, std::size_t interface) {
        if (value.size() != 1) fail_here("if_tsresol of " + std::to_string(value.size()) + " bytes, expected 1");
        resolution r;
        r.binary = (value[0] & 0x80u) != 0;
        r.exponent = value[0] & 0x7fu;
        if (r.exponent > (r.binary ? max_binary_exponent : max_decimal_exponent))
            fail_here("interface " + std::to_string(interface) + ": if_tsresol of " + r.text() +
                      " s is finer than a 64-bit timestamp can count (" +
                      (r.binary ? "2^-" + std::to_string(max_binary_exponent)
                                : "10^-" + std::to_string(max_decimal_exponent)) +
                      " s at most)");
        return r;
    }

    // An enhanced packet block or an obsolete packet block.
    void read_packet_block(std::uint32_t type, std::uint32_t length) {
        const bool enhanced = type == enhanced_packet_type;
        block_name_ = enhanced ? "enhanced packet block" : "packet block";
        packet_number_ = counters_.packets + 1;
        const bytes body = read_body(length, 32);
        const std::uint32_t interface = enhanced ? u32(body.data()) : u16(body.data());
        const std::uint64_t timestamp = std::uint64_t{u32(body.data() + 4)} << 32 | u32(body.data() + 8);
        const std::uint32_t captured = u32(body.data() + 12);
        if (captured > body.size() - 20)
            fail_here("captured length " + std::to_string(captured) + " runs past its block (" +
                      std::to_string(body.size() - 20) + " bytes of data)");
        packet(interface_of(interface), body.subspan(20, captured), timestamp);
    }

    void read_simple_packet(std::uint32_t length) {
        block_name_ = "simple packet block";
        packet_number_ = counters_.packets + 1;
        const bytes body = read_body(length, 16);
        const interface_info& i = interface_of(0);
        std::uint64_t captured = std::min<std::uint64_t>(u32(body.data()), body.size() - 4);
        if (i.snap_length != 0) captured = std::min<std::uint64_t>(captured, i.snap_length);
        packet(i, body.subspan(4, static_cast<std::size_t>(captured)), std::nullopt);
    }

    const interface_info& interface_of(std::uint32_t interface) {
        if (interface >= interfaces_.size())
            fail_here("interface " + std::to_string(interface) + " is not described: the section has " +
                      std::to_string(interfaces_.size()) + " interface description block" +
                      (interfaces_.size() == 1 ? "" : "s") + " before it");
        return interfaces_[interface];
    }

    // A packet of interface `i`; without a timestamp it takes the time of the last one decoded.
    void packet(const interface_info& i, bytes frame, std::optional<std::uint64_t> timestamp) {
        ++counters_.packets;
        if (!i.link) {
            ++counters_.unsupported_link_packets;
            return;
        }
        if (timestamp) {
            const auto time = time_of(*timestamp, i);
            if (!time) ++counters_.bad_timestamps;
            last_time_ = time.value_or(sipdetect::record_time{});
        }
        decode(*i.link, frame, last_time_);
    }

    // A timestamp in the interface's units, with its offset; nullopt when out of range.
    static std::optional<sipdetect::record_time> time_of(std::uint64_t timestamp, const interface_info& i) noexcept {
        const std::uint64_t per_second = i.unit.units_per_second();
        const std::uint64_t seconds = timestamp / per_second;
        constexpr auto max = static_cast<std::uint64_t>(detail::max_capture_seconds);
        if (seconds > max || i.offset_seconds > detail::max_capture_seconds ||
            i.offset_seconds < -detail::max_capture_seconds)
            return std::nullopt;
        return detail::capture_time(static_cast<std::int64_t>(seconds) + i.offset_seconds,
                                    static_cast<std::int64_t>(i.unit.micros_of_fraction(timestamp % per_second)));
    }

    // --- helpers --------------------------------------------------------------

    std::uint16_t u16(const std::uint8_t* p) const noexcept {
        return little_endian_ ? detail::le16(p) : detail::be16(p);
    }
    std::uint32_t u32(const std::uint8_t* p) const noexcept {
        return little_endian_ ? detail::le32(p) : detail::be32(p);
    }
    std::uint64_t u64(const std::uint8_t* p) const noexcept {
        return little_endian_ ? detail::le64(p) : detail::be64(p);
    }

    static std::string hex(std::uint32_t v) {
        std::array<char, 8> digits{};
        const auto end = std::to_chars(digits.data(), digits.data() + digits.size(), v, 16).ptr;
        const auto n = static_cast<std::size_t>(end - digits.data());
        return std::string(digits.size() - n, '0') + std::string(digits.data(), n);
    }

    [[noreturn]] void fail_here(const std::string& what) const {
        std::string where = block_name_ + " at offset " + std::to_string(block_offset_);
        if (packet_number_ != 0) where = "packet " + std::to_string(packet_number_) + ", " + where;
        detail::fail(path(), std::move(where), what);
    }

    detail::file_ptr file_;
    std::uint64_t file_size_ = 0;
    std::uint64_t offset_ = 0;       // of the next byte read
    std::uint64_t block_offset_ = 0; // of the block being read
    std::string block_name_ = "block";
    std::uint64_t packet_number_ = 0;        // of the packet block being read, from 1; 0 for other blocks
    bool little_endian_ = true;              // the current section's byte order
    std::vector<interface_info> interfaces_; // the current section's, by id
    std::vector<std::uint8_t> body_;         // the block being read
    sipdetect::record_time last_time_{};     // of the last timestamped packet decoded
};

} // namespace

std::unique_ptr<record_reader> open_pcapng_reader(const std::filesystem::path& path) {
    return std::make_unique<pcapng_reader>(path);
}

namespace detail {
std::unique_ptr<record_reader> open_pcapng_stream(const std::string& name, file_ptr stream) {
    return std::make_unique<pcapng_reader>(name, std::move(stream));
}
} // namespace detail

} // namespace sipdetect_cli
