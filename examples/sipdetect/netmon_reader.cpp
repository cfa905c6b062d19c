// sipdetect command-line program: the Microsoft Network Monitor 2.x reader.
//
// libpcap cannot read NetMon captures, so this reader parses the file itself
// and hands each frame to the pcap reader's decoder (detail::decode_frame).
// Layout, all integers little-endian (Network Monitor 3.x help, "Capture File
// Format"; Wireshark's wiretap/netmon.c):
//
//   file header, 128 bytes
//      0  "GMBU"
//      4  u8 version minor, u8 version major (2)
//      6  u16 network (MAC) type of the capture
//      8  capture start, a SYSTEMTIME: u16 year, month, day of week, day,
//         hour, minute, second, milliseconds
//     24  u32 frame table offset, u32 frame table length in bytes
//     32  user data, comment, process info and network info tables (unused)
//   frame table: one u32 file offset per frame record, in frame order; the
//     records need not follow each other or be in file order
//   frame record: u64 microseconds since the capture start, u32 frame length,
//     u32 captured length, the captured bytes; from version 2.1 on a trailer
//     follows: u16 network type of this frame (2.1), u32 process info index
//     (2.2), u64 UTC time as a FILETIME and u8 time zone index (2.3 and later)
//
// Network types: 0 and 1 are Ethernet (NetMon 3.4 writes 0 for some VPN
// captures whose frames are Ethernet), 7, 8 and 9 raw IPv4/IPv6 (tunnel,
// wireless WAN and raw IP interfaces), and in a 2.1+ frame trailer 0xE000 |
// LINKTYPE_x marks a frame converted from a pcap file, decoded as the pcap
// reader decodes that link type. The header's type must be one of 0, 1, 7,
// 8, 9 (other types, Token Ring, FDDI, ATM, 802.11, ..., are refused when
// the file is opened); in a 2.1+ file each frame's trailer type decides how
// it is decoded, and frames of a type not decoded here (NetMon's own
// metadata frames among them) are counted as non_ip.
//
// Time: the capture start is the capturing host's local time and the file
// does not say which zone that was. Wireshark reads it in the zone of the
// machine reading the file; this reader reads it as UTC so that its output
// does not depend on where it runs. Version 2.3 and later frames carry their
// own UTC time, which is used instead.
//
// Hostile input: every offset and length is checked against the file size
// before anything is read; a frame record outside the file, over the file
// header or the frame table, overlapping the previous record, or with a
// captured length beyond 256 KiB is an input_error naming the frame, and the
// bytes of all frame records together may not exceed the file's size (so a
// frame table pointing many times at one record cannot multiply the work).
#include "readers.hpp"

#include "readers_detail.hpp"

#include <array>
#include <chrono>
#include <cstdint>
#include <fstream>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

namespace sipdetect_cli {

namespace {

constexpr std::uint64_t file_header_size = 128;
constexpr std::uint64_t record_header_size = 16;
constexpr std::uint32_t max_captured_length = 256 * 1024; // Wireshark's limit for ordinary packets
constexpr std::size_t table_chunk = 4096;                 // frame table entries read at a time

// A NetMon network type of the file header or a 2.0 frame.
std::optional<detail::link_layer> netmon_link(std::uint16_t type) noexcept {
    switch (type) {
    case 0:
    case 1: return detail::link_layer::ethernet;
    case 7:
    case 8:
    case 9: return detail::link_layer::raw_ip;
    default: return std::nullopt;
    }
}

std::string netmon_type_name(std::uint16_t type) {
    if ((type & 0xF000) == 0xE000)
        return "0xE000 | pcap link type " + std::to_string(type & 0x0FFF) +
               ": valid only in the frame trailers of version 2.1 and later";
    switch (type) {
    case 2: return "Token Ring";
    case 3: return "FDDI";
    case 4: return "NDIS WAN/ATM";
    case 5: return "IP over IEEE 1394";
    case 6: return "IEEE 802.11";
    case 10: return "NDIS wireless WAN";
    case 11: return "IrDA";
    default: return "unknown";
    }
}

// The network type of a 2.1+ frame trailer.
std::optional<detail::link_layer> frame_link(std::uint16_t type) noexcept {
    if (type >= 0xE080 && type <= 0xE08A) return std::nullopt; // Message Analyzer's own media types
    if ((type & 0xF000) == 0xE000) return detail::link_layer_of_linktype(type & 0x0FFFu); // 0xE000 | LINKTYPE_x
    return netmon_link(type); // 0xFFxx metadata frames: none
}

// A SYSTEMTIME read as UTC, in microseconds since the epoch; nullopt when it is not a valid date and time.
std::optional<std::int64_t> systemtime_micros(const std::uint8_t* p) noexcept {
    using detail::le16;
    const unsigned year = le16(p), month = le16(p + 2), day = le16(p + 6), hour = le16(p + 8), minute = le16(p + 10),
                   second = le16(p + 12), millis = le16(p + 14);
    const std::chrono::year_month_day ymd{std::chrono::year{static_cast<int>(year)}, std::chrono::month{month},
                                          std::chrono::day{day}};
    if (year < 1601 || year > 30827 || !ymd.ok() || hour > 23 || minute > 59 || second > 59 || millis > 999)
        return std::nullopt;
    const std::int64_t days = std::chrono::sys_days{ymd}.time_since_epoch().count();
    return ((days * 24 + hour) * 60 + minute) * 60'000'000 + std::int64_t{second} * 1'000'000 +
           std::int64_t{millis} * 1000;
}

class netmon_reader final : public detail::capture_reader {
public:
    explicit netmon_reader(const std::filesystem::path& path)
        : capture_reader(path, input_format::netmon), in_(path, std::ios::binary) {
        if (!in_) {
            (void)detail::open_file(path); // throws with the reason
            detail::fail(path, "", "cannot open");
        }
        std::error_code ec;
        file_size_ = std::filesystem::file_size(path, ec);
        if (ec) detail::fail(path, "", "cannot read the file size: " + ec.message());

        std::array<std::uint8_t, file_header_size> h{};
        if (file_size_ < file_header_size || !read_at(0, h.data(), h.size()))
            detail::fail(path, "", "truncated file header (" + std::to_string(file_size_) + " of " +
                                       std::to_string(file_header_size) + " bytes)");
        if (h[0] != 'G' || h[1] != 'M' || h[2] != 'B' || h[3] != 'U')
            detail::fail(path, "", "not a Network Monitor 2.x capture (no \"GMBU\" magic)");
        version_minor_ = h[4];
        const unsigned major = h[5];
        if (major != 2)
            detail::fail(path, "", "unsupported Network Monitor file version " + std::to_string(major) + "." +
                                       std::to_string(version_minor_) + " (2.x expected)");
        const std::uint16_t network = detail::le16(h.data() + 6);
        const auto link = netmon_link(network);
        if (!link)
            detail::fail(path, "", "unsupported network (MAC) type " + std::to_string(network) + " (" +
                                       netmon_type_name(network) + "); Ethernet and raw IP are supported");
        link_ = *link;
        start_ = systemtime_micros(h.data() + 8);
        trailer_size_ = version_minor_ == 0 ? 0 : version_minor_ == 1 ? 2 : version_minor_ == 2 ? 6 : 15;

        table_offset_ = detail::le32(h.data() + 24);
        table_length_ = detail::le32(h.data() + 28);
        if (table_length_ % 4 != 0)
            detail::fail(path, "", "frame table length " + std::to_string(table_length_) + " is not a multiple of 4");
        if (table_length_ != 0 && table_offset_ < file_header_size)
            detail::fail(path, "", "frame table overlaps the file header");
        if (table_offset_ + table_length_ > file_size_)
            detail::fail(path, "", "frame table (" + std::to_string(table_length_) + " bytes at offset " +
                                       std::to_string(table_offset_) + ") outside the file (" +
                                       std::to_string(file_size_) + " bytes): truncated capture?");
        frames_ = table_length_ / 4;
    }

private:
    bool read_more() override {
        if (counters_.packets == frames_) return false;
        read_frame(counters_.packets + 1);
        ++counters_.packets;
        return true;
    }

    bool read_at(std::uint64_t offset, std::uint8_t* to, std::size_t n) {
        in_.clear();
        in_.seekg(static_cast<std::streamoff>(offset));
        in_.read(reinterpret_cast<char*>(to), static_cast<std::streamsize>(n));
        return in_.gcount() == static_cast<std::streamsize>(n);
    }

    [[noreturn]] void frame_error(std::uint64_t frame, const std::string& what) const {
        detail::fail(path(), "frame " + std::to_string(frame), what);
    }

    // The file offset of frame `frame` (1-based), from the frame table.
    std::uint32_t table_entry(std::uint64_t frame) {
        const std::uint64_t index = frame - 1;
        if (index < table_first_ || index >= table_first_ + table_.size()) {
            table_first_ = index;
            const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(table_chunk, frames_ - index));
            std::vector<std::uint8_t> raw(n * 4);
            if (!read_at(table_offset_ + index * 4, raw.data(), raw.size()))
                frame_error(frame, "read error in the frame table");
            table_.resize(n);
            for (std::size_t i = 0; i < n; ++i) table_[i] = detail::le32(raw.data() + i * 4);
        }
        return table_[static_cast<std::size_t>(index - table_first_)];
    }

    void read_frame(std::uint64_t frame) {
        const std::uint64_t offset = table_entry(frame);
        if (offset < file_header_size) frame_error(frame, "frame record overlaps the file header");
        if (offset + record_header_size > file_size_)
            frame_error(frame, "frame record outside the file (offset " + std::to_string(offset) + ", file size " +
                                   std::to_string(file_size_) + ")");
        std::array<std::uint8_t, record_header_size> h{};
        if (!read_at(offset, h.data(), h.size())) frame_error(frame, "read error in the frame record header");
        const std::uint32_t captured = detail::le32(h.data() + 12);
        if (captured > max_captured_length)
            frame_error(frame, "captured length " + std::to_string(captured) + " beyond the limit of " +
                                   std::to_string(max_captured_length) + " bytes");
        const std::uint64_t end = offset + record_header_size + captured + trailer_size_;
        if (end > file_size_)
            frame_error(frame, "frame record outside the file (" + std::to_string(end - offset) + " bytes at offset " +
                                   std::to_string(offset) + ", file size " + std::to_string(file_size_) + ")");
        if (offset < table_offset_ + table_length_ && table_offset_ < end)
            frame_error(frame, "frame record overlaps the frame table");
        if (offset >= previous_offset_ && offset < previous_end_)
            frame_error(frame, "frame record overlaps frame " + std::to_string(frame - 1));
        record_bytes_ += end - offset;
        if (record_bytes_ > file_size_)
            frame_error(frame, "frame records overlap (they add up to more bytes than the file holds)");
        previous_offset_ = offset;
        previous_end_ = end;

        const std::size_t body = captured + trailer_size_;
        data_.resize(body);
        if (body != 0 && !read_at(offset + record_header_size, data_.data(), body))
            frame_error(frame, "read error in the frame data");

        auto link = std::optional<detail::link_layer>(link_);
        std::optional<std::int64_t> micros;
        if (start_) {
            // Microsoft documents an unsigned count, yet files hold frames before the start: read it as signed.
            const auto delta = static_cast<std::int64_t>(detail::le64(h.data()));
            // A start is within years 1601-30827 (|start| < 2.7e17 us), so the sum cannot overflow and stays
            // within the pcap reader's range of +-9e18 us; a larger offset is a bad timestamp.
            constexpr std::int64_t limit = 8'000'000'000'000'000'000; // about 250,000 years
            if (delta <= limit && delta >= -limit) micros = *start_ + delta;
        }
        if (trailer_size_ != 0) {
            const std::uint8_t* trailer = data_.data() + captured;
            link = frame_link(detail::le16(trailer));
            if (trailer_size_ >= 15) { // a FILETIME: 100 ns units since 1601-01-01 UTC
                constexpr std::int64_t filetime_epoch_micros = 11'644'473'600'000'000;
                micros = static_cast<std::int64_t>(detail::le64(trailer + 6) / 10) - filetime_epoch_micros;
            }
        }
        if (!link) {
            ++counters_.non_ip;
            return;
        }
        if (!micros) ++counters_.bad_timestamps;
        const sipdetect::record_time time =
            micros ? sipdetect::record_time_from_micros(*micros) : sipdetect::record_time{};
        decode(*link, std::span<const std::uint8_t>(data_.data(), captured), time);
    }

    std::ifstream in_;
    std::uint64_t file_size_ = 0;
    unsigned version_minor_ = 0;
    std::uint64_t trailer_size_ = 0;
    detail::link_layer link_ = detail::link_layer::ethernet;
    std::optional<std::int64_t> start_; // capture start, microseconds since the epoch; nullopt when invalid
    std::uint64_t table_offset_ = 0, table_length_ = 0, frames_ = 0;
    std::vector<std::uint32_t> table_; // a window of the frame table
    std::uint64_t table_first_ = 0;    // index of table_[0]
    std::uint64_t previous_offset_ = 0, previous_end_ = 0, record_bytes_ = 0;
    std::vector<std::uint8_t> data_;
};

} // namespace

std::unique_ptr<record_reader> open_netmon_reader(const std::filesystem::path& path) {
    return std::make_unique<netmon_reader>(path);
}

} // namespace sipdetect_cli
