// sipdetect command-line program: input readers.
//
// Each reader turns one file into input_records, one at a time and in file
// order, through a pull interface:
//
//   auto reader = sipdetect_cli::open_reader(path);   // format detected from content
//   sipdetect_cli::input_record r;
//   while (reader->next(r)) { ... }                   // throws input_exception on a bad file
//   const auto& c = reader->counters();
//
// Formats: pcap (through libpcap), pcapng (read directly, each packet with
// the link type and time resolution of its own interface), Microsoft Network
// Monitor 2.x captures (read directly; libpcap cannot), Zeek sip.log as TSV or JSON
// lines, ipfixprobe's UniRec text output (CSV with the template as its
// last line), and IPFIX files holding ipfixprobe's SIP records. When a file turns out to be truncated or corrupt, the records
// already returned stay valid and the next call to next() throws.
#pragma once

#include "input_record.hpp"

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sipdetect_cli {

enum class input_format { pcap, zeek_tsv, zeek_json, ipfixprobe_csv, ipfix, netmon, unknown };

// "pcap", "zeek-tsv", "zeek-json", "ipfixprobe-csv", "ipfix", "netmon", "unknown".
std::string_view to_string(input_format f) noexcept;

// Detects the format from the file's content, never its name: pcap magic in
// either byte order and the nanosecond variant, the pcapng section header
// block (both give input_format::pcap), the NetMon 2.x magic "GMBU"
// (input_format::netmon), an IPFIX message header (version 10 and a length
// of at least 16: input_format::ipfix), a Zeek TSV header (#separator or
// #fields), a first line starting with '{' (Zeek JSON), or a UniRec template
// such as "ipaddr DST_IP,ipaddr SRC_IP,..." as the last (or first) line.
// Returns unknown for anything else, including an empty file. Throws
// input_exception when the file cannot be opened or read.
input_format detect_format(const std::filesystem::path& path);

// What went wrong and where: file "x.pcap", where "packet 1234", what "truncated record".
struct input_error {
    std::string file;
    std::string where; // may be empty
    std::string what;
};

// Thrown by every reader. what() is "file: where: what" (or "file: what").
class input_exception : public std::runtime_error {
public:
    explicit input_exception(input_error e);
    const input_error& error() const noexcept { return error_; }

private:
    input_error error_;
};

// Counters of one reader. Only those that apply to the format move.
struct reader_counters {
    std::uint64_t records = 0; // input_records returned by next()

    // pcap / pcapng / NetMon
    std::uint64_t packets = 0;           // packets read from the capture (NetMon: every frame of the frame table)
    std::uint64_t sip_messages = 0;      // SIP messages parsed (status ok); also counted by the text readers
    std::uint64_t not_sip = 0;           // UDP payloads (and TCP segments) that do not start like SIP
    std::uint64_t malformed = 0;         // SIP-looking payloads the parser rejected
    std::uint64_t non_ip = 0;            // frames carrying neither IPv4 nor IPv6 (ARP, LLDP, ...; NetMon 2.1+:
                                         // also metadata frames and frames of a network type not decoded)
    std::uint64_t icmp_skipped = 0;      // ICMP/ICMPv6 packets: SIP quoted in an error is not traffic
    std::uint64_t fragments_skipped = 0; // non-first IP fragments (no reassembly)
    std::uint64_t other_transport = 0;   // IP packets that are neither UDP, TCP nor ICMP
    std::uint64_t truncated_packets = 0; // link/IP/UDP/TCP headers cut short or with impossible lengths
    std::uint64_t empty_payloads = 0;    // UDP datagrams or TCP segments without payload
    std::uint64_t truncated_fields = 0;  // SIP fields the parser cut short (a message with two cut counts 2)
    std::uint64_t unsupported_link_packets = 0; // pcapng: packets of an interface whose link type is not
                                                // decoded, skipped (a classic pcap of such a type is refused)
    std::uint64_t capture_drops = 0;     // live capture: packets libpcap reports dropped (buffer full, interface)
    std::uint64_t beyond_clock_skew = 0; // live: records dated later than the wall clock plus max_clock_skew,
                                         // not analysed

    // text formats (bad_timestamps also for pcap)
    std::uint64_t lines = 0;           // data lines read (headers and comments excluded)
    std::uint64_t bad_timestamps = 0;  // unparsable Zeek ts or out-of-range packet time, read as the epoch
                                       // (a warning, not an error)
    std::uint64_t skipped_records = 0; // lines or IPFIX data records that describe no SIP message
                                       // (ipfixprobe SIP_MSG_TYPE 0, IPFIX templates without SIP fields,
                                       // Zeek lines with neither method nor status, other Zeek _paths)

    // IPFIX files
    std::uint64_t ipfix_messages = 0;        // IPFIX messages read
    std::uint64_t ipfix_templates = 0;       // template and options template records defined
    std::uint64_t sets_without_template = 0; // data sets skipped: their template was never defined
    std::uint64_t reserved_sets = 0;         // sets with an id reserved for future use (4-255), skipped

    // IPFIX listener (--ipfix-listen)
    std::uint64_t ipfix_defective_messages = 0; // messages dropped: not whole IPFIX messages, or defective
    std::uint64_t ipfix_connections = 0;        // TCP connections accepted
    std::uint64_t ipfix_peers_disconnected = 0; // TCP peers disconnected for a stream that is not IPFIX
    std::uint64_t ipfix_refused = 0;            // connections and UDP exporters beyond the listener's limits
    std::uint64_t ipfix_templates_expired = 0;  // UDP templates not refreshed within the template timeout

    reader_counters& operator+=(const reader_counters& o) noexcept;
};

// Pulls input_records out of one file.
class record_reader {
public:
    virtual ~record_reader() = default;
    record_reader(const record_reader&) = delete;
    record_reader& operator=(const record_reader&) = delete;

    // Fills `out` with the next record and returns true; false at the end of
    // the file. Throws input_exception for a truncated or corrupt file; after
    // that the reader stays failed and further calls throw again.
    virtual bool next(input_record& out) = 0;

    const reader_counters& counters() const noexcept { return counters_; }
    const std::filesystem::path& path() const noexcept { return path_; }
    input_format format() const noexcept { return format_; }

protected:
    record_reader(std::filesystem::path p, input_format f) : path_(std::move(p)), format_(f) {}
    reader_counters counters_;

private:
    std::filesystem::path path_;
    input_format format_;
};

// Opens a reader for the given format; unknown means detect_format(path).
// Throws input_exception if the file cannot be opened, its format is not
// recognised, or its header is unusable (e.g. an unsupported link type).
std::unique_ptr<record_reader> open_reader(const std::filesystem::path& path,
                                           input_format format = input_format::unknown);

// The individual readers, for callers that know the format.
std::unique_ptr<record_reader> open_pcap_reader(const std::filesystem::path& path); // pcap or pcapng
std::unique_ptr<record_reader> open_pcapng_reader(const std::filesystem::path& path);
std::unique_ptr<record_reader> open_zeek_tsv_reader(const std::filesystem::path& path);
std::unique_ptr<record_reader> open_zeek_json_reader(const std::filesystem::path& path);
std::unique_ptr<record_reader> open_ipfixprobe_reader(const std::filesystem::path& path);
std::unique_ptr<record_reader> open_ipfix_reader(const std::filesystem::path& path);
std::unique_ptr<record_reader> open_netmon_reader(const std::filesystem::path& path);

// Several files (each format detected) read as one stream in record time,
// in bounded memory: each file's records pass through a reorder buffer of
// `window` records, and the files are merged by time. The order is that of
// a stable sort of all the files' records, in the order the files are
// given, by time and then request before response, as long as no record
// comes more than `window` records after one it precedes in time. Such a
// record is passed on as it comes, after a later one, and counted in
// out_of_order(); the detectors then treat it as late. Memory: `window` records per file,
// whatever the files' sizes; every file stays open while the stream lasts.
class time_ordered_stream {
public:
    // The default window: 65,536 records, less when there are more than 16
    // files, so that about a million records at most are buffered, but never
    // less than 1,024.
    static std::size_t window_for(std::size_t files) noexcept {
        constexpr std::size_t budget = std::size_t{1} << 20, largest = 65536, smallest = 1024;
        const std::size_t share = budget / (files == 0 ? 1 : files);
        return share > largest ? largest : share < smallest ? smallest : share;
    }
    // Opens every file, then fills each file's buffer. Throws input_exception
    // if a file cannot be opened or its format is not recognised, before
    // reading any record.
    explicit time_ordered_stream(const std::vector<std::filesystem::path>& paths)
        : time_ordered_stream(paths, window_for(paths.size())) {}
    time_ordered_stream(const std::vector<std::filesystem::path>& paths, std::size_t window);
    std::size_t window() const noexcept { return window_; }
    // The next record in time; false when every file has ended. A file that
    // turns out truncated or corrupt ends at its defect, after the records
    // read before it; failure() then names the first such defect.
    bool next(input_record& out);
    const std::optional<std::string>& failure() const noexcept { return failure_; }
    // The counters of every file, as read so far.
    reader_counters counters() const;
    std::uint64_t out_of_order() const noexcept { return out_of_order_; }

private:
    // A buffered record's place in the order: ties keep the order of reading.
    struct slot_key {
        sipdetect::record_time time;
        bool is_response;
        std::uint64_t sequence;
        std::uint32_t slot;
    };
    struct file_buffer {
        std::unique_ptr<record_reader> reader;
        std::vector<input_record> slots; // at most window, reused
        std::vector<std::uint32_t> free; // slots not holding a record
        std::vector<slot_key> heap;      // the buffered records, the earliest at the front
        std::uint64_t read = 0;          // records read from the file
        bool ended = false;
    };
    // The order across files: by time, and at equal times a request first.
    static bool later_in_time(sipdetect::record_time a, bool a_response, sipdetect::record_time b,
                              bool b_response) noexcept {
        return a != b ? a > b : a_response && !b_response;
    }
    static bool goes_after(const slot_key& a, const slot_key& b) noexcept;
    // Heap order of by_head_: whether file a's earliest buffered record goes after file b's.
    bool file_goes_after(std::uint32_t a, std::uint32_t b) const noexcept;
    void refill(file_buffer& f);
    // Refills the file's buffer and, if it holds a record, puts the file back in by_head_.
    void fill(std::uint32_t file);

    std::vector<file_buffer> files_;
    std::vector<std::uint32_t> by_head_; // files with buffered records, the earliest head at the front
    std::size_t window_;
    // The latest record passed on so far; nothing goes before a request at min().
    sipdetect::record_time newest_time_ = sipdetect::record_time::min();
    bool newest_was_response_ = false;
    std::uint64_t out_of_order_ = 0;
    std::optional<std::string> failure_;
};

// A byte stream (standard input, a followed log): read_some(buffer, size)
// waits until something arrives and returns how many bytes, at most size, it
// put in the buffer; 0 at the end of the stream, -1 on an error (errno says
// which).
using read_some_function = std::function<std::ptrdiff_t(char*, std::size_t)>;

// The format of a stream from its first bytes, as detect_format() would judge
// the file, except that text which is neither Zeek TSV nor JSON is taken as
// ipfixprobe CSV (its template, when it is the last line, comes only at the
// end). unknown when the bytes are not enough yet: stream_head_complete()
// says when they are.
input_format detect_stream_format(std::string_view head) noexcept;
// Whether `head` (with `ended`: all the stream holds) decides the format.
bool stream_head_complete(std::string_view head, bool ended) noexcept;

// A reader on a stream whose first bytes, `head`, were already read (for
// detect_stream_format) and whose rest comes from `rest`. Records come as
// soon as the bytes that hold them do. An ipfixprobe CSV stream whose
// template is its last line is kept in a temporary file until the template
// arrives. NetMon captures, whose frame table is at their end, are refused.
// `name` names the stream in errors ("-" for standard input).
std::unique_ptr<record_reader> open_stream_reader(const std::string& name, input_format format, std::string head,
                                                  read_some_function rest);

// Longest text line any reader accepts; a longer line is an input_error.
inline constexpr std::size_t max_line_length = std::size_t{1} << 20; // 1 MiB

} // namespace sipdetect_cli
