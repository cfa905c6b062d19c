// sipdetect command-line program: the readers on streams (standard input, a
// followed log): format detection from a stream's first bytes, and the
// readers of readers.hpp opened on a read_some_function instead of a file.
#include "readers.hpp"

#include "readers_detail.hpp"

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstring>
#include <memory>
#include <utility>

namespace sipdetect_cli {

namespace {

constexpr std::size_t ipfix_header_size = 16;
constexpr std::size_t longest_head = 64 * 1024;

bool has_capture_magic(std::string_view head) noexcept {
    static constexpr std::array<std::array<unsigned char, 4>, 7> magics{{
        {0xd4, 0xc3, 0xb2, 0xa1}, {0xa1, 0xb2, 0xc3, 0xd4}, // pcap, microseconds
        {0x4d, 0x3c, 0xb2, 0xa1}, {0xa1, 0xb2, 0x3c, 0x4d}, // pcap, nanoseconds
        {0x34, 0xcd, 0xb2, 0xa1}, {0xa1, 0xb2, 0xcd, 0x34}, // Kuznetzov's modified pcap
        {0x0a, 0x0d, 0x0d, 0x0a},                           // pcapng section header block
    }};
    if (head.size() < 4) return false;
    return std::any_of(magics.begin(), magics.end(),
                       [&](const auto& m) { return std::memcmp(head.data(), m.data(), 4) == 0; });
}

bool is_ipfix_header(std::string_view head) noexcept {
    return head.size() >= ipfix_header_size && head[0] == '\0' && head[1] == '\x0a' &&
           detail::be16(reinterpret_cast<const std::uint8_t*>(head.data()) + 2) >= ipfix_header_size;
}

// The first line holding something other than white space, when it is complete.
std::optional<std::string_view> first_content_line(std::string_view head) noexcept {
    if (head.substr(0, 3) == "\xEF\xBB\xBF") head.remove_prefix(3); // UTF-8 BOM
    for (std::size_t pos = 0; pos < head.size();) {
        const std::size_t nl = head.find('\n', pos);
        if (nl == std::string_view::npos) return std::nullopt;
        const std::string_view line = detail::trim(head.substr(pos, nl - pos));
        if (!line.empty()) return line;
        pos = nl + 1;
    }
    return std::nullopt;
}

// A FILE* whose reads come from a read_some_function, for the readers that
// take one (libpcap, pcapng, IPFIX). Each read returns what has arrived, so
// fread waits only for the bytes it asked for.
detail::file_ptr stream_file(const std::string& name, read_some_function read) {
    auto owned = std::make_unique<read_some_function>(std::move(read));
    cookie_io_functions_t io{};
    io.read = [](void* cookie, char* to, std::size_t n) -> ssize_t {
        try {
            return (*static_cast<read_some_function*>(cookie))(to, n);
        } catch (...) { // nothing may unwind through the C library
            return -1;
        }
    };
    io.close = [](void* cookie) -> int {
        delete static_cast<read_some_function*>(cookie);
        return 0;
    };
    detail::file_ptr f(::fopencookie(owned.get(), "rb", io));
    if (!f) detail::fail(name, "", std::string("cannot read the stream: ") + std::strerror(errno));
    (void)owned.release(); // the FILE's close deletes it
    return f;
}

} // namespace

input_format detect_stream_format(std::string_view head) noexcept {
    if (has_capture_magic(head)) return input_format::pcap;
    if (head.substr(0, 4) == "GMBU") return input_format::netmon;
    if (is_ipfix_header(head)) return input_format::ipfix;
    if (head.find('\0') != std::string_view::npos) return input_format::unknown; // binary, not text
    // The first line, or what came of it when it is longer than the head or the stream ended inside it.
    const auto line = first_content_line(head);
    const std::string_view start = line ? *line : detail::trim(head.substr(head.substr(0, 3) == "\xEF\xBB\xBF" ? 3 : 0));
    if (start.empty()) return input_format::unknown;
    if (start.front() == '{') return input_format::zeek_json;
    if (start.front() == '#') return input_format::zeek_tsv;
    return input_format::ipfixprobe_csv; // its template first, or held for until it comes last
}

bool stream_head_complete(std::string_view head, bool ended) noexcept {
    if (ended || head.size() >= longest_head) return true;
    if (head.size() < 4) return false;
    // A binary header (an IPFIX one starts with a zero byte) is judged on 16 bytes.
    if (has_capture_magic(head) || head.substr(0, 4) == "GMBU" || head.front() == '\0')
        return head.size() >= ipfix_header_size;
    if (head.find('\0') != std::string_view::npos) return true; // binary, and no format's
    return first_content_line(head).has_value();
}

std::unique_ptr<record_reader> open_stream_reader(const std::string& name, input_format format, std::string head,
                                                  read_some_function rest) {
    // The head first, then the rest of the stream.
    struct prefixed {
        std::string head;
        std::size_t served = 0;
        read_some_function rest;
    };
    auto source = std::make_shared<prefixed>(prefixed{std::move(head), 0, std::move(rest)});
    read_some_function read = [source](char* to, std::size_t n) -> std::ptrdiff_t {
        if (source->served < source->head.size()) {
            const std::size_t k = std::min(n, source->head.size() - source->served);
            std::memcpy(to, source->head.data() + source->served, k);
            source->served += k;
            return static_cast<std::ptrdiff_t>(k);
        }
        return source->rest(to, n);
    };
    const bool pcapng = source->head.size() >= 4 &&
                        detail::le32(reinterpret_cast<const std::uint8_t*>(source->head.data())) ==
                            detail::pcapng_section_header_type;
    switch (format) {
    case input_format::pcap:
        return pcapng ? detail::open_pcapng_stream(name, stream_file(name, std::move(read)))
                      : detail::open_pcap_stream(name, stream_file(name, std::move(read)));
    case input_format::zeek_tsv: return detail::open_zeek_tsv_stream(name, std::move(read));
    case input_format::zeek_json: return detail::open_zeek_json_stream(name, std::move(read));
    case input_format::ipfixprobe_csv: return detail::open_ipfixprobe_stream(name, std::move(read));
    case input_format::ipfix: return detail::open_ipfix_stream(name, stream_file(name, std::move(read)));
    case input_format::netmon:
        detail::fail(name, "", "a NetMon capture cannot be read as a stream (its frame table is at its end)");
    case input_format::unknown: break;
    }
    detail::fail(name, "",
                 "unrecognised input format (expected pcap, pcapng, Zeek sip.log as TSV or JSON lines, "
                 "ipfixprobe UniRec CSV, or IPFIX)");
}

} // namespace sipdetect_cli
