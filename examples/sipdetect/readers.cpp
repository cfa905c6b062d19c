// sipdetect command-line program: format detection, the reader factory and
// the time-ordered multi-file read. The readers themselves are in
// pcap_reader.cpp, pcapng_reader.cpp, netmon_reader.cpp, zeek_reader.cpp,
// ipfixprobe_reader.cpp and ipfix_reader.cpp.
#include "readers.hpp"

#include "readers_detail.hpp"

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstring>
#include <utility>

namespace sipdetect_cli {

namespace {

std::string format_message(const input_error& e) {
    std::string m = e.file;
    if (!e.where.empty()) m += ": " + e.where;
    m += ": " + e.what;
    return m;
}

bool is_lower_type_token(std::string_view t) noexcept {
    if (t.empty() || t.front() < 'a' || t.front() > 'z') return false;
    for (std::size_t i = 0; i < t.size(); ++i) {
        const char c = t[i];
        const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || (c == '*' && i + 1 == t.size());
        if (!ok) return false;
    }
    return true;
}

bool is_upper_name_token(std::string_view t) noexcept {
    if (t.empty() || !((t.front() >= 'A' && t.front() <= 'Z') || t.front() == '_')) return false;
    for (char c : t)
        if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_')) return false;
    return true;
}

} // namespace

namespace detail {
// A UniRec template line: "ipaddr DST_IP,ipaddr SRC_IP,uint16 DST_PORT,...".
bool is_unirec_template(std::string_view line) noexcept {
    line = trim(line);
    if (line.empty()) return false;
    std::size_t items = 0;
    std::size_t i = 0;
    for (;;) {
        const std::size_t comma = line.find(',', i);
        const std::string_view item = trim(line.substr(i, comma == std::string_view::npos ? std::string_view::npos
                                                                                           : comma - i));
        const std::size_t space = item.find(' ');
        if (space == std::string_view::npos) return false;
        if (!is_lower_type_token(item.substr(0, space)) || !is_upper_name_token(item.substr(space + 1)))
            return false;
        ++items;
        if (comma == std::string_view::npos) break;
        i = comma + 1;
    }
    return items >= 2;
}
} // namespace detail

input_exception::input_exception(input_error e) : std::runtime_error(format_message(e)), error_(std::move(e)) {}

std::string_view to_string(input_format f) noexcept {
    switch (f) {
    case input_format::pcap: return "pcap";
    case input_format::zeek_tsv: return "zeek-tsv";
    case input_format::zeek_json: return "zeek-json";
    case input_format::ipfixprobe_csv: return "ipfixprobe-csv";
    case input_format::ipfix: return "ipfix";
    case input_format::netmon: return "netmon";
    case input_format::unknown: break;
    }
    return "unknown";
}

reader_counters& reader_counters::operator+=(const reader_counters& o) noexcept {
    records += o.records;
    packets += o.packets;
    sip_messages += o.sip_messages;
    not_sip += o.not_sip;
    malformed += o.malformed;
    non_ip += o.non_ip;
    icmp_skipped += o.icmp_skipped;
    fragments_skipped += o.fragments_skipped;
    other_transport += o.other_transport;
    truncated_packets += o.truncated_packets;
    empty_payloads += o.empty_payloads;
    truncated_fields += o.truncated_fields;
    unsupported_link_packets += o.unsupported_link_packets;
    capture_drops += o.capture_drops;
    beyond_clock_skew += o.beyond_clock_skew;
    lines += o.lines;
    bad_timestamps += o.bad_timestamps;
    skipped_records += o.skipped_records;
    ipfix_messages += o.ipfix_messages;
    ipfix_templates += o.ipfix_templates;
    sets_without_template += o.sets_without_template;
    reserved_sets += o.reserved_sets;
    ipfix_defective_messages += o.ipfix_defective_messages;
    ipfix_connections += o.ipfix_connections;
    ipfix_peers_disconnected += o.ipfix_peers_disconnected;
    ipfix_refused += o.ipfix_refused;
    ipfix_templates_expired += o.ipfix_templates_expired;
    return *this;
}

input_format detect_format(const std::filesystem::path& path) {
    std::string head(64 * 1024, '\0');
    {
        auto f = detail::open_file(path);
        head.resize(std::fread(head.data(), 1, head.size(), f.get()));
        if (head.empty() && std::ferror(f.get()))
            detail::fail(path, "", std::string("read error: ") + std::strerror(errno));
    }
    if (head.size() >= 4) {
        static constexpr std::array<std::array<unsigned char, 4>, 7> magics{{
            {0xd4, 0xc3, 0xb2, 0xa1}, {0xa1, 0xb2, 0xc3, 0xd4}, // pcap, microseconds
            {0x4d, 0x3c, 0xb2, 0xa1}, {0xa1, 0xb2, 0x3c, 0x4d}, // pcap, nanoseconds
            {0x34, 0xcd, 0xb2, 0xa1}, {0xa1, 0xb2, 0xcd, 0x34}, // Kuznetzov's modified pcap
            {0x0a, 0x0d, 0x0d, 0x0a},                           // pcapng section header block
        }};
        for (const auto& m : magics)
            if (std::memcmp(head.data(), m.data(), 4) == 0) return input_format::pcap;
        if (std::memcmp(head.data(), "GMBU", 4) == 0) return input_format::netmon; // Network Monitor 2.x
    }
    // An IPFIX message header: version 10, then a length that covers at least the header.
    if (head.size() >= 16 && head[0] == '\0' && head[1] == '\x0a' &&
        detail::be16(reinterpret_cast<const std::uint8_t*>(head.data()) + 2) >= 16)
        return input_format::ipfix;
    if (head.find('\0') != std::string::npos) return input_format::unknown; // binary, not text

    std::string_view text = head;
    if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3); // UTF-8 BOM
    std::size_t pos = 0;
    bool first_content = true;
    for (int n = 0; n < 64 && pos < text.size(); ++n) {
        const std::size_t nl = text.find('\n', pos);
        const std::string_view line =
            text.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
        pos = nl == std::string_view::npos ? text.size() : nl + 1;
        const std::string_view t = detail::trim(line);
        if (t.empty()) continue;
        if (first_content && t.front() == '{') return input_format::zeek_json;
        first_content = false;
        if (t.front() != '#') break;
        if (t.substr(0, 10) == "#separator" || t.substr(0, 7) == "#fields") return input_format::zeek_tsv;
    }
    // ipfixprobe / UniRec text: the template is the last line (logger -t may put it first).
    if (auto last = detail::read_last_line(path); last && detail::is_unirec_template(last->text))
        return input_format::ipfixprobe_csv;
    {
        const std::size_t nl = text.find('\n');
        if (detail::is_unirec_template(text.substr(0, nl))) return input_format::ipfixprobe_csv;
    }
    return input_format::unknown;
}

std::unique_ptr<record_reader> open_reader(const std::filesystem::path& path, input_format format) {
    if (format == input_format::unknown) format = detect_format(path);
    switch (format) {
    case input_format::pcap: return open_pcap_reader(path);
    case input_format::zeek_tsv: return open_zeek_tsv_reader(path);
    case input_format::zeek_json: return open_zeek_json_reader(path);
    case input_format::ipfixprobe_csv: return open_ipfixprobe_reader(path);
    case input_format::ipfix: return open_ipfix_reader(path);
    case input_format::netmon: return open_netmon_reader(path);
    case input_format::unknown: break;
    }
    detail::fail(path, "",
                 "unrecognised input format (expected pcap, pcapng, Microsoft Network Monitor 2.x, "
                 "Zeek sip.log as TSV or JSON lines, ipfixprobe UniRec CSV, or IPFIX)");
}

bool time_ordered_stream::goes_after(const slot_key& a, const slot_key& b) noexcept {
    if (a.time != b.time || a.is_response != b.is_response)
        return later_in_time(a.time, a.is_response, b.time, b.is_response);
    return a.sequence > b.sequence;
}

time_ordered_stream::time_ordered_stream(const std::vector<std::filesystem::path>& paths, std::size_t window)
    : window_(std::max<std::size_t>(window, 1)) {
    files_.reserve(paths.size());
    for (const auto& p : paths) {
        file_buffer f;
        f.reader = open_reader(p);
        files_.push_back(std::move(f));
    }
    for (std::uint32_t i = 0; i < files_.size(); ++i) fill(i);
}

void time_ordered_stream::refill(file_buffer& f) {
    while (!f.ended && f.heap.size() < window_) {
        if (f.free.empty()) {
            f.free.push_back(static_cast<std::uint32_t>(f.slots.size()));
            f.slots.emplace_back();
        }
        const std::uint32_t slot = f.free.back();
        input_record& r = f.slots[slot];
        clear_keeping_capacity(r); // a reader need not set every field
        if (!f.reader->next(r)) {
            f.ended = true;
            break;
        }
        f.free.pop_back();
        f.heap.push_back(slot_key{r.time, r.status != 0, f.read++, slot});
        std::push_heap(f.heap.begin(), f.heap.end(), goes_after); // the earliest at the front
    }
}

bool time_ordered_stream::file_goes_after(std::uint32_t a, std::uint32_t b) const noexcept {
    const slot_key& x = files_[a].heap.front();
    const slot_key& y = files_[b].heap.front();
    // Sequences compare only within a file; at equal keys the file given first goes first.
    if (x.time != y.time || x.is_response != y.is_response)
        return later_in_time(x.time, x.is_response, y.time, y.is_response);
    return a > b;
}

void time_ordered_stream::fill(std::uint32_t file) {
    file_buffer& f = files_[file];
    try {
        refill(f);
    } catch (const input_exception& e) {
        f.ended = true; // what was read before the defect still goes out
        if (!failure_) failure_ = e.what();
    }
    if (f.heap.empty()) return;
    by_head_.push_back(file);
    std::push_heap(by_head_.begin(), by_head_.end(),
                   [this](std::uint32_t a, std::uint32_t b) { return file_goes_after(a, b); });
}

bool time_ordered_stream::next(input_record& out) {
    if (by_head_.empty()) return false;
    std::pop_heap(by_head_.begin(), by_head_.end(),
                  [this](std::uint32_t a, std::uint32_t b) { return file_goes_after(a, b); });
    const std::uint32_t file = by_head_.back();
    by_head_.pop_back();
    file_buffer& f = files_[file];
    std::pop_heap(f.heap.begin(), f.heap.end(), goes_after);
    const slot_key k = f.heap.back();
    f.heap.pop_back();
    if (later_in_time(newest_time_, newest_was_response_, k.time, k.is_response)) {
        ++out_of_order_; // after a later record, whichever records came between
    } else {
        newest_time_ = k.time;
        newest_was_response_ = k.is_response;
    }
    // A swap, not a move: the slot keeps the strings of `out`, so that a
    // caller reusing `out` and the slot reuse their capacity.
    std::swap(out, f.slots[k.slot]);
    f.free.push_back(k.slot);
    fill(file);
    return true;
}

reader_counters time_ordered_stream::counters() const {
    reader_counters total;
    for (const file_buffer& f : files_) total += f.reader->counters();
    return total;
}

} // namespace sipdetect_cli
