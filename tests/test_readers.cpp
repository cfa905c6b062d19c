// The sipdetect program's input readers: format detection, pcap/pcapng link
// types, Microsoft NetMon 2.x, Zeek sip.log (TSV and JSON), ipfixprobe UniRec
// CSV, IPFIX files, hostile input.
#include "catch.hpp"
#include "temp_dir.hpp"

#include "ipfix_writer.hpp"
#include "sipdetect/readers.hpp"

#include <sipdetect/record.hpp>
#include <sipdetect/sip_parser.hpp>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <fstream>
#include <functional>
#include <limits>
#include <map>
#include <random>
#include <set>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

using namespace sipdetect_cli;
using sipdetect::ip_address;
using sipdetect::sip_method;

namespace {

// ---------------------------------------------------------------------------
// Byte builders for synthetic captures (std::string as a byte buffer)

void put8(std::string& s, unsigned v) { s += static_cast<char>(v & 0xffu); }
void put16be(std::string& s, unsigned v) {
    put8(s, v >> 8);
    put8(s, v);
}
void put32be(std::string& s, std::uint32_t v) {
    put16be(s, v >> 16);
    put16be(s, v & 0xffffu);
}
void put16le(std::string& s, unsigned v) {
    put8(s, v);
    put8(s, v >> 8);
}
void put32le(std::string& s, std::uint32_t v) {
    put16le(s, v & 0xffffu);
    put16le(s, v >> 16);
}
std::string v4(std::uint8_t a, std::uint8_t b, std::uint8_t c, std::uint8_t d) {
    return std::string{static_cast<char>(a), static_cast<char>(b), static_cast<char>(c), static_cast<char>(d)};
}
std::string v6(const char* text) {
    const auto a = ip_address::parse(text);
    return std::string(reinterpret_cast<const char*>(a.bytes().data()), 16);
}

class pcap_file {
public:
    explicit pcap_file(std::uint32_t linktype, bool nano = false, bool big_endian = false)
        : big_endian_(big_endian) {
        put32(nano ? 0xa1b23c4du : 0xa1b2c3d4u);
        put16(2);
        put16(4);
        put32(0);
        put32(0);
        put32(262144);
        put32(linktype);
    }
    pcap_file& add(const std::string& frame, std::uint32_t sec = 1700000000, std::uint32_t frac = 0) {
        put32(sec);
        put32(frac);
        put32(static_cast<std::uint32_t>(frame.size()));
        put32(static_cast<std::uint32_t>(frame.size()));
        bytes_ += frame;
        return *this;
    }
    const std::string& bytes() const { return bytes_; }

private:
    void put16(unsigned v) { big_endian_ ? put16be(bytes_, v) : put16le(bytes_, v); }
    void put32(std::uint32_t v) { big_endian_ ? put32be(bytes_, v) : put32le(bytes_, v); }
    bool big_endian_;
    std::string bytes_;
};

// A pcapng file, block by block, each section in its own byte order.
class pcapng_file {
public:
    explicit pcapng_file(bool big_endian = false) { section(big_endian); }

    // A section header block: a new section, whose interfaces count from 0.
    pcapng_file& section(bool big_endian, unsigned major = 1) {
        big_endian_ = big_endian;
        std::string body;
        put32(body, 0x1A2B3C4Du);
        put16(body, major);
        put16(body, 0);
        put32(body, 0xffffffffu); // section length: not given
        put32(body, 0xffffffffu);
        return block(0x0A0D0D0Au, body);
    }
    // An interface description block; `options` from option(), without the end of options.
    pcapng_file& interface(unsigned linktype, const std::string& options = {}, std::uint32_t snap_length = 0) {
        std::string body;
        put16(body, linktype);
        put16(body, 0);
        put32(body, snap_length);
        return block(1, body + options);
    }
    std::string option(unsigned code, const std::string& value) const {
        std::string s;
        put16(s, code);
        put16(s, static_cast<unsigned>(value.size()));
        return s + padded(value);
    }
    std::string tsresol(unsigned value) const { return option(9, std::string(1, static_cast<char>(value))); }
    std::string tsoffset(std::int64_t seconds) const {
        std::string v;
        put64(v, static_cast<std::uint64_t>(seconds));
        return option(14, v);
    }
    // An enhanced packet block, with an epb_flags option after the data.
    pcapng_file& packet(std::uint32_t interface, std::uint64_t timestamp, const std::string& frame) {
        std::string body;
        put32(body, interface);
        put64_halves(body, timestamp);
        put32(body, static_cast<std::uint32_t>(frame.size()));
        put32(body, static_cast<std::uint32_t>(frame.size()));
        std::string flags;
        put32(flags, 1); // inbound
        return block(6, body + padded(frame) + option(2, flags));
    }
    // The obsolete packet block: a 16-bit interface and a drop count.
    pcapng_file& obsolete_packet(unsigned interface, std::uint64_t timestamp, const std::string& frame) {
        std::string body;
        put16(body, interface);
        put16(body, 0);
        put64_halves(body, timestamp);
        put32(body, static_cast<std::uint32_t>(frame.size()));
        put32(body, static_cast<std::uint32_t>(frame.size()));
        return block(2, body + padded(frame));
    }
    pcapng_file& simple_packet(const std::string& frame, std::uint32_t original_length) {
        std::string body;
        put32(body, original_length);
        return block(3, body + padded(frame));
    }
    // Any block: type, total length (the body padded), body, total length.
    pcapng_file& block(std::uint32_t type, const std::string& body) {
        const auto length = static_cast<std::uint32_t>(12 + padded(body).size());
        return block_with_lengths(type, padded(body), length, length);
    }
    pcapng_file& block_with_lengths(std::uint32_t type, const std::string& body, std::uint32_t leading,
                                    std::uint32_t trailing) {
        put32(bytes_, type);
        put32(bytes_, leading);
        bytes_ += body;
        put32(bytes_, trailing);
        return *this;
    }
    const std::string& bytes() const { return bytes_; }

private:
    static std::string padded(std::string s) {
        s.resize((s.size() + 3) / 4 * 4, '\0');
        return s;
    }
    void put16(std::string& s, unsigned v) const { big_endian_ ? put16be(s, v) : put16le(s, v); }
    void put32(std::string& s, std::uint32_t v) const { big_endian_ ? put32be(s, v) : put32le(s, v); }
    void put64(std::string& s, std::uint64_t v) const {
        const auto high = static_cast<std::uint32_t>(v >> 32), low = static_cast<std::uint32_t>(v & 0xffffffffu);
        put32(s, big_endian_ ? high : low);
        put32(s, big_endian_ ? low : high);
    }
    void put64_halves(std::string& s, std::uint64_t v) const { // a packet timestamp: the high half first
        put32(s, static_cast<std::uint32_t>(v >> 32));
        put32(s, static_cast<std::uint32_t>(v & 0xffffffffu));
    }
    bool big_endian_ = false;
    std::string bytes_;
};

// A Microsoft Network Monitor 2.x capture: 128-byte header, frame records,
// then the frame table. Capture start 2023-11-14 22:13:20.000 (1700000000 s).
class netmon_file {
public:
    explicit netmon_file(unsigned network = 1, unsigned version_minor = 0)
        : network_(network), minor_(version_minor) {}

    // Adds a frame record `gap` bytes after the previous one. From version
    // 2.1 on a trailer follows the data: `frame_network`, a process index and
    // (2.3+) a FILETIME `filetime`.
    netmon_file& add(const std::string& frame, std::uint64_t delta_us = 250000, unsigned frame_network = 1,
                     std::uint64_t filetime = 0, std::size_t gap = 0) {
        records_ += std::string(gap, '\xee');
        offsets_.push_back(static_cast<std::uint32_t>(128 + records_.size()));
        put32le(records_, static_cast<std::uint32_t>(delta_us & 0xffffffffu));
        put32le(records_, static_cast<std::uint32_t>(delta_us >> 32));
        put32le(records_, static_cast<std::uint32_t>(frame.size()));
        put32le(records_, static_cast<std::uint32_t>(frame.size()));
        records_ += frame;
        if (minor_ >= 1) put16le(records_, frame_network);
        if (minor_ >= 2) put32le(records_, 0);
        if (minor_ >= 3) {
            put32le(records_, static_cast<std::uint32_t>(filetime & 0xffffffffu));
            put32le(records_, static_cast<std::uint32_t>(filetime >> 32));
            put8(records_, 0);
        }
        return *this;
    }
    std::vector<std::uint32_t>& offsets() { return offsets_; }

    std::string bytes() const {
        std::string h = "GMBU";
        put8(h, minor_);
        put8(h, 2);
        put16le(h, network_);
        for (unsigned v : {2023u, 11u, 2u, 14u, 22u, 13u, 20u, 0u}) put16le(h, v); // SYSTEMTIME
        put32le(h, static_cast<std::uint32_t>(128 + records_.size()));             // frame table offset
        put32le(h, static_cast<std::uint32_t>(4 * offsets_.size()));              // and length
        h.resize(128, '\0');
        std::string table;
        for (auto o : offsets_) put32le(table, o);
        return h + records_ + table;
    }

private:
    unsigned network_, minor_;
    std::string records_;
    std::vector<std::uint32_t> offsets_;
};

std::string udp(unsigned sport, unsigned dport, const std::string& payload) {
    std::string s;
    put16be(s, sport);
    put16be(s, dport);
    put16be(s, static_cast<unsigned>(payload.size() + 8));
    put16be(s, 0);
    return s + payload;
}
std::string tcp(unsigned sport, unsigned dport, const std::string& payload) {
    std::string s;
    put16be(s, sport);
    put16be(s, dport);
    put32be(s, 1000); // seq
    put32be(s, 0);    // ack
    put8(s, 5u << 4); // data offset 5
    put8(s, 0x18);    // PSH ACK
    put16be(s, 65535);
    put16be(s, 0);
    put16be(s, 0);
    return s + payload;
}
std::string ipv4(unsigned proto, const std::string& src, const std::string& dst, const std::string& payload,
                 const std::string& options = {}, unsigned frag_field = 0) {
    std::string s;
    const auto ihl = static_cast<unsigned>(20 + options.size()) / 4;
    put8(s, 0x40u | ihl);
    put8(s, 0);
    put16be(s, static_cast<unsigned>(ihl * 4 + payload.size()));
    put16be(s, 0x1234);
    put16be(s, frag_field);
    put8(s, 64);
    put8(s, proto);
    put16be(s, 0);
    return s + src + dst + options + payload;
}
std::string ipv6(unsigned next, const std::string& src, const std::string& dst, const std::string& payload) {
    std::string s;
    put32be(s, 0x60000000u);
    put16be(s, static_cast<unsigned>(payload.size()));
    put8(s, next);
    put8(s, 64);
    return s + src + dst + payload;
}
std::string ether(unsigned type, const std::string& payload, const std::vector<unsigned>& tags = {}) {
    std::string s(12, '\x02');
    for (unsigned tpid : tags) {
        put16be(s, tpid);
        put16be(s, 100); // VLAN id
    }
    put16be(s, type);
    return s + payload;
}
std::string sll(unsigned type, const std::string& payload) {
    std::string s;
    put16be(s, 0);      // packet type: to us
    put16be(s, 1);      // ARPHRD_ETHER
    put16be(s, 6);      // address length
    s += std::string(8, '\x02');
    put16be(s, type);
    return s + payload;
}
std::string sll2(unsigned type, const std::string& payload) {
    std::string s;
    put16be(s, type);
    put16be(s, 0);      // reserved
    put32be(s, 2);      // interface index
    put16be(s, 1);      // ARPHRD_ETHER
    put8(s, 0);         // packet type
    put8(s, 6);         // address length
    s += std::string(8, '\x02');
    return s + payload;
}
// A BSD loopback frame: the address family in either byte order (DLT_NULL: the host's, DLT_LOOP: network).
std::string null_frame(std::uint32_t af, bool little, const std::string& payload) {
    std::string s;
    little ? put32le(s, af) : put32be(s, af);
    return s + payload;
}

const std::string client4 = v4(192, 0, 2, 1);
const std::string server4 = v4(192, 0, 2, 2);

// The generated messages tell their records apart by the user of their From
// URI ("sip:<from_user>@1.1.1.1"); from_user_of() reads it back.
std::string sip_options(const std::string& from_user = "100") {
    return "OPTIONS sip:100@192.0.2.2 SIP/2.0\r\n"
           "Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK-1\r\n"
           "Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK-0\r\n"
           "From: \"sipvicious\" <sip:" +
           from_user +
           "@1.1.1.1>;tag=abc\r\n"
           "To: \"sipvicious\" <sip:100@1.1.1.1>\r\n"
           "Call-ID: cid-1@192.0.2.1\r\n"
           "CSeq: 1 OPTIONS\r\n"
           "User-Agent: friendly-scanner\r\n"
           "Content-Length: 0\r\n\r\n";
}
std::string sip_200(const std::string& from_user = "100") {
    return "SIP/2.0 200 OK\r\n"
           "Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK-1\r\n"
           "From: \"sipvicious\" <sip:" +
           from_user +
           "@1.1.1.1>;tag=abc\r\n"
           "To: \"sipvicious\" <sip:100@1.1.1.1>;tag=srv\r\n"
           "Call-ID: cid-1@192.0.2.1\r\n"
           "CSeq: 1 OPTIONS\r\n"
           "Content-Length: 0\r\n\r\n";
}
std::string from_user_of(const input_record& r) {
    const std::string_view uri = r.from_uri;
    REQUIRE(uri.starts_with("sip:"));
    const std::size_t at = uri.find('@');
    REQUIRE(at != std::string_view::npos);
    return std::string(uri.substr(4, at - 4));
}

std::vector<input_record> read_all(const std::filesystem::path& p, reader_counters* counters = nullptr) {
    auto reader = open_reader(p);
    std::vector<input_record> out;
    input_record r;
    while (reader->next(r)) out.push_back(r);
    if (counters) *counters = reader->counters();
    return out;
}

// The what() of the input_exception f throws, or "" when it throws none.
template <class F>
std::string input_error_of(F&& f) {
    try {
        f();
    } catch (const input_exception& e) {
        return e.what();
    }
    return {};
}
bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

// What a time_ordered_stream of `paths` passes on.
struct streamed {
    std::vector<input_record> records;
    reader_counters counters;
    std::uint64_t out_of_order = 0;
    std::string failure;
};
streamed read_stream(const std::vector<std::filesystem::path>& paths,
                     std::size_t window = time_ordered_stream::window_for(3)) {
    time_ordered_stream stream(paths, window);
    streamed out;
    input_record r;
    while (stream.next(r)) out.records.push_back(r);
    out.counters = stream.counters();
    out.out_of_order = stream.out_of_order();
    out.failure = stream.failure().value_or("");
    return out;
}

// Reads everything; returns the records read before an input_exception, and its text.
std::pair<std::vector<input_record>, std::string> read_until_error(const std::filesystem::path& p,
                                                                    input_format f = input_format::unknown) {
    std::vector<input_record> out;
    std::string error;
    try {
        auto reader = open_reader(p, f);
        input_record r;
        while (reader->next(r)) out.push_back(r);
    } catch (const input_exception& e) {
        error = e.what();
    }
    return {std::move(out), std::move(error)};
}

void check_options(const input_record& r, const ip_address& src, const ip_address& dst) {
    CHECK(r.src == src);
    CHECK(r.dst == dst);
    CHECK(r.src_port == 5060);
    CHECK(r.dst_port == 5062);
    CHECK(r.sent_by == sipdetect::sender::source);
    CHECK(r.method == sip_method::options);
    CHECK(r.status == 0);
    CHECK(r.request_uri == "sip:100@192.0.2.2");
    CHECK(r.from_uri == "sip:100@1.1.1.1");
    CHECK(r.to_uri == "sip:100@1.1.1.1");
    CHECK(r.user_agent == "friendly-scanner");
    CHECK(r.via_count == 2);
    CHECK(sipdetect::micros_of(r.time) == 1700000000'000000 + 250000);
}

using full_key = std::tuple<std::int64_t, ip_address, ip_address, std::uint16_t, std::uint16_t, sipdetect::sender,
                            sip_method, std::uint16_t, std::string, std::string, std::string, std::string, unsigned>;
full_key key_of(const input_record& r) {
    return {sipdetect::micros_of(r.time), r.src, r.dst, r.src_port, r.dst_port, r.sent_by, r.method, r.status,
            r.request_uri, r.from_uri, r.to_uri, r.user_agent, r.via_count};
}

} // namespace

// ===========================================================================
// Format detection

TEST_CASE("readers: detect_format on the shared captures and logs") {
    SIPDETECT_REQUIRE_SHARED_FILE(pcap, "ipfixprobe/sip.pcap");
    SIPDETECT_REQUIRE_SHARED_FILE(pcapng, "ndpi/sip_hello.pcapng");
    SIPDETECT_REQUIRE_SHARED_FILE(zeek_a, "zeek/wireshark.sip.log");
    SIPDETECT_REQUIRE_SHARED_FILE(zeek_b, "zeek/junk.sip.log");
    SIPDETECT_REQUIRE_SHARED_FILE(csv, "ipfixprobe/sip.unirec.csv");
    SIPDETECT_REQUIRE_SHARED_FILE(netmon, "sipnab/c07-sip-r2.cap");
    CHECK(detect_format(pcap) == input_format::pcap);
    CHECK(detect_format(pcapng) == input_format::pcap);
    CHECK(detect_format(zeek_a) == input_format::zeek_tsv);
    CHECK(detect_format(zeek_b) == input_format::zeek_tsv);
    CHECK(detect_format(csv) == input_format::ipfixprobe_csv);
    // Microsoft NetMon 2.x, which libpcap cannot read: its own reader.
    CHECK(detect_format(netmon) == input_format::netmon);
    CHECK(std::string(to_string(input_format::netmon)) == "netmon");
}

TEST_CASE("readers: detect_format on generated files, from content only") {
    temp_dir dir;
    const std::string frame = ether(0x0800, ipv4(17, client4, server4, udp(5060, 5062, sip_options())));
    CHECK(detect_format(dir.write("a.txt", pcap_file(1).add(frame).bytes())) == input_format::pcap);
    CHECK(detect_format(dir.write("b.csv", pcap_file(1, true).add(frame).bytes())) == input_format::pcap);
    CHECK(detect_format(dir.write("c", pcap_file(1, false, true).add(frame).bytes())) == input_format::pcap);
    CHECK(detect_format(dir.write("d", pcap_file(1, true, true).add(frame).bytes())) == input_format::pcap);
    {
        std::string shb; // a pcapng section header block
        put32le(shb, 0x0A0D0D0Au);
        put32le(shb, 28);
        put32le(shb, 0x1A2B3C4Du);
        put16le(shb, 1);
        put16le(shb, 0);
        put32le(shb, 0xffffffffu);
        put32le(shb, 0xffffffffu);
        put32le(shb, 28);
        CHECK(detect_format(dir.write("e.log", shb)) == input_format::pcap);
    }
    CHECK(detect_format(dir.write("f.pcap", "#separator \\x09\n#fields\tts\tuid\n")) == input_format::zeek_tsv);
    CHECK(detect_format(dir.write("g", "#fields\tts\tuid\n")) == input_format::zeek_tsv);
    CHECK(detect_format(dir.write("h.pcap", "\n{\"ts\":1.5,\"id.orig_h\":\"10.0.0.1\"}\n")) == input_format::zeek_json);
    CHECK(detect_format(dir.write("i", "1.2.3.4,5060,\"x\"\nipaddr SRC_IP,uint16 SRC_PORT,string SIP_CALL_ID\n")) ==
          input_format::ipfixprobe_csv);
    CHECK(detect_format(dir.write("j", "ipaddr SRC_IP,uint16 SRC_PORT,string SIP_CALL_ID\n1.2.3.4,5060,\"x\"\n")) ==
          input_format::ipfixprobe_csv);
    CHECK(detect_format(dir.write("k", "")) == input_format::unknown);
    CHECK(detect_format(dir.write("l", "hello, world\nthis is text\n")) == input_format::unknown);
    CHECK(detect_format(dir.write("m", std::string("\x00\x01\x02\x03junk", 8))) == input_format::unknown);
    CHECK(detect_format(dir.write("n", "ab")) == input_format::unknown);
    CHECK(detect_format(dir.write("n2.pcap", std::string("GMBU\x00\x02\x01\x00", 8))) == input_format::netmon);
    CHECK(detect_format(dir.write("n3", "RTSS")) == input_format::unknown); // NetMon 1.x: not read
    // A truncated pcap is still a pcap: reading it reports the truncation.
    CHECK(detect_format(dir.write("o", pcap_file(1).bytes().substr(0, 10))) == input_format::pcap);

    const auto missing = dir.write("p", "") .parent_path() / "does-not-exist";
    const std::string err = input_error_of([&] { (void)detect_format(missing); });
    CHECK(contains(err, "does-not-exist"));
    CHECK(contains(err, "cannot open"));
    const std::string unknown = input_error_of([&] { (void)open_reader(dir.write("q", "plain text\n")); });
    CHECK(contains(unknown, "unrecognised input format"));
}

// ===========================================================================
// ipfixprobe UniRec CSV

TEST_CASE("readers: ipfixprobe CSV gives 40 records with biflow responses sent by the destination") {
    SIPDETECT_REQUIRE_SHARED_FILE(csv, "ipfixprobe/sip.unirec.csv");
    reader_counters c;
    const auto records = read_all(csv, &c);
    REQUIRE(records.size() == 40);
    CHECK(c.records == 40);
    CHECK(c.lines == 40);
    CHECK(c.skipped_records == 0);

    const ip_address scanner = ip_address::parse("147.32.77.113");
    const ip_address pbx = ip_address::parse("195.113.172.39");
    int responses = 0, ok_for_6001 = 0;
    for (const auto& r : records) {
        CHECK(r.src == scanner); // biflows keep the request's orientation
        CHECK(r.via_count == 1);
        const auto v = sipdetect::detail::make_view(r);
        CHECK(v.client == scanner);
        if (r.status != 0) {
            ++responses;
            CHECK(r.sent_by == sipdetect::sender::destination);
            CHECK(r.request_uri.empty());
        } else {
            CHECK(r.sent_by == sipdetect::sender::source);
            CHECK(r.user_agent == "friendly-scanner");
        }
        if (r.status == 200) {
            ++ok_for_6001;
            CHECK(r.method == sip_method::register_);
            CHECK(r.to_uri == "sip:6001@195.113.172.39");
            CHECK(r.from_uri == "sip:6001@195.113.172.39");
            CHECK(v.client == scanner);
            CHECK(v.server == pbx);
            CHECK(v.client_port == 5060);
            CHECK(v.server_port == 5060);
            // TIME_LAST 2016-08-16T08:27:42.061690 (TIME_FIRST is the REGISTER's, 2.119 ms earlier).
            CHECK(sipdetect::micros_of(r.time) == 1471336062061690);
        }
    }
    CHECK(responses == 16);
    CHECK(ok_for_6001 == 1);
    // The first line: an INVITE to 195.113.172.38:5061, at 2016-08-16T08:27:28.605282.
    CHECK(records.front().method == sip_method::invite);
    CHECK(records.front().dst == ip_address::parse("195.113.172.38"));
    CHECK(records.front().dst_port == 5061);
    CHECK(sipdetect::micros_of(records.front().time) == 1471336048605282);

    // File order is not time order; the time-ordered stream fixes that.
    CHECK_FALSE(std::is_sorted(records.begin(), records.end(),
                               [](const auto& a, const auto& b) { return a.time < b.time; }));
    const streamed sorted = read_stream({csv});
    REQUIRE(sorted.records.size() == 40);
    CHECK(sorted.counters.records == 40);
    CHECK(sorted.out_of_order == 0);
    CHECK(std::is_sorted(sorted.records.begin(), sorted.records.end(),
                         [](const auto& a, const auto& b) { return a.time < b.time; }));
}

TEST_CASE("readers: the ipfixprobe pcap and CSV describe the same SIP messages") {
    SIPDETECT_REQUIRE_SHARED_FILE(pcap, "ipfixprobe/sip.pcap");
    SIPDETECT_REQUIRE_SHARED_FILE(csv, "ipfixprobe/sip.unirec.csv");
    using tuple = std::tuple<ip_address, ip_address, sip_method, std::uint16_t, std::string>;
    auto tuples = [](const std::vector<input_record>& records) {
        std::multiset<tuple> out;
        for (const auto& r : records) {
            const auto v = sipdetect::detail::make_view(r);
            out.emplace(v.client, v.server, v.method, v.status, std::string(v.to_uri));
        }
        return out;
    };
    reader_counters pc;
    const auto from_pcap = read_all(pcap, &pc);
    const auto from_csv = read_all(csv);
    CHECK(pc.packets == 50);
    CHECK(pc.sip_messages == 40);
    CHECK(pc.icmp_skipped == 5); // port unreachable quoting svmap's INVITEs
    CHECK(pc.malformed == 0);
    CHECK(from_pcap.size() == 40);
    CHECK(tuples(from_pcap) == tuples(from_csv));
    // Times: the reader takes TIME_LAST, the time of the message's own packet
    // (ipfixprobe_reader.cpp, "Time trap"). Checked with tshark for every one
    // of the 40 records, requests and responses: TIME_LAST equals the packet's
    // frame.time_epoch to the microsecond. TIME_FIRST does so only for the 9
    // INVITEs, each of which opens its own flow; for the 16 responses it is
    // the request's time (0.6 to 9.9 ms early), for the 15 REGISTERs that of
    // an earlier packet on the same 5-tuple (5 to 6 ms early, and 6.6 s and
    // 6.7 s for two of them). So the time joins the key, and both sides hold
    // the same 40 (time, message) pairs. The brute-force REGISTERs to 6001
    // share From, CSeq and To; only the time tells them apart, and the
    // multisets match with it.
    using timed = std::tuple<std::int64_t, ip_address, ip_address, sip_method, std::uint16_t, std::string, std::string>;
    auto timed_tuples = [](const std::vector<input_record>& records) {
        std::multiset<timed> out;
        for (const auto& r : records) {
            const auto v = sipdetect::detail::make_view(r);
            out.emplace(sipdetect::micros_of(r.time), v.client, v.server, v.method, v.status, std::string(v.to_uri),
                        r.from_uri);
        }
        return out;
    };
    CHECK(timed_tuples(from_pcap) == timed_tuples(from_csv));
    // Spot checks: the INVITE of the first line, and the 200 OK whose TIME_FIRST is 2.119 ms early.
    const auto at = [&](std::int64_t micros) {
        return std::count_if(from_pcap.begin(), from_pcap.end(),
                             [&](const auto& r) { return sipdetect::micros_of(r.time) == micros; });
    };
    CHECK(at(1471336048605282) == 1);
    CHECK(at(1471336062061690) == 1);
    CHECK(at(1471336062059571) == 1); // the REGISTER the 200 answers
}

TEST_CASE("readers: generated ipfixprobe CSV, columns by name, quoting, template first or last") {
    temp_dir dir;
    const std::string tmpl =
        "ipaddr DST_IP,ipaddr SRC_IP,uint16 DST_PORT,uint16 SRC_PORT,time TIME_FIRST,uint32 PACKETS,"
        "uint32 PACKETS_REV,uint16 SIP_MSG_TYPE,uint16 SIP_STATUS_CODE,string SIP_CALLED_PARTY,"
        "string SIP_CALLING_PARTY,string SIP_CALL_ID,string SIP_CSEQ,string SIP_REQUEST_URI,string SIP_USER_AGENT,"
        "string SIP_VIA";
    const std::string body =
        "10.0.0.2,10.0.0.1,5060,5061,2020-01-01T00:00:01.5,1,0,6,0,\"sip:bob@10.0.0.2\",\"sip:a@b\",\"cid,1\","
        "\"1 OPTIONS\",\"sip:bob@10.0.0.2\",\"UA \"\"x\"\", 2\",\"SIP/2.0/UDP 10.0.0.1:5061;branch=1;SIP/2.0/UDP "
        "10.0.0.9;branch=2\"\n"
        "10.0.0.2,10.0.0.1,5060,5061,2020-01-01T00:00:01.000001,0,1,99,404,\"sip:bob@10.0.0.2\",\"sip:a@b\","
        "\"cid,1\",\"1 OPTIONS\",\"\",\"\",\"SIP/2.0/UDP 10.0.0.1:5061\"\n"
        "2001:db8::2,2001:db8::1,5060,5061,2020-01-01T00:00:02,3,0,0,0,,,,,,,\n";
    for (const bool first : {false, true}) {
        const auto p = dir.write(first ? "first.csv" : "last.csv", first ? tmpl + "\n" + body : body + tmpl + "\n");
        REQUIRE(detect_format(p) == input_format::ipfixprobe_csv);
        reader_counters c;
        const auto records = read_all(p, &c);
        REQUIRE(records.size() == 2);
        CHECK(c.skipped_records == 1); // SIP_MSG_TYPE 0: a flow without SIP
        const auto& req = records[0];
        CHECK(req.src == ip_address::parse("10.0.0.1"));
        CHECK(req.dst == ip_address::parse("10.0.0.2"));
        CHECK(req.src_port == 5061);
        CHECK(req.dst_port == 5060);
        CHECK(req.method == sip_method::options);
        CHECK(req.status == 0);
        CHECK(req.sent_by == sipdetect::sender::source);
        CHECK(req.user_agent == "UA \"x\", 2"); // a comma and quotes inside quotes
        CHECK(req.via_count == 2);
        CHECK(req.from_uri == "sip:a@b");
        CHECK(req.to_uri == "sip:bob@10.0.0.2");
        CHECK(req.request_uri == "sip:bob@10.0.0.2");
        CHECK(sipdetect::micros_of(req.time) == 1577836801'500000);
        const auto& resp = records[1];
        CHECK(resp.status == 404);
        CHECK(resp.method == sip_method::options);
        CHECK(resp.sent_by == sipdetect::sender::destination);
        CHECK(resp.via_count == 1);
        CHECK(sipdetect::micros_of(resp.time) == 1577836801'000001);
        const auto v = sipdetect::detail::make_view(resp);
        CHECK(v.client == ip_address::parse("10.0.0.1"));
        CHECK(v.server == ip_address::parse("10.0.0.2"));
    }
}

TEST_CASE("readers: ipfixprobe record time is TIME_LAST, else TIME_FIRST") {
    temp_dir dir;
    SECTION("TIME_LAST wins whatever the column order") {
        const std::string first = "2020-01-01T00:00:01.5", last = "2020-01-01T00:00:07.25";
        for (const bool last_first : {false, true}) {
            const std::string tmpl = "ipaddr DST_IP,ipaddr SRC_IP,uint16 DST_PORT," +
                                     std::string(last_first ? "time TIME_LAST,time TIME_FIRST"
                                                            : "time TIME_FIRST,time TIME_LAST") +
                                     ",uint16 SIP_MSG_TYPE\n";
            const std::string line =
                "10.0.0.2,10.0.0.1,5060," + (last_first ? last + "," + first : first + "," + last) + ",6\n";
            const auto records = read_all(dir.write("last.csv", line + tmpl));
            REQUIRE(records.size() == 1);
            CHECK(sipdetect::micros_of(records[0].time) == 1577836807'250000);
        }
    }
    SECTION("without TIME_LAST: TIME_FIRST") {
        const auto records = read_all(
            dir.write("first.csv", "10.0.0.2,10.0.0.1,5060,2020-01-01T00:00:01.5,6\n"
                                   "ipaddr DST_IP,ipaddr SRC_IP,uint16 DST_PORT,time TIME_FIRST,uint16 SIP_MSG_TYPE\n"));
        REQUIRE(records.size() == 1);
        CHECK(sipdetect::micros_of(records[0].time) == 1577836801'500000);
    }
    SECTION("a bad TIME_LAST is an error even when TIME_FIRST is fine; no time column at all is one too") {
        auto [records, err] = read_until_error(
            dir.write("bad.csv", "10.0.0.2,10.0.0.1,5060,2020-01-01T00:00:01.5,later,6\n"
                                 "ipaddr DST_IP,ipaddr SRC_IP,uint16 DST_PORT,time TIME_FIRST,time TIME_LAST,"
                                 "uint16 SIP_MSG_TYPE\n"));
        CHECK(records.empty());
        CHECK(contains(err, "bad.csv: line 1: bad TIME_LAST \"later\""));
        std::tie(records, err) = read_until_error(dir.write(
            "notime.csv", "10.0.0.2,10.0.0.1,5060,6\nipaddr DST_IP,ipaddr SRC_IP,uint16 DST_PORT,uint16 SIP_MSG_TYPE\n"));
        CHECK(contains(err, "notime.csv: template (last line): template has no TIME_LAST or TIME_FIRST column"));
    }
}

// ===========================================================================
// pcap: ICMP, link types, IP and transport variants

TEST_CASE("readers: SIP quoted in ICMP and ICMPv6 errors is not traffic") {
    temp_dir dir;
    const std::string quoted = ipv4(17, client4, server4, udp(5060, 5062, sip_options()));
    std::string icmp;
    put8(icmp, 3); // destination unreachable
    put8(icmp, 3); // port unreachable
    put16be(icmp, 0);
    put32be(icmp, 0);
    icmp += quoted;
    const std::string quoted6 =
        ipv6(17, v6("2001:db8::1"), v6("2001:db8::2"), udp(5060, 5062, sip_options()));
    std::string icmp6;
    put8(icmp6, 1); // destination unreachable
    put8(icmp6, 4); // port unreachable
    put16be(icmp6, 0);
    put32be(icmp6, 0);
    icmp6 += quoted6;
    const auto p = dir.write("icmp.pcap", pcap_file(1)
                                              .add(ether(0x0800, ipv4(1, server4, client4, icmp)))
                                              .add(ether(0x86dd, ipv6(58, v6("2001:db8::2"), v6("2001:db8::1"), icmp6)))
                                              .add(ether(0x0800, quoted), 1700000000, 250000)
                                              .bytes());
    reader_counters c;
    const auto records = read_all(p, &c);
    CHECK(c.packets == 3);
    CHECK(c.icmp_skipped == 2);
    CHECK(c.sip_messages == 1);
    REQUIRE(records.size() == 1);
    check_options(records[0], ip_address::parse("192.0.2.1"), ip_address::parse("192.0.2.2"));
}

TEST_CASE("readers: pcap link types (Ethernet VLAN/QinQ/PPPoE, SLL, SLL2, raw IPv4/IPv6, loopback)") {
    temp_dir dir;
    const std::string sip = udp(5060, 5062, sip_options());
    const std::string ip4 = ipv4(17, client4, server4, sip);
    const ip_address c4 = ip_address::parse("192.0.2.1"), s4 = ip_address::parse("192.0.2.2");
    const ip_address c6 = ip_address::parse("2001:db8::1"), s6 = ip_address::parse("2001:db8::2");

    // IPv6 with hop-by-hop, destination options and an atomic fragment header before UDP.
    std::string ext;
    put8(ext, 60); // hop-by-hop -> destination options
    put8(ext, 0);
    put8(ext, 1); // PadN
    put8(ext, 4);
    put32be(ext, 0);
    put8(ext, 44); // destination options -> fragment
    put8(ext, 0);
    put8(ext, 1);
    put8(ext, 4);
    put32be(ext, 0);
    put8(ext, 17); // fragment -> UDP, offset 0, no more fragments
    put8(ext, 0);
    put16be(ext, 0);
    put32be(ext, 0xabcdef01u);
    const std::string ip6 = ipv6(0, v6("2001:db8::1"), v6("2001:db8::2"), ext + sip);

    std::string pppoe;
    put8(pppoe, 0x11);
    put8(pppoe, 0);
    put16be(pppoe, 0x1234);
    put16be(pppoe, static_cast<unsigned>(ip4.size() + 2));
    put16be(pppoe, 0x0021);
    pppoe += ip4;


    struct variant {
        const char* name;
        std::uint32_t linktype;
        std::string frame;
        bool is_v6;
    };
    const std::vector<variant> variants{
        {"ethernet", 1, ether(0x0800, ip4), false},
        {"ethernet-802.1Q", 1, ether(0x0800, ip4, {0x8100}), false},
        {"ethernet-QinQ", 1, ether(0x0800, ip4, {0x88a8, 0x8100}), false},
        {"ethernet-ipv6-ext-headers", 1, ether(0x86dd, ip6), true},
        {"ethernet-pppoe", 1, ether(0x8864, pppoe), false},
        {"ethernet-padding", 1, ether(0x0800, ip4 + std::string(20, '\0')), false},
        {"sll", 113, sll(0x0800, ip4), false},
        {"sll-vlan", 113, sll(0x8100, std::string("\x00\x64\x86\xdd", 4) + ip6), true},
        {"sll2", 276, sll2(0x0800, ip4), false},
        {"sll2-ipv6", 276, sll2(0x86dd, ip6), true},
        {"raw", 101, ip4, false},
        {"raw-ipv6", 101, ip6, true},
        {"linktype-ipv4", 228, ip4, false},
        {"linktype-ipv6", 229, ip6, true},
        {"null-le-inet", 0, null_frame(2, true, ip4), false},
        {"null-be-inet", 0, null_frame(2, false, ip4), false},
        {"null-le-inet6-darwin", 0, null_frame(30, true, ip6), true},
        {"null-le-inet6-freebsd", 0, null_frame(28, true, ip6), true},
        {"loop-inet6-openbsd", 108, null_frame(24, false, ip6), true},
    };
    for (const auto& v : variants) {
        INFO(v.name);
        const auto p = dir.write(std::string(v.name) + ".pcap", pcap_file(v.linktype).add(v.frame, 1700000000, 250000).bytes());
        reader_counters c;
        const auto records = read_all(p, &c);
        CHECK(c.packets == 1);
        CHECK(c.truncated_packets == 0);
        REQUIRE(records.size() == 1);
        check_options(records[0], v.is_v6 ? c6 : c4, v.is_v6 ? s6 : s4);
    }

    // Frames that carry no IP.
    const auto arp = dir.write("arp.pcap", pcap_file(1).add(ether(0x0806, std::string(28, '\0'))).bytes());
    reader_counters c;
    CHECK(read_all(arp, &c).empty());
    CHECK(c.non_ip == 1);

    // An unsupported link type is refused up front.
    const auto wifi = dir.write("wifi.pcap", pcap_file(105).add(std::string(40, '\0')).bytes());
    const std::string err = input_error_of([&] { (void)open_reader(wifi); });
    CHECK(contains(err, "wifi.pcap"));
    CHECK(contains(err, "unsupported link type 105"));
}

TEST_CASE("readers: pcap IPv4 options, fragments, TCP segments, timestamps and byte order") {
    temp_dir dir;
    const std::string sip = sip_options();
    std::string options;
    put8(options, 0x94); // router alert
    put8(options, 4);
    put16be(options, 0);

    SECTION("IPv4 options and non-first fragments") {
        std::string ip6_frag_ext;
        put8(ip6_frag_ext, 17);
        put8(ip6_frag_ext, 0);
        put16be(ip6_frag_ext, 185 << 3); // offset 1480, a non-first fragment
        put32be(ip6_frag_ext, 7);
        const auto p = dir.write("frag.pcap",
                                 pcap_file(1)
                                     .add(ether(0x0800, ipv4(17, client4, server4, udp(5060, 5062, sip), options)),
                                          1700000000, 250000)
                                     .add(ether(0x0800, ipv4(17, client4, server4, "tail of a datagram", {}, 185)))
                                     .add(ether(0x86dd, ipv6(44, v6("2001:db8::1"), v6("2001:db8::2"),
                                                             ip6_frag_ext + "tail")))
                                     .bytes());
        reader_counters c;
        const auto records = read_all(p, &c);
        REQUIRE(records.size() == 1);
        check_options(records[0], ip_address::parse("192.0.2.1"), ip_address::parse("192.0.2.2"));
        CHECK(c.fragments_skipped == 2);
    }

    SECTION("each SIP field cut short counts once") {
        std::string sip_cut = sip_options(std::string(300, 'u'));
        const std::string agent = "User-Agent: friendly-scanner";
        sip_cut.replace(sip_cut.find(agent), agent.size(), "User-Agent: " + std::string(300, 'a'));
        const auto p = dir.write("cut.pcap",
                                 pcap_file(1).add(ether(0x0800, ipv4(17, client4, server4, udp(5060, 5062, sip_cut))))
                                     .bytes());
        reader_counters c;
        REQUIRE(read_all(p, &c).size() == 1);
        CHECK(c.truncated_fields == 2); // From and User-Agent, not the sum of their bits
    }

    SECTION("TCP: several messages in one segment, continuation segments and bare ACKs") {
        const auto p = dir.write(
            "tcp.pcap",
            pcap_file(1)
                .add(ether(0x0800, ipv4(6, client4, server4, tcp(5060, 5062, sip + sip_options("cid-2")))))
                .add(ether(0x0800, ipv4(6, server4, client4, tcp(5062, 5060, sip_200()))))
                .add(ether(0x0800, ipv4(6, client4, server4, tcp(5060, 5062, "a=rtpmap:0 PCMU/8000\r\n"))))
                .add(ether(0x0800, ipv4(6, client4, server4, tcp(5060, 5062, ""))))
                .bytes());
        reader_counters c;
        const auto records = read_all(p, &c);
        REQUIRE(records.size() == 3);
        CHECK(from_user_of(records[0]) == "100");
        CHECK(from_user_of(records[1]) == "cid-2");
        CHECK(records[1].method == sip_method::options);
        CHECK(records[2].status == 200);
        CHECK(records[2].method == sip_method::options); // the CSeq method
        CHECK(records[2].request_uri.empty());
        CHECK(records[2].src == ip_address::parse("192.0.2.2"));
        CHECK(records[2].sent_by == sipdetect::sender::source);
        CHECK(sipdetect::detail::make_view(records[2]).client == ip_address::parse("192.0.2.1"));
        CHECK(c.sip_messages == 3);
        CHECK(c.not_sip == 1);
        CHECK(c.empty_payloads == 1);
    }

    SECTION("nanosecond and big-endian pcaps") {
        const std::string frame = ether(0x0800, ipv4(17, client4, server4, udp(5060, 5062, sip)));
        const auto ns = dir.write("ns.pcap", pcap_file(1, true).add(frame, 1700000000, 250000999).bytes());
        const auto be = dir.write("be.pcap", pcap_file(1, false, true).add(frame, 1700000000, 250000).bytes());
        const auto be_ns = dir.write("bens.pcap", pcap_file(1, true, true).add(frame, 1700000000, 250000001).bytes());
        for (const auto& p : {ns, be, be_ns}) {
            INFO(p.string());
            const auto records = read_all(p);
            REQUIRE(records.size() == 1);
            check_options(records[0], ip_address::parse("192.0.2.1"), ip_address::parse("192.0.2.2"));
        }
    }

    SECTION("pcapng, with a timestamp beyond the microsecond range") {
        const std::string frame = ether(0x0800, ipv4(17, client4, server4, udp(5060, 5062, sip)));
        std::string ng;
        put32le(ng, 0x0A0D0D0Au); // section header block
        put32le(ng, 28);
        put32le(ng, 0x1A2B3C4Du);
        put16le(ng, 1);
        put16le(ng, 0);
        put32le(ng, 0xffffffffu);
        put32le(ng, 0xffffffffu);
        put32le(ng, 28);
        put32le(ng, 1); // interface description block: Ethernet, microseconds
        put32le(ng, 20);
        put16le(ng, 1);
        put16le(ng, 0);
        put32le(ng, 0);
        put32le(ng, 20);
        auto epb = [&](std::uint64_t micros) {
            std::string data = frame;
            data.resize((frame.size() + 3) / 4 * 4, '\0');
            const auto len = static_cast<std::uint32_t>(32 + data.size());
            put32le(ng, 6);
            put32le(ng, len);
            put32le(ng, 0);
            put32le(ng, static_cast<std::uint32_t>(micros >> 32));
            put32le(ng, static_cast<std::uint32_t>(micros & 0xffffffffu));
            put32le(ng, static_cast<std::uint32_t>(frame.size()));
            put32le(ng, static_cast<std::uint32_t>(frame.size()));
            ng += data;
            put32le(ng, len);
        };
        epb(1700000000'250000);
        epb(0xffffffffffffffffull);
        const auto p = dir.write("ts.pcapng", ng);
        REQUIRE(detect_format(p) == input_format::pcap);
        reader_counters c;
        const auto records = read_all(p, &c);
        REQUIRE(records.size() == 2);
        check_options(records[0], ip_address::parse("192.0.2.1"), ip_address::parse("192.0.2.2"));
        CHECK(sipdetect::micros_of(records[1].time) == 0);
        CHECK(c.bad_timestamps == 1);
    }

    SECTION("not SIP, malformed SIP and cut headers are counted") {
        const auto p = dir.write(
            "junk.pcap",
            pcap_file(1)
                .add(ether(0x0800, ipv4(17, client4, server4, udp(5060, 5062, "GET / HTTP/1.1\r\n\r\n"))))
                .add(ether(0x0800, ipv4(17, client4, server4, udp(5060, 5062, "OPTIONS sip:x SIP/3.0\r\n\r\n"))))
                .add(ether(0x0800, ipv4(17, client4, server4, "\x00\x01")))
                .add(ether(0x0800, std::string("\x45\x00", 2)))
                .add(ether(0x0800, ipv4(47, client4, server4, "gre")))
                .add(std::string(6, '\0'))
                .bytes());
        reader_counters c;
        CHECK(read_all(p, &c).empty());
        CHECK(c.packets == 6);
        CHECK(c.not_sip == 1);
        CHECK(c.malformed == 1);
        CHECK(c.truncated_packets == 3);
        CHECK(c.other_transport == 1);
    }
}

TEST_CASE("readers: shared captures with pcapng, loopback, raw IPv4, PPPoE and TCP") {
    SIPDETECT_REQUIRE_SHARED_FILE(pcapng, "ndpi/sip_hello.pcapng");
    SIPDETECT_REQUIRE_SHARED_FILE(null_tcp, "suricata-verify/sip-body-large.pcap");
    SIPDETECT_REQUIRE_SHARED_FILE(raw4, "zeek/sip-long-request-response-paths.pcap");
    SIPDETECT_REQUIRE_SHARED_FILE(pppoe, "sipnab/DTMFsipinfo.pcap");
    SIPDETECT_REQUIRE_SHARED_FILE(tcp, "sipnab/sip-over-tcp.pcap");
    SIPDETECT_REQUIRE_SHARED_FILE(auth, "sipnab/sip-auth-failure.pcapng");

    reader_counters c;
    CHECK(read_all(pcapng, &c).size() == 8); // tshark: 8 SIP messages among 30 packets
    CHECK(c.packets == 30);
    CHECK(read_all(auth).size() == 8);

    const auto body = read_all(null_tcp, &c); // DLT_NULL, SIP over TCP with a large body
    REQUIRE(body.size() == 2);
    CHECK(body[0].method == sip_method::invite);
    CHECK(body[1].status == 100);

    const auto paths = read_all(raw4); // LINKTYPE_IPV4, 10 Via headers
    REQUIRE(paths.size() == 2);
    CHECK(paths[0].via_count == 10);
    CHECK(paths[0].method == sip_method::options);
    CHECK(paths[1].status == 200);

    CHECK(read_all(pppoe).size() == 32); // Ethernet + PPPoE session
    const auto over_tcp = read_all(tcp);
    CHECK(over_tcp.size() == 7);
}

TEST_CASE("readers: every shared capture reads to its end without error") {
    SIPDETECT_REQUIRE_SHARED_FILE(root, "");
    std::size_t files = 0;
    for (const auto& entry : std::filesystem::recursive_directory_iterator(root)) {
        const auto ext = entry.path().extension().string();
        if (ext != ".pcap" && ext != ".pcapng" && ext != ".cap") continue;
        INFO(entry.path().string());
        ++files;
        auto reader = open_reader(entry.path());
        input_record r;
        std::uint64_t n = 0;
        while (reader->next(r)) {
            ++n;
            CHECK((r.status == 0 || (r.status >= 100 && r.status <= 699)));
        }
        CHECK(reader->counters().records == n);
        CHECK(reader->counters().packets > 0);
    }
    CHECK(files >= 20);
}

// ===========================================================================
// pcapng: interfaces of different link types and time resolutions

namespace {
std::string ipv4_options_packet(const std::string& from_user) {
    return ipv4(17, client4, server4, udp(5060, 5062, sip_options(from_user)));
}
std::int64_t micros_at(std::int64_t seconds, std::int64_t micros) { return seconds * 1'000'000 + micros; }
} // namespace

TEST_CASE("readers: pcapng: each interface's link type and time resolution, sections in both byte orders") {
    temp_dir dir;
    pcapng_file ng;
    ng.interface(1)                                                    // 0: Ethernet, microseconds
        .interface(101, ng.tsresol(9))                                 // 1: raw IP, nanoseconds
        .interface(276, ng.tsresol(0x80 | 20) + ng.tsoffset(100))      // 2: SLL2, 2^-20 s, 100 s later
        .interface(105)                                                // 3: 802.11, not decoded
        .interface(0, ng.tsresol(0x80 | 60) + ng.tsoffset(1700000000)) // 4: BSD null, 2^-60 s
        .packet(0, 1700000000'250000, ether(0x0800, ipv4_options_packet("eth"), {0x8100}))
        .block(4, std::string(12, '\0'))    // name resolution: skipped
        .block(5, std::string(16, '\x01'))  // interface statistics: skipped
        .block(0x00000BADu, "custom block") // custom: skipped
        .packet(1, 1700000001'123456789, ipv4_options_packet("raw"))
        .packet(2, (std::uint64_t{1700000002} << 20) | (std::uint64_t{1} << 19),
                sll2(0x0800, ipv4_options_packet("sll2")))
        .packet(3, 0, std::string(40, '\0'))
        .packet(4, std::uint64_t{3} << 59, null_frame(2, true, ipv4_options_packet("null")))
        .packet(4, (std::uint64_t{1} << 60) - 1, null_frame(2, true, ipv4_options_packet("null-max")))
        .obsolete_packet(0, 1700000003'000001, ether(0x0800, ipv4_options_packet("pb")))
        .simple_packet(ether(0x0800, ipv4_options_packet("spb")),
                       static_cast<std::uint32_t>(ether(0x0800, ipv4_options_packet("spb")).size()));
    // A big-endian section: its interface 0 counts milliseconds and captures 34 bytes of a simple packet.
    const std::string cut = ether(0x0800, ipv4_options_packet("spb-cut"));
    ng.section(true)
        .interface(1, ng.tsresol(3), 34)
        .packet(0, 1700000005'250, ether(0x0800, ipv4_options_packet("be")))
        .simple_packet(cut, static_cast<std::uint32_t>(cut.size()));
    // A third section, little-endian again: interface 0 is now raw IPv4.
    ng.section(false).interface(228).packet(0, 1700000006'000000, ipv4_options_packet("v4"));

    const auto p = dir.write("mixed.pcapng", ng.bytes());
    REQUIRE(detect_format(p) == input_format::pcap);
    reader_counters c;
    const auto records = read_all(p, &c);
    const std::vector<std::pair<std::string, std::int64_t>> expected{
        {"eth", micros_at(1700000000, 250000)},      {"raw", micros_at(1700000001, 123456)},
        {"sll2", micros_at(1700000102, 500000)},     {"null", micros_at(1700000001, 500000)},
        {"null-max", micros_at(1700000000, 999999)}, {"pb", micros_at(1700000003, 1)},
        {"spb", micros_at(1700000003, 1)}, // no timestamp: the time of the packet before it
        {"be", micros_at(1700000005, 250000)},       {"v4", micros_at(1700000006, 0)},
    };
    REQUIRE(records.size() == expected.size());
    for (std::size_t i = 0; i < expected.size(); ++i) {
        INFO(expected[i].first);
        CHECK(from_user_of(records[i]) == expected[i].first);
        CHECK(sipdetect::micros_of(records[i].time) == expected[i].second);
        CHECK(records[i].src == ip_address::parse("192.0.2.1"));
        CHECK(records[i].dst == ip_address::parse("192.0.2.2"));
        CHECK(records[i].method == sip_method::options);
        CHECK(records[i].via_count == 2);
    }
    CHECK(c.packets == 11);
    CHECK(c.sip_messages == 9);
    CHECK(c.records == 9);
    CHECK(c.unsupported_link_packets == 1); // the 802.11 packet
    CHECK(c.truncated_packets == 1);        // the simple packet cut to the snap length of 34 bytes
    CHECK(c.bad_timestamps == 0);
}

TEST_CASE("readers: pcapng timestamps: offsets before the epoch, out of range, the finest resolutions") {
    temp_dir dir;
    const std::string frame = ipv4_options_packet("t");
    pcapng_file ng;
    ng.interface(101, ng.tsoffset(-10))                                        // 0: 9.75 s before the epoch
        .interface(101, ng.tsoffset(std::numeric_limits<std::int64_t>::min())) // 1: an absurd offset
        .interface(101, ng.tsresol(0))                                         // 2: whole seconds
        .interface(101, ng.tsresol(19))                                        // 3: 10^-19 s, the finest decimal
        .interface(101, ng.tsresol(0x80 | 63))                                 // 4: 2^-63 s, the finest binary
        .interface(101, ng.tsoffset(std::numeric_limits<std::int64_t>::max()))
        .packet(0, 250000, frame)
        .packet(1, 1700000000'000000, frame)
        .packet(2, 1700000000, frame)
        .packet(2, ~std::uint64_t{0}, frame) // 2^64 - 1 seconds
        .packet(3, 15'000000000'000000000u, frame)
        .packet(4, (std::uint64_t{1} << 63) + (std::uint64_t{1} << 62), frame)
        .packet(5, 0, frame);
    reader_counters c;
    const auto records = read_all(dir.write("times.pcapng", ng.bytes()), &c);
    REQUIRE(records.size() == 7);
    CHECK(sipdetect::micros_of(records[0].time) == -9'750'000);
    CHECK(sipdetect::micros_of(records[1].time) == 0); // out of range: the epoch, counted
    CHECK(sipdetect::micros_of(records[2].time) == micros_at(1700000000, 0));
    CHECK(sipdetect::micros_of(records[3].time) == 0);
    CHECK(sipdetect::micros_of(records[4].time) == micros_at(1, 500000));
    CHECK(sipdetect::micros_of(records[5].time) == micros_at(1, 500000));
    CHECK(sipdetect::micros_of(records[6].time) == 0);
    CHECK(c.bad_timestamps == 3);
}

TEST_CASE("readers: hostile pcapng files give an input_error naming the block's offset") {
    temp_dir dir;
    const std::string frame = ether(0x0800, ipv4_options_packet("ok"));
    // A good start: section header (28 bytes at 0), interface (20 bytes at 28), one packet at 48.
    pcapng_file good;
    good.interface(1).packet(0, 1700000000'250000, frame);
    const std::size_t next_block = good.bytes().size();
    const std::string at_next = "offset " + std::to_string(next_block) + ": ";

    struct hostile {
        const char* name;
        std::string bytes;
        std::string where; // the error names this place
        std::string what;  // and says this
    };
    auto after_good = [&](const std::function<void(pcapng_file&)>& add) {
        pcapng_file f = good;
        add(f);
        return f.bytes();
    };
    std::vector<hostile> cases{
        {"length not a multiple of 4",
         after_good([](pcapng_file& f) { f.block_with_lengths(6, std::string(22, 'x'), 34, 34); }), at_next,
         "block length 34 is not a multiple of 4"},
        {"length below the block type's minimum",
         after_good([](pcapng_file& f) { f.block_with_lengths(6, std::string(12, '\0'), 24, 24); }),
         "packet 2, enhanced packet block at " + at_next, "block length 24 is below the 32 bytes"},
        {"length below any block's", after_good([](pcapng_file& f) { f.block_with_lengths(4, "", 8, 8); }), at_next,
         "block length 8 is below the 12 bytes"},
        {"length past the end of the file",
         after_good([](pcapng_file& f) { f.block_with_lengths(6, std::string(40, '\0'), 0x7ffffffc, 0x7ffffffc); }),
         at_next, "runs past the end of the file (52 bytes left)"},
        {"a skipped block past the end of the file",
         after_good([](pcapng_file& f) { f.block_with_lengths(0xBAD, "", 0xfffffffc, 0xfffffffc); }), at_next,
         "runs past the end of the file"},
        {"trailing length mismatch",
         after_good([](pcapng_file& f) { f.block_with_lengths(4, std::string(8, '\0'), 20, 24); }), at_next,
         "trailing block length 24 differs from the leading 20"},
        {"a packet of an interface not described", after_good([](pcapng_file& f) { f.packet(3, 0, "x"); }),
         "packet 2, enhanced packet block at " + at_next, "interface 3 is not described: the section has 1 interface"},
        {"a simple packet without an interface", pcapng_file().simple_packet(frame, 64).bytes(),
         "packet 1, simple packet block at offset 28: ",
         "interface 0 is not described: the section has 0 interface description blocks"},
        {"interfaces are per section", after_good([](pcapng_file& f) { f.section(true).packet(0, 0, "x"); }),
         "offset " + std::to_string(next_block + 28) + ": ", "interface 0 is not described"},
        {"captured length beyond the block", after_good([](pcapng_file& f) {
             std::string body;
             for (std::uint32_t v : {0u, 0u, 0u, 1000u, 1000u}) put32le(body, v);
             f.block(6, body + std::string(16, '\0'));
         }),
         at_next, "captured length 1000 runs past its block (16 bytes of data)"},
        {"if_tsresol 10^-100", after_good([](pcapng_file& f) { f.interface(1, f.tsresol(100)); }),
         "interface description block at " + at_next, "interface 1: if_tsresol of 10^-100 s is finer than"},
        {"if_tsresol 2^-127", after_good([](pcapng_file& f) { f.interface(1, f.tsresol(0xff)); }),
         "interface description block at " + at_next, "if_tsresol of 2^-127 s is finer than a 64-bit timestamp"},
        {"if_tsresol of 2 bytes", after_good([](pcapng_file& f) { f.interface(1, f.option(9, "\x06\x06")); }), at_next,
         "if_tsresol of 2 bytes, expected 1"},
        {"if_tsoffset of 4 bytes", after_good([](pcapng_file& f) { f.interface(1, f.option(14, "abcd")); }), at_next,
         "if_tsoffset of 4 bytes, expected 8"},
        {"an option past its block", after_good([](pcapng_file& f) {
             std::string opt;
             put16le(opt, 2);
             put16le(opt, 200);
             f.interface(1, opt + "name");
         }),
         at_next, "option 2 of 200 bytes runs past its block"},
        {"cut inside a block", good.bytes().substr(0, good.bytes().size() - 10),
         "offset 48: ", "runs past the end of the file"},
        {"cut inside a block header", good.bytes() + std::string("\x06\0\0\0\x40", 5), at_next,
         "truncated block header (5 of 8 bytes)"},
        {"a section header with a bad byte-order magic",
         after_good([](pcapng_file& f) { f.block(0x0A0D0D0Au, "\x01\x02\x03\x04" + std::string(12, '\0')); }),
         "section header block at " + at_next, "byte-order magic 0x01020304 is not 0x1a2b3c4d"},
        {"a section of version 2", after_good([](pcapng_file& f) { f.section(false, 2); }), at_next,
         "unsupported pcapng version 2.0"},
        {"a section header cut short", good.bytes().substr(0, 6), "offset 0: ", "truncated section header block"},
        {"a section header cut before its byte-order magic", good.bytes().substr(0, 8),
         "offset 0: ", "truncated section header block: the file ends before its byte-order magic"},
        {"a later section header cut before its byte-order magic", good.bytes() + good.bytes().substr(0, 9), at_next,
         "truncated section header block: the file ends before its byte-order magic"},
    };
    for (const auto& h : cases) {
        INFO(h.name);
        const auto p = dir.write("hostile.pcapng", h.bytes);
        auto [records, err] = read_until_error(p);
        INFO(err);
        CHECK(contains(err, "hostile.pcapng: "));
        CHECK(contains(err, h.where));
        CHECK(contains(err, h.what));
        // What came before the defect stays.
        const bool good_start = h.bytes.size() > next_block && h.bytes.compare(0, next_block, good.bytes()) == 0;
        CHECK(records.size() == (good_start ? 1u : 0u));
    }

    // The interfaces of a section are bounded: 65,536 read, the next one refused.
    pcapng_file many;
    for (int i = 0; i < 65536; ++i) many.interface(1);
    many.packet(65535, 1700000000'250000, frame);
    const std::size_t one_too_many = many.bytes().size();
    many.interface(101);
    const auto [many_records, many_error] = read_until_error(dir.write("many.pcapng", many.bytes()));
    CHECK(many_records.size() == 1);
    CHECK(contains(many_error, "interface description block at offset " + std::to_string(one_too_many) + ": "));
    CHECK(contains(many_error, "more than 65536 interfaces in one section"));

    // A failed reader stays failed.
    auto reader = open_reader(dir.write("stays.pcapng", cases.front().bytes));
    input_record r;
    CHECK(reader->next(r));
    CHECK_THROWS_AS(reader->next(r), input_exception);
    CHECK_THROWS_AS(reader->next(r), input_exception);
}

TEST_CASE("readers: mutated multi-interface pcapng files never crash") {
    temp_dir dir;
    pcapng_file ng;
    ng.interface(1)
        .interface(101, ng.tsresol(9))
        .interface(113, ng.tsresol(0x80 | 40) + ng.tsoffset(-5), 64)
        .packet(0, 1, ether(0x0800, ipv4_options_packet("a")))
        .packet(1, 2, ipv4(6, client4, server4, tcp(5060, 5062, sip_options() + sip_200())))
        .packet(2, 3, sll(0x86dd, ipv6(17, v6("2001:db8::1"), v6("2001:db8::2"), udp(5060, 5062, sip_200()))))
        .simple_packet(ether(0x0800, ipv4_options_packet("b")), 80)
        .section(true)
        .interface(276)
        .obsolete_packet(0, 4, sll2(0x0800, ipv4_options_packet("c")));
    const std::string base = ng.bytes();
    std::mt19937 rng(2025);
    std::size_t failed = 0, read = 0;
    for (int round = 0; round < 600; ++round) {
        std::string m = base;
        const int flips = 1 + static_cast<int>(rng() % 6);
        for (int k = 0; k < flips; ++k)
            m[4 + rng() % (m.size() - 4)] = static_cast<char>(rng() & 0xff); // keep the SHB type
        if (round % 4 == 0) m.resize(4 + rng() % (m.size() - 4));
        const auto p = dir.write("fuzz.pcapng", m);
        try {
            auto reader = open_reader(p, input_format::pcap);
            input_record rec;
            while (reader->next(rec)) CHECK((rec.status == 0 || (rec.status >= 100 && rec.status <= 699)));
            ++read;
        } catch (const input_exception& e) {
            CHECK(contains(e.what(), "fuzz.pcapng"));
            ++failed;
        }
    }
    CHECK(failed + read == 600);
    CHECK(failed > 0);
    CHECK(read > 0);
}

// mergecap and editcap (Debian's wireshark-common) write the pcapng files
// that libpcap refuses: one interface description per input file.
namespace {
bool have_wireshark_tools() {
    return std::system("command -v mergecap >/dev/null 2>&1 && command -v editcap >/dev/null 2>&1") == 0;
}
#define SIPDETECT_REQUIRE_MERGECAP()                                                                                   \
    if (!have_wireshark_tools()) {                                                                                     \
        if (in_ci()) FAIL("mergecap/editcap missing in CI: cmake/install-debian-deps.sh installs them");               \
        WARN("SKIPPED: mergecap/editcap not found (Debian package wireshark-common)");                                 \
        return;                                                                                                        \
    }
void mergecap(const std::filesystem::path& out, const std::vector<std::filesystem::path>& inputs) {
    std::string command = "mergecap -F pcapng -w '" + out.string() + "'";
    for (const auto& p : inputs) command += " '" + p.string() + "'";
    INFO(command);
    REQUIRE(std::system((command + " 2>&1").c_str()) == 0);
}
std::string file_bytes(const std::filesystem::path& p) {
    std::string s(static_cast<std::size_t>(std::filesystem::file_size(p)), '\0');
    std::ifstream(p, std::ios::binary).read(s.data(), static_cast<std::streamsize>(s.size()));
    return s;
}
std::multiset<full_key> keys_of(const std::vector<input_record>& records) {
    std::multiset<full_key> out;
    for (const auto& r : records) out.insert(key_of(r));
    return out;
}
} // namespace

TEST_CASE("readers: mergecap of pcaps of every link type: every packet decoded with its interface's type and time") {
    SIPDETECT_REQUIRE_MERGECAP();
    temp_dir dir;
    const std::string ip6 = ipv6(17, v6("2001:db8::1"), v6("2001:db8::2"), udp(5060, 5062, sip_options("v6")));
    struct input {
        const char* name;
        std::uint32_t linktype;
        std::function<std::string(const std::string&)> frame; // of an IPv4 SIP packet
    };
    const std::vector<input> inputs{
        {"ethernet-vlan", 1, [](const std::string& ip) { return ether(0x0800, ip, {0x8100}); }},
        {"ethernet-qinq", 1,
         [](const std::string& ip) {
             return ether(0x0800, ip, {0x88a8, 0x8100});
         }},
        {"raw", 101, [](const std::string& ip) { return ip; }},
        {"sll", 113, [](const std::string& ip) { return sll(0x0800, ip); }},
        {"sll2", 276, [](const std::string& ip) { return sll2(0x0800, ip); }},
        {"null", 0, [](const std::string& ip) { return null_frame(2, true, ip); }},
        {"loop", 108, [](const std::string& ip) { return null_frame(2, false, ip); }},
        {"ipv4", 228, [](const std::string& ip) { return ip; }},
    };
    std::vector<std::filesystem::path> files;
    std::multiset<full_key> separately;
    std::uint64_t packets = 0;
    for (std::size_t n = 0; n < inputs.size(); ++n) {
        const auto& in = inputs[n];
        // Every other file counts nanoseconds: mergecap gives its interface if_tsresol 9.
        const bool nano = n % 2 == 1;
        pcap_file f(in.linktype, nano);
        for (std::uint32_t k = 0; k <= n % 3; ++k) {
            const std::uint32_t micros = 100000 * k + static_cast<std::uint32_t>(n) * 1000 + 7;
            f.add(in.frame(ipv4_options_packet(std::string(in.name) + "-" + std::to_string(k))), 1700000000 + k,
                  nano ? micros * 1000 + 999 : micros);
            ++packets;
        }
        files.push_back(dir.write(std::string(in.name) + ".pcap", f.bytes()));
        const auto alone = read_all(files.back());
        REQUIRE(alone.size() == n % 3 + 1);
        for (const auto& r : alone) separately.insert(key_of(r));
    }
    files.push_back(dir.write("ipv6.pcap", pcap_file(229).add(ip6, 1700000001, 5).bytes()));
    separately.insert(key_of(read_all(files.back()).at(0)));
    ++packets;
    // 802.11 frames: libpcap's reader refuses the pcap; in the pcapng they are counted and skipped.
    files.push_back(
        dir.write("wifi.pcap", pcap_file(105).add(std::string(40, '\0')).add(std::string(30, '\0')).bytes()));
    packets += 2;

    const auto merged = dir.write("merged.pcapng", ""); // mergecap writes it
    mergecap(merged, files);
    const std::string merged_bytes = file_bytes(merged);
    REQUIRE(merged_bytes.compare(0, 4, "\x0a\x0d\x0d\x0a") == 0);
    // The premise: the nanosecond files' interfaces carry if_tsresol 9 (option 9, length 1, value 9).
    REQUIRE(contains(merged_bytes, std::string("\x09\x00\x01\x00\x09", 5)));

    reader_counters c;
    const auto records = read_all(merged, &c);
    CHECK(keys_of(records) == separately); // the same records, times to the microsecond
    CHECK(records.size() == separately.size());
    CHECK(c.packets == packets);
    CHECK(c.sip_messages == separately.size());
    CHECK(c.unsupported_link_packets == 2);
    CHECK(c.truncated_packets == 0);
    CHECK(c.bad_timestamps == 0);
    std::map<std::string, std::size_t> per_input;
    for (const auto& r : records) {
        const std::string user = from_user_of(r);
        per_input[user.substr(0, user.rfind('-'))] += 1;
    }
    for (std::size_t n = 0; n < inputs.size(); ++n) CHECK(per_input[inputs[n].name] == n % 3 + 1);
    CHECK(per_input["v6"] == 1);
}

TEST_CASE("readers: mergecap of real captures of different link types reads as the captures do alone") {
    SIPDETECT_REQUIRE_MERGECAP();
    SIPDETECT_REQUIRE_SHARED_FILE(null_tcp, "suricata-verify/sip-body-large.pcap");   // BSD null
    SIPDETECT_REQUIRE_SHARED_FILE(raw4, "zeek/sip-long-request-response-paths.pcap"); // LINKTYPE_IPV4
    SIPDETECT_REQUIRE_SHARED_FILE(ethernet_ng, "ndpi/sip_hello.pcapng");              // Ethernet, pcapng
    SIPDETECT_REQUIRE_SHARED_FILE(scan, "ipfixprobe/sip.pcap");                       // Ethernet
    const std::filesystem::path demo = std::filesystem::path(SIPDETECT_SOURCE_DIR) / "examples/data/demo.pcap";
    temp_dir dir;
    const std::vector<std::filesystem::path> inputs{demo, null_tcp, raw4, ethernet_ng, scan};
    std::multiset<full_key> separately;
    reader_counters alone_total;
    for (const auto& p : inputs) {
        reader_counters c;
        for (const auto& r : read_all(p, &c)) separately.insert(key_of(r));
        alone_total += c;
    }
    const auto merged = dir.write("real.pcapng", "");
    mergecap(merged, inputs);
    reader_counters c;
    const auto records = read_all(merged, &c);
    CHECK(records.size() == separately.size());
    CHECK(keys_of(records) == separately);
    CHECK(c.packets == alone_total.packets);
    CHECK(c.sip_messages == alone_total.sip_messages);
    CHECK(c.not_sip == alone_total.not_sip);
    CHECK(c.icmp_skipped == alone_total.icmp_skipped);
    CHECK(c.truncated_packets == alone_total.truncated_packets);
    CHECK(c.unsupported_link_packets == 0);
    // Both records of the raw IPv4 capture are there: the OPTIONS with 10 Via headers and its 200.
    CHECK(std::count_if(records.begin(), records.end(), [](const input_record& r) { return r.via_count == 10; }) == 2);
}

// ===========================================================================
// Several files as one stream in record time

namespace {
// A pcap of OPTIONS requests (From users "<name>-<i>") and their 200 answers, at the given seconds.
std::string pcap_at(const std::string& name, const std::vector<std::pair<std::uint32_t, bool>>& times_and_answers) {
    pcap_file f(1);
    for (std::size_t i = 0; i < times_and_answers.size(); ++i) {
        const auto [second, answer] = times_and_answers[i];
        const std::string from_user = name + "-" + std::to_string(i);
        f.add(ether(0x0800, ipv4(17, client4, server4,
                                 udp(answer ? 5062 : 5060, answer ? 5060 : 5062,
                                     answer ? sip_200(from_user) : sip_options(from_user)))),
              1700000000 + second);
    }
    return f.bytes();
}
std::vector<std::string> from_users_of(const std::vector<input_record>& records) {
    std::vector<std::string> out;
    for (const auto& r : records) out.push_back(from_user_of(r) + (r.status ? " 200" : ""));
    return out;
}
} // namespace

TEST_CASE("readers: the time-ordered stream is a stable sort of its files by time, request first") {
    temp_dir dir;
    // a: in time order but for a-2, which is a second late; b: a response and a request at one time.
    const auto a = dir.write("a.pcap", pcap_at("a", {{1, false}, {3, false}, {2, false}, {5, false}}));
    const auto b = dir.write("b.pcap", pcap_at("b", {{0, false}, {3, true}, {3, false}, {6, false}}));
    const std::vector<std::string> sorted{"b-0", "a-0", "a-2", "a-1", "b-2", "b-1 200", "a-3", "b-3"};
    const streamed both = read_stream({a, b});
    CHECK(from_users_of(both.records) == sorted);
    CHECK(both.out_of_order == 0);
    CHECK(both.counters.records == 8);
    CHECK(both.failure.empty());
    // Equal keys keep the order the files are given in.
    CHECK(from_users_of(read_stream({a, a}).records) ==
          std::vector<std::string>{"a-0", "a-0", "a-2", "a-2", "a-1", "a-1", "a-3", "a-3"});

    // A window of one record cannot reorder: a-2 goes out after a-1, counted.
    const streamed narrow = read_stream({a}, 1);
    CHECK(from_users_of(narrow.records) == std::vector<std::string>{"a-0", "a-1", "a-2", "a-3"});
    CHECK(narrow.out_of_order == 1);
    // Two are enough for a record one place late.
    CHECK(read_stream({a}, 2).out_of_order == 0);
    // Every record passed on after a later one counts, also one that follows another such record.
    const auto c = dir.write("c.pcap", pcap_at("c", {{5, false}, {1, false}, {2, false}, {6, false}}));
    const streamed late_pair = read_stream({c}, 1);
    CHECK(from_users_of(late_pair.records) == std::vector<std::string>{"c-0", "c-1", "c-2", "c-3"});
    CHECK(late_pair.out_of_order == 2);

    // About a million records buffered at most, whatever the number of files, but 1,024 each at least.
    CHECK(time_ordered_stream::window_for(1) == 65536);
    CHECK(time_ordered_stream::window_for(16) == 65536);
    CHECK(time_ordered_stream::window_for(64) == 16384);
    CHECK(time_ordered_stream::window_for(5000) == 1024);
    CHECK(time_ordered_stream({a, b}).window() == 65536);
}

TEST_CASE("readers: in the stream a truncated file ends at its defect and the others are read in full") {
    temp_dir dir;
    const std::string full = pcap_at("a", {{1, false}, {2, false}, {3, false}});
    const auto cut = dir.write("cut.pcap", full.substr(0, full.size() - 30));
    const auto whole = dir.write("b.pcap", pcap_at("b", {{0, false}, {4, false}}));
    const streamed s = read_stream({cut, whole});
    CHECK(from_users_of(s.records) == std::vector<std::string>{"b-0", "a-0", "a-1", "b-1"});
    CHECK(contains(s.failure, "cut.pcap: packet 3: "));
    // A file that cannot be opened stops the stream before any record.
    CHECK(contains(input_error_of([&] { time_ordered_stream bad({whole, whole.parent_path() / "missing.pcap"}); }),
                   "missing.pcap"));
}

// ===========================================================================
// Truncated and corrupt captures

TEST_CASE("readers: a truncated pcap keeps the records before the cut, then names the file") {
    temp_dir dir;
    pcap_file f(1);
    for (int i = 0; i < 3; ++i)
        f.add(ether(0x0800, ipv4(17, client4, server4, udp(5060, 5062, sip_options("cid-" + std::to_string(i))))));
    const std::string& full = f.bytes();

    const auto cut_data = dir.write("cut-data.pcap", full.substr(0, full.size() - 30));
    auto [records, err] = read_until_error(cut_data);
    CHECK(records.size() == 2);
    CHECK(contains(err, "cut-data.pcap: packet 3: "));
    CHECK(contains(err, "truncated"));

    // Cut inside the third record header.
    const std::size_t third = 24 + 2 * ((full.size() - 24) / 3);
    const auto cut_header = dir.write("cut-header.pcap", full.substr(0, third + 5));
    std::tie(records, err) = read_until_error(cut_header);
    CHECK(records.size() == 2);
    CHECK(contains(err, "cut-header.pcap: packet 3: "));

    // The error sticks: next() throws again.
    {
        auto reader = open_reader(cut_data);
        input_record r;
        CHECK(reader->next(r));
        CHECK(reader->next(r));
        CHECK_THROWS_AS(reader->next(r), input_exception);
        CHECK_THROWS_AS(reader->next(r), input_exception);
    }

    // Cut inside the file header.
    const auto cut_file_header = dir.write("cut-file-header.pcap", full.substr(0, 10));
    std::tie(records, err) = read_until_error(cut_file_header);
    CHECK(records.empty());
    CHECK(contains(err, "cut-file-header.pcap"));

    // An impossible captured length.
    std::string huge = pcap_file(1).bytes();
    put32le(huge, 1);
    put32le(huge, 0);
    put32le(huge, 0x7fffffffu);
    put32le(huge, 0x7fffffffu);
    huge += "xxxx";
    std::tie(records, err) = read_until_error(dir.write("huge.pcap", huge));
    CHECK(records.empty());
    CHECK(contains(err, "huge.pcap: packet 1: "));
}

TEST_CASE("readers: a truncated real capture") {
    SIPDETECT_REQUIRE_SHARED_FILE(pcap, "ipfixprobe/sip.pcap");
    temp_dir dir;
    std::string full(static_cast<std::size_t>(std::filesystem::file_size(pcap)), '\0');
    std::ifstream(pcap, std::ios::binary).read(full.data(), static_cast<std::streamsize>(full.size()));
    const auto cut = dir.write("sip-cut.pcap", full.substr(0, full.size() / 2 + 7));
    const auto [records, err] = read_until_error(cut);
    CHECK(!records.empty());
    CHECK(records.size() < 40);
    CHECK(contains(err, "sip-cut.pcap: packet "));
}

TEST_CASE("readers: mutated captures never crash") {
    temp_dir dir;
    pcap_file f(1);
    f.add(ether(0x0800, ipv4(17, client4, server4, udp(5060, 5062, sip_options()))));
    f.add(ether(0x0800, ipv4(6, client4, server4, tcp(5060, 5062, sip_options() + sip_200()))));
    f.add(ether(0x86dd, ipv6(17, v6("2001:db8::1"), v6("2001:db8::2"), udp(5060, 5062, sip_200()))));
    f.add(ether(0x8100, std::string("\x00\x01\x08\x00", 4) + ipv4(17, client4, server4, udp(1, 2, sip_200()))));
    const std::string base = f.bytes();
    std::mt19937 rng(12345);
    for (int round = 0; round < 300; ++round) {
        std::string m = base;
        const int flips = 1 + static_cast<int>(rng() % 8);
        for (int k = 0; k < flips; ++k) {
            // Keep the magic so the file is still read as a pcap.
            const std::size_t at = 4 + rng() % (m.size() - 4);
            m[at] = static_cast<char>(rng() & 0xff);
        }
        if (round % 5 == 0) m.resize(4 + rng() % (m.size() - 4));
        const auto p = dir.write("fuzz.pcap", m);
        try {
            auto reader = open_reader(p, input_format::pcap);
            input_record r;
            while (reader->next(r)) {
            }
        } catch (const input_exception&) {
        }
    }
    SUCCEED("no crash");
}

// ===========================================================================
// Microsoft Network Monitor 2.x

TEST_CASE("readers: the NetMon 2.x capture of the PROTOS c07 SIP test cases") {
    SIPDETECT_REQUIRE_SHARED_FILE(cap, "sipnab/c07-sip-r2.cap");
    REQUIRE(detect_format(cap) == input_format::netmon);
    reader_counters c;
    const auto records = read_all(cap, &c);
    CHECK(c.packets == 39); // capinfos: 39 packets
    CHECK(c.truncated_packets == 0);
    CHECK(c.non_ip == 0);
    CHECK(c.bad_timestamps == 0);
    // `tshark -Y sip` shows 12 SIP frames: 3 and 5-15. Frames 14 and 15 have
    // start lines of 2,076 and 4,126 bytes, beyond the parser's max_start_line
    // (2,048), so they are malformed here: 10 SIP messages.
    CHECK(c.sip_messages == 10);
    CHECK(c.malformed == 22); // frames 14, 15, and 20-39 whose methods are not tokens (tshark: not SIP)
    CHECK(c.not_sip == 7);    // 2 NBNS, frame 4 (no method), frames 16-19 (16,000 bytes without a line end)
    REQUIRE(records.size() == 10);
    // Times: capture start 2005-07-17 15:39:20.502 read as UTC, plus each frame's
    // offset; equal to tshark's frame.time_epoch (run with TZ=UTC) for frames 3, 5-13.
    // The times differ from frame to frame, so they also tell which frame each record is.
    const std::vector<std::int64_t> tshark_times{
        1121614765'123000, 1121614765'406000, 1121614765'542000, 1121614765'687000, 1121614765'838000,
        1121614765'975000, 1121614766'115000, 1121614766'285000, 1121614766'601000, 1121614767'114000};
    const ip_address lo = ip_address::parse("127.0.0.1");
    for (std::size_t i = 0; i < records.size(); ++i) {
        INFO("record " << i);
        const auto& r = records[i];
        CHECK(sipdetect::micros_of(r.time) == tshark_times[i]);
        CHECK(r.src == lo);
        CHECK(r.dst == lo);
        CHECK(r.src_port == 5060);
        CHECK(r.dst_port == 80);
        CHECK(r.status == 0);
        CHECK(r.request_uri == "sip:tori@localhost");
        CHECK(r.from_uri == "sip:ann@localhost");
        CHECK(r.method == (i == 0 ? sip_method::invite : sip_method::unknown)); // then methods of 'a's
    }
}

TEST_CASE("readers: generated NetMon 2.x captures") {
    temp_dir dir;
    const std::string options_frame = ether(0x0800, ipv4(17, client4, server4, udp(5060, 5062, sip_options())));
    const ip_address c4 = ip_address::parse("192.0.2.1"), s4 = ip_address::parse("192.0.2.2");

    SECTION("one SIP OPTIONS over UDP/IPv4/Ethernet") {
        const auto p = dir.write("one.cap", netmon_file().add(options_frame).bytes());
        REQUIRE(detect_format(p) == input_format::netmon);
        reader_counters c;
        const auto records = read_all(p, &c);
        CHECK(c.packets == 1);
        CHECK(c.sip_messages == 1);
        REQUIRE(records.size() == 1);
        check_options(records[0], c4, s4); // 1700000000 s + 250 ms
        CHECK(open_reader(p)->format() == input_format::netmon);
    }
    SECTION("frames with gaps between them, listed out of file order, a frame before the start, raw IP") {
        netmon_file f;
        f.add(ether(0x0806, std::string(28, '\0')), 0)
            .add(options_frame, 250000, 1, 0, 7)
            .add(ether(0x86dd, ipv6(17, v6("2001:db8::2"), v6("2001:db8::1"), udp(5062, 5060, sip_200()))),
                 std::uint64_t(0) - 1'000000, 1, 0, 3); // -1 s: before the nominal start
        std::swap(f.offsets()[0], f.offsets()[2]);
        reader_counters c;
        const auto records = read_all(dir.write("gaps.cap", f.bytes()), &c);
        CHECK(c.packets == 3);
        CHECK(c.non_ip == 1);
        REQUIRE(records.size() == 2);
        CHECK(records[0].status == 200);
        CHECK(records[0].src == ip_address::parse("2001:db8::2"));
        CHECK(sipdetect::micros_of(records[0].time) == 1699999999'000000);
        check_options(records[1], c4, s4);

        const std::string ip_only = ipv4(17, client4, server4, udp(5060, 5062, sip_options()));
        const auto raw = read_all(dir.write("raw.cap", netmon_file(9).add(ip_only).bytes())); // "raw IP frames"
        REQUIRE(raw.size() == 1);
        check_options(raw[0], c4, s4);
    }
    SECTION("version 2.1 and 2.2 trailers: per-frame network types") {
        for (const unsigned minor : {1u, 2u}) {
            INFO("2." << minor);
            const std::string ip_only = ipv4(17, client4, server4, udp(5060, 5062, sip_options()));
            netmon_file f(1, minor);
            f.add(options_frame, 250000, 1)       // Ethernet
                .add(ip_only, 250000, 0xE065)     // converted pcap, LINKTYPE_RAW
                .add(ip_only, 250000, 0xE0E4)     // converted pcap, LINKTYPE_IPV4
                .add(ip_only, 250000, 0xE00C)     // converted pcap, 12: DLT_RAW as some systems wrote it
                .add(std::string(40, 'x'), 0, 0xFFFD) // NetMon network info: metadata
                .add(options_frame, 250000, 6);   // 802.11: not decoded
            reader_counters c;
            const auto records = read_all(dir.write("trailer.cap", f.bytes()), &c);
            CHECK(c.packets == 6);
            CHECK(c.non_ip == 2);
            CHECK(c.truncated_packets == 0);
            REQUIRE(records.size() == 4);
            for (const auto& r : records) check_options(r, c4, s4);
        }
    }
    SECTION("version 2.3: each frame's own UTC time") {
        // FILETIME: 100 ns units since 1601-01-01; 1700000000.25 s after 1970.
        const std::uint64_t filetime = (11644473600ull + 1700000000ull) * 10'000'000ull + 2'500'000ull;
        const auto records =
            read_all(dir.write("v23.cap", netmon_file(1, 3).add(options_frame, 99, 1, filetime).bytes()));
        REQUIRE(records.size() == 1);
        check_options(records[0], c4, s4);
    }
}

TEST_CASE("readers: truncated and corrupt NetMon captures give a clear input_error") {
    temp_dir dir;
    const std::string frame = ether(0x0800, ipv4(17, client4, server4, udp(5060, 5062, sip_options())));
    netmon_file two;
    two.add(frame).add(frame);
    const std::string good = two.bytes();
    REQUIRE(read_all(dir.write("good.cap", good)).size() == 2);

    SECTION("cut in the middle: the frame table at the end is gone") {
        const auto [records, err] = read_until_error(dir.write("cut.cap", good.substr(0, good.size() / 2)));
        CHECK(records.empty());
        CHECK(contains(err, "cut.cap: frame table (8 bytes at offset "));
        CHECK(contains(err, "outside the file"));
    }
    SECTION("cut inside the file header") {
        const auto [records, err] = read_until_error(dir.write("hdr.cap", good.substr(0, 60)));
        CHECK(contains(err, "hdr.cap: truncated file header (60 of 128 bytes)"));
    }
    SECTION("a frame table entry pointing outside the file: the frames before it stay") {
        netmon_file f = two;
        f.offsets()[1] = 0x7ffffff0u;
        const auto p = dir.write("outside.cap", f.bytes());
        const auto [records, err] = read_until_error(p);
        CHECK(records.size() == 1);
        CHECK(contains(err, "outside.cap: frame 2: frame record outside the file"));
        auto reader = open_reader(p); // the error sticks
        input_record r;
        CHECK(reader->next(r));
        CHECK_THROWS_AS(reader->next(r), input_exception);
        CHECK_THROWS_AS(reader->next(r), input_exception);
    }
    SECTION("a frame record over the file header or the frame table") {
        netmon_file f = two;
        f.offsets()[0] = 100;
        auto [records, err] = read_until_error(dir.write("overhdr.cap", f.bytes()));
        CHECK(contains(err, "overhdr.cap: frame 1: frame record overlaps the file header"));
        std::string over_table = good; // frame 2's data runs 4 bytes into the frame table
        const auto caplen = static_cast<std::uint32_t>(frame.size() + 4);
        for (std::size_t k = 0; k < 4; ++k)
            over_table[128 + 16 + frame.size() + 12 + k] = static_cast<char>((caplen >> (8 * k)) & 0xffu);
        std::tie(records, err) = read_until_error(dir.write("overtable.cap", over_table));
        CHECK(records.size() == 1);
        CHECK(contains(err, "overtable.cap: frame 2: frame record overlaps the frame table"));
    }
    SECTION("a captured length beyond the limit, and one beyond the end of the file") {
        std::string huge = good;
        huge[128 + 12] = '\x00';
        huge[128 + 13] = '\x00';
        huge[128 + 14] = '\x00';
        huge[128 + 15] = '\x10'; // 256 MiB
        auto [records, err] = read_until_error(dir.write("huge.cap", huge));
        CHECK(records.empty());
        CHECK(contains(err, "huge.cap: frame 1: captured length 268435456 beyond the limit of 262144 bytes"));
        std::string longer = good;
        const std::size_t second = 128 + 16 + frame.size();
        longer[second + 12] = '\x00';
        longer[second + 13] = '\x10'; // 4 KiB: past the frame table and the end of the file
        longer[second + 14] = '\x00';
        longer[second + 15] = '\x00';
        std::tie(records, err) = read_until_error(dir.write("longer.cap", longer));
        CHECK(records.size() == 1);
        CHECK(contains(err, "longer.cap: frame 2: frame record outside the file"));
    }
    SECTION("overlapping records: the same record twice, or taking turns") {
        netmon_file f = two;
        f.offsets()[1] = f.offsets()[0];
        auto [records, err] = read_until_error(dir.write("twice.cap", f.bytes()));
        CHECK(records.size() == 1);
        CHECK(contains(err, "twice.cap: frame 2: frame record overlaps frame 1"));
        f = two;
        const auto a = f.offsets()[0], b = f.offsets()[1];
        f.offsets() = {a, b, a, b, a, b};
        std::tie(records, err) = read_until_error(dir.write("turns.cap", f.bytes()));
        CHECK(records.size() == 2);
        CHECK(contains(err, "turns.cap: frame 3: frame records overlap"));
    }
    SECTION("header fields: network type, version, frame table length") {
        auto [records, err] = read_until_error(dir.write("wifi.cap", netmon_file(6).add(frame).bytes()));
        CHECK(records.empty());
        CHECK(contains(err, "wifi.cap: unsupported network (MAC) type 6 (IEEE 802.11)"));
        std::tie(records, err) = read_until_error(dir.write("tr.cap", netmon_file(2).add(frame).bytes()));
        CHECK(contains(err, "tr.cap: unsupported network (MAC) type 2 (Token Ring)"));
        std::tie(records, err) = read_until_error(dir.write("e001.cap", netmon_file(0xE001).add(frame).bytes()));
        CHECK(contains(err, "e001.cap: unsupported network (MAC) type 57345 (0xE000 | pcap link type 1: valid only "
                            "in the frame trailers of version 2.1 and later)"));
        std::string v3 = good;
        v3[5] = '\x03';
        std::tie(records, err) = read_until_error(dir.write("v3.cap", v3));
        CHECK(contains(err, "v3.cap: unsupported Network Monitor file version 3.0"));
        std::string odd = good;
        odd[28] = '\x07';
        std::tie(records, err) = read_until_error(dir.write("odd.cap", odd));
        CHECK(contains(err, "odd.cap: frame table length 7 is not a multiple of 4"));
        std::tie(records, err) = read_until_error(dir.write("pcap-as-netmon.cap", pcap_file(1).add(frame).bytes()),
                                                  input_format::netmon);
        CHECK(contains(err, "pcap-as-netmon.cap: "));
    }
    SECTION("an invalid capture start or frame offset: the epoch, with a warning count") {
        std::string bad_start = good;
        bad_start[10] = '\x0d'; // month 13
        reader_counters c;
        auto records = read_all(dir.write("month.cap", bad_start), &c);
        REQUIRE(records.size() == 2);
        CHECK(sipdetect::micros_of(records[0].time) == 0);
        CHECK(c.bad_timestamps == 2);
        netmon_file extreme;
        extreme.add(frame, std::uint64_t{1} << 63).add(frame, ~std::uint64_t{0} >> 1).add(frame, 250000);
        records = read_all(dir.write("extreme.cap", extreme.bytes()), &c);
        REQUIRE(records.size() == 3);
        CHECK(sipdetect::micros_of(records[0].time) == 0);
        CHECK(sipdetect::micros_of(records[1].time) == 0);
        CHECK(c.bad_timestamps == 2);
        check_options(records[2], ip_address::parse("192.0.2.1"), ip_address::parse("192.0.2.2"));
    }
}

TEST_CASE("readers: mutated NetMon captures never crash") {
    temp_dir dir;
    netmon_file f(1, 2);
    f.add(ether(0x0800, ipv4(17, client4, server4, udp(5060, 5062, sip_options()))), 1, 1)
        .add(ether(0x0800, ipv4(6, client4, server4, tcp(5060, 5062, sip_options() + sip_200()))), 2, 1, 0, 5)
        .add(ipv6(17, v6("2001:db8::1"), v6("2001:db8::2"), udp(5060, 5062, sip_200())), 3, 0xE065);
    const std::string base = f.bytes();
    std::mt19937 rng(4242);
    for (int round = 0; round < 400; ++round) {
        std::string m = base;
        const int flips = 1 + static_cast<int>(rng() % 8);
        for (int k = 0; k < flips; ++k) {
            // Mostly in the header, the record headers and the frame table, where offsets and lengths live.
            const std::size_t at = rng() % 2 == 0 ? 4 + rng() % 28 : rng() % 2 == 0 ? m.size() - 1 - rng() % 12
                                                                                     : 4 + rng() % (m.size() - 4);
            m[at] = static_cast<char>(rng() & 0xff);
        }
        if (round % 5 == 0) m.resize(4 + rng() % (m.size() - 4));
        const auto p = dir.write("fuzz.cap", m);
        try {
            auto reader = open_reader(p, input_format::netmon);
            input_record r;
            while (reader->next(r)) {
            }
            CHECK(reader->counters().packets <= m.size() / 16); // records may not overlap
        } catch (const input_exception& e) {
            CHECK(contains(e.what(), "fuzz.cap"));
        }
    }
    SUCCEED("no crash");
}

// ===========================================================================
// Zeek sip.log

TEST_CASE("readers: Zeek TSV fixtures read without error") {
    SIPDETECT_REQUIRE_SHARED_FILE(wireshark, "zeek/wireshark.sip.log");
    SIPDETECT_REQUIRE_SHARED_FILE(junk, "zeek/junk.sip.log");
    reader_counters c;
    const auto records = read_all(wireshark, &c);
    CHECK(c.lines == 36);
    CHECK(c.bad_timestamps == 36); // masked XXXXXXXXXX.XXXXXX: the epoch, with a warning count
    REQUIRE(records.size() == 70);
    for (const auto& r : records) CHECK(sipdetect::micros_of(r.time) == 0);
    const auto& first = records[0];
    CHECK(first.src == ip_address::parse("192.168.1.2"));
    CHECK(first.dst == ip_address::parse("212.242.33.35"));
    CHECK(first.src_port == 5060);
    CHECK(first.method == sip_method::register_);
    CHECK(first.status == 0);
    CHECK(first.request_uri == "sip:sip.cybercity.dk");
    CHECK(first.from_uri == "sip:voi18063@sip.cybercity.dk");
    CHECK(first.to_uri == "sip:voi18063@sip.cybercity.dk");
    CHECK(first.user_agent == "Nero SIPPS IP Phone Version 2.0.51.16");
    CHECK(first.via_count == 1);
    const auto& second = records[1];
    CHECK(second.status == 401);
    CHECK(second.method == sip_method::register_);
    CHECK(second.sent_by == sipdetect::sender::destination);
    CHECK(second.to_uri == "sip:voi18063@sip.cybercity.dk"); // ";tag=..." dropped
    CHECK(sipdetect::detail::make_view(second).client == ip_address::parse("192.168.1.2"));

    const auto one = read_all(junk, &c);
    REQUIRE(one.size() == 1);
    CHECK(one[0].method == sip_method::register_);
    CHECK(one[0].src == ip_address::parse("1.1.1.1"));
    CHECK(one[0].src_port == 31000);
    CHECK(one[0].from_uri.empty());
    CHECK(one[0].via_count == 0); // request_path (empty)
}

namespace {

const char* const zeek_json_lines =
    R"({"ts":1700000000.25,"uid":"C1","id.orig_h":"10.0.0.1","id.orig_p":5060,"id.resp_h":"10.0.0.2","id.resp_p":5060,"trans_depth":0,"method":"REGISTER","uri":"sip:10.0.0.2","request_from":"\"Alice\" <sip:alice@10.0.0.2>","request_to":"<sip:alice@10.0.0.2>","response_from":"\"Alice\" <sip:alice@10.0.0.2>","response_to":"<sip:alice@10.0.0.2>;tag=xyz","call_id":"c1@x","seq":"1 REGISTER","request_path":["SIP/2.0/UDP 10.0.0.1:5060","SIP/2.0/UDP 10.0.0.9"],"response_path":["SIP/2.0/UDP 10.0.0.1:5060"],"user_agent":"Phone 1","status_code":401,"status_msg":"Unauthorized"}
{"_path":"sip","ts":"2023-11-14T22:13:21.5Z","uid":"C2","id.orig_h":"2001:db8::1","id.orig_p":5070,"id.resp_h":"2001:db8::2","id.resp_p":5060,"method":"OPTIONS","uri":"sip:100@[2001:db8::2]","request_from":"sip:100@1.1.1.1;tag=1","request_to":"sip:100@1.1.1.1","call_id":"c2","seq":"1 OPTIONS","user_agent":"friendly-scanner"}

{"ts":"XXXXXXXXXX.XXXXXX","id.orig_h":"10.0.0.3","id.orig_p":5060,"id.resp_h":"10.0.0.2","id.resp_p":5060,"method":"BYE","status_code":200}
{"_path":"conn","ts":1.0,"id.orig_h":"10.0.0.3","id.orig_p":1,"id.resp_h":"10.0.0.2","id.resp_p":2}
)";

// The same transactions in Zeek's TSV layout.
std::string zeek_tsv_text() {
    std::string t =
        "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tsip\n"
        "#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\ttrans_depth\tmethod\turi\tdate\t"
        "request_from\trequest_to\tresponse_from\tresponse_to\treply_to\tcall_id\tseq\tsubject\trequest_path\t"
        "response_path\tuser_agent\tstatus_code\tstatus_msg\twarning\trequest_body_len\tresponse_body_len\t"
        "content_type\n"
        "#types\ttime\tstring\taddr\tport\taddr\tport\tcount\tstring\tstring\tstring\tstring\tstring\tstring\t"
        "string\tstring\tstring\tstring\tstring\tvector[string]\tvector[string]\tstring\tcount\tstring\tstring\t"
        "count\tcount\tstring\n";
    t += "1700000000.250000\tC1\t10.0.0.1\t5060\t10.0.0.2\t5060\t0\tREGISTER\tsip:10.0.0.2\t-\t"
         "\"Alice\" <sip:alice@10.0.0.2>\t<sip:alice@10.0.0.2>\t\"Alice\" <sip:alice@10.0.0.2>\t"
         "<sip:alice@10.0.0.2>;tag=xyz\t-\tc1@x\t1 REGISTER\t-\tSIP/2.0/UDP 10.0.0.1:5060,SIP/2.0/UDP 10.0.0.9\t"
         "SIP/2.0/UDP 10.0.0.1:5060\tPhone 1\t401\tUnauthorized\t-\t0\t0\t-\n";
    t += "1700000001.5\tC2\t2001:db8::1\t5070\t2001:db8::2\t5060\t0\tOPTIONS\tsip:100@[2001:db8::2]\t-\t"
         "sip:100@1.1.1.1;tag=1\tsip:100@1.1.1.1\t-\t-\t-\tc2\t1 OPTIONS\t-\t(empty)\t(empty)\tfriendly-scanner\t"
         "-\t-\t-\t0\t-\t-\n";
    t += "XXXXXXXXXX.XXXXXX\tC3\t10.0.0.3\t5060\t10.0.0.2\t5060\t0\tBYE\t-\t-\t-\t-\t-\t-\t-\t-\t-\t-\t-\t-\t-\t"
         "200\t-\t-\t-\t-\t-\n";
    t += "#close\t2023-11-14-22-13-21\n";
    return t;
}

} // namespace

TEST_CASE("readers: Zeek JSON lines and the same log as TSV give the same records") {
    temp_dir dir;
    const auto json_path = dir.write("sip.json", zeek_json_lines);
    const auto tsv_path = dir.write("sip.tsv", zeek_tsv_text());
    REQUIRE(detect_format(json_path) == input_format::zeek_json);
    REQUIRE(detect_format(tsv_path) == input_format::zeek_tsv);

    reader_counters jc, tc;
    const auto from_json = read_all(json_path, &jc);
    const auto from_tsv = read_all(tsv_path, &tc);
    REQUIRE(from_json.size() == 5);
    CHECK(jc.skipped_records == 1); // _path conn
    CHECK(jc.bad_timestamps == 1);
    CHECK(tc.bad_timestamps == 1);

    const auto& req = from_json[0];
    CHECK(sipdetect::micros_of(req.time) == 1700000000'250000);
    CHECK(req.src == ip_address::parse("10.0.0.1"));
    CHECK(req.method == sip_method::register_);
    CHECK(req.sent_by == sipdetect::sender::source);
    CHECK(req.from_uri == "sip:alice@10.0.0.2");
    CHECK(req.to_uri == "sip:alice@10.0.0.2");
    CHECK(req.request_uri == "sip:10.0.0.2");
    CHECK(req.user_agent == "Phone 1");
    CHECK(req.via_count == 2);
    const auto& resp = from_json[1];
    CHECK(resp.status == 401);
    CHECK(resp.method == sip_method::register_);
    CHECK(resp.sent_by == sipdetect::sender::destination);
    CHECK(resp.to_uri == "sip:alice@10.0.0.2");
    CHECK(resp.via_count == 1);
    CHECK(resp.request_uri.empty());
    const auto& opt = from_json[2];
    CHECK(sipdetect::micros_of(opt.time) == 1700000001'500000); // ISO 8601 ts
    CHECK(opt.src == ip_address::parse("2001:db8::1"));
    CHECK(opt.src_port == 5070);
    CHECK(opt.from_uri == "sip:100@1.1.1.1");
    CHECK(opt.method == sip_method::options);
    const auto& bye = from_json[4];
    CHECK(sipdetect::micros_of(bye.time) == 0);
    CHECK(bye.status == 200);
    CHECK(bye.method == sip_method::bye); // no seq: the method column

    REQUIRE(from_tsv.size() == from_json.size());
    for (std::size_t i = 0; i < from_tsv.size(); ++i) {
        INFO("record " << i);
        CHECK(key_of(from_tsv[i]) == key_of(from_json[i]));
    }

    // Several files as one time-ordered stream; at equal times requests go
    // first, and then file order holds.
    SIPDETECT_REQUIRE_SHARED_FILE(csv, "ipfixprobe/sip.unirec.csv");
    const streamed stream = read_stream({json_path, csv, tsv_path});
    const auto& merged = stream.records;
    REQUIRE(merged.size() == 50);
    CHECK(stream.counters.records == 50);
    CHECK(std::is_sorted(merged.begin(), merged.end(), [](const auto& a, const auto& b) { return a.time < b.time; }));
    REQUIRE(from_json[3].status == 0);
    CHECK(key_of(merged[0]) == key_of(from_json[3])); // the epoch ones first, JSON before TSV
    CHECK(key_of(merged[1]) == key_of(from_tsv[3]));
    CHECK(key_of(merged[2]) == key_of(from_json[4])); // the response after both requests
    CHECK(key_of(merged[3]) == key_of(from_tsv[4]));
}

namespace {
// A JSON string literal of `s` (quotes and backslashes escaped; the values below hold no control bytes).
std::string json_string(const std::string& s) {
    std::string out = "\"";
    for (char c : s) {
        if (c == '"' || c == '\\') out += '\\';
        out += c;
    }
    return out + "\"";
}
} // namespace

TEST_CASE("readers: one From/To header value gives one identity from a capture and from Zeek") {
    struct sample {
        std::string value, uri;
    };
    const std::vector<sample> samples{
        {"\"Bob\" <sip:bob@example.com>;tag=1", "sip:bob@example.com"},
        {"\"a<b>, c\" <sip:quoted-lt@example.com>", "sip:quoted-lt@example.com"}, // '<' and ',' inside quotes
        {"\"say \\\"hi\\\" <x>\" <sip:escaped@example.com>;tag=2", "sip:escaped@example.com"},
        {"<sip:p@example.com;transport=udp>;tag=3;x=y", "sip:p@example.com;transport=udp"}, // URI vs header params
        {"Bob Smith <sip:unquoted@example.com>", "sip:unquoted@example.com"},
        {"sip:bare@example.com;tag=4", "sip:bare@example.com"},
        {"  sip:spaced@example.com  ", "sip:spaced@example.com"},
        {"\"Bob\" <sip:bob@example.com", "sip:bob@example.com"}, // cut before the '>'
        {"Bob <sip:cut@exam", "sip:cut@exam"},
        {"\"unclosed <sip:a@example.com>", ""},
        {"\"name\" sip:a@example.com", ""}, // a quoted display name needs <...>
    };
    temp_dir dir;
    pcap_file capture(1);
    std::string zeek;
    for (std::size_t i = 0; i < samples.size(); ++i) {
        const std::string& v = samples[i].value;
        const auto sec = static_cast<std::uint32_t>(1700000000 + i);
        capture.add(ether(0x0800, ipv4(17, client4, server4,
                                       udp(5060, 5060,
                                           "OPTIONS sip:100@192.0.2.2 SIP/2.0\r\nFrom: " + v + "\r\nTo: " + v +
                                               "\r\nCall-ID: c" + std::to_string(i) + "\r\nCSeq: 1 OPTIONS\r\n\r\n"))),
                    sec);
        zeek += "{\"ts\":" + std::to_string(sec) +
                ",\"id.orig_h\":\"192.0.2.1\",\"id.orig_p\":5060,\"id.resp_h\":\"192.0.2.2\",\"id.resp_p\":5060,"
                "\"method\":\"OPTIONS\",\"uri\":\"sip:100@192.0.2.2\",\"request_from\":" +
                json_string(v) + ",\"request_to\":" + json_string(v) + "}\n";
    }
    const auto from_capture = read_all(dir.write("parties.pcap", capture.bytes()));
    const auto from_zeek = read_all(dir.write("parties.json", zeek));
    REQUIRE(from_capture.size() == samples.size());
    REQUIRE(from_zeek.size() == samples.size());
    for (std::size_t i = 0; i < samples.size(); ++i) {
        INFO(samples[i].value);
        CHECK(sipdetect::party_uri(samples[i].value) == samples[i].uri);
        CHECK(from_capture[i].from_uri == samples[i].uri);
        CHECK(from_capture[i].to_uri == samples[i].uri);
        CHECK(from_zeek[i].from_uri == samples[i].uri);
        CHECK(from_zeek[i].to_uri == samples[i].uri);
    }
}

// ===========================================================================
// Hostile text input

TEST_CASE("readers: corrupt and hostile text files give a clear input_error") {
    temp_dir dir;
    const std::string tsv = zeek_tsv_text();
    const std::string header = tsv.substr(0, tsv.find("1700000000.25"));

    auto error_of_file = [&](const std::string& name, const std::string& content,
                             input_format f = input_format::unknown) {
        const auto p = dir.write(name, content);
        return read_until_error(p, f);
    };

    SECTION("a line beyond the length bound") {
        const auto [records, err] = error_of_file("long.log", header + std::string(max_line_length + 10, 'A') + "\n");
        CHECK(records.empty());
        CHECK(contains(err, "long.log: line 8: line longer than"));
    }
    SECTION("a Zeek TSV line with the wrong number of fields") {
        const auto [records, err] = error_of_file("fields.log", header + "garbage\n");
        CHECK(contains(err, "fields.log: line 8: expected 27 fields, got 1"));
    }
    SECTION("a Zeek TSV file cut in the middle of a line") {
        const std::string cut = tsv.substr(0, tsv.find("1700000001.5") + 40);
        const auto [records, err] = error_of_file("cut.log", cut);
        CHECK(records.size() == 2); // the first transaction survives
        CHECK(contains(err, "cut.log: line 9: truncated line"));
    }
    SECTION("a Zeek TSV with a bad address or port") {
        std::string bad = header + "1.0\tC\t10.0.0.999\t5060\t10.0.0.2\t5060" + std::string(21, '\t') + "\n";
        auto [records, err] = error_of_file("addr.log", bad);
        CHECK(contains(err, "addr.log: line 8: bad id.orig_h"));
        bad = header + "1.0\tC\t10.0.0.1\t70000\t10.0.0.2\t5060" + std::string(21, '\t') + "\n";
        std::tie(records, err) = error_of_file("port.log", bad);
        CHECK(contains(err, "bad id.orig_p"));
    }
    SECTION("not a sip.log") {
        const auto [records, err] = error_of_file("conn.log", "#separator \\x09\n#path\tconn\n#fields\tts\tuid\n");
        CHECK(contains(err, "not a Zeek sip.log"));
        const auto [r2, err2] = error_of_file("nofields.log", "#separator \\x09\n1\t2\n");
        CHECK(contains(err2, "data line before the #fields header"));
    }
    SECTION("invalid, truncated and deeply nested JSON") {
        auto [records, err] = error_of_file("bad.json", "{\"ts\":1,\n");
        CHECK(contains(err, "bad.json: line 1: invalid JSON"));
        const std::string lines = zeek_json_lines;
        std::tie(records, err) = error_of_file("cut.json", lines.substr(0, lines.find("\"_path\":\"sip\"") + 30));
        CHECK(records.size() == 2);
        CHECK(contains(err, "cut.json: line 2: truncated line"));
        std::tie(records, err) = error_of_file("deep.json", "{\"a\":" + std::string(100000, '[') +
                                                                 std::string(100000, ']') + "}\n");
        CHECK(contains(err, "deep.json: line 1: JSON nested deeper than"));
        std::tie(records, err) = error_of_file("array.json", "{}\n[1,2]\n", input_format::zeek_json);
        CHECK(contains(err, "array.json: line 1: connection id"));
        std::tie(records, err) =
            error_of_file("types.json", "{\"id.orig_h\":1,\"id.orig_p\":1,\"id.resp_h\":\"1.1.1.1\",\"id.resp_p\":1}\n");
        CHECK(contains(err, "field id.orig_h is not a string"));
    }
    SECTION("ipfixprobe CSV: wrong column count, bad quoting, bad values") {
        const std::string tmpl = "ipaddr SRC_IP,ipaddr DST_IP,uint16 DST_PORT,time TIME_FIRST,uint16 SIP_MSG_TYPE\n";
        auto [records, err] = error_of_file("cols.csv", "1.1.1.1,2.2.2.2,5060\n" + tmpl);
        CHECK(contains(err, "cols.csv: line 1: expected 5 fields, got 3"));
        std::tie(records, err) = error_of_file("quote.csv", "1.1.1.1,2.2.2.2,5060,\"2020-01-01T00:00:00,1\n" + tmpl);
        CHECK(contains(err, "unterminated quoted field"));
        std::tie(records, err) = error_of_file("time.csv", "1.1.1.1,2.2.2.2,5060,yesterday,1\n" + tmpl);
        CHECK(contains(err, "bad TIME_FIRST"));
        std::tie(records, err) =
            error_of_file("resp.csv", "1.1.1.1,2.2.2.2,5060,2020-01-01T00:00:00,99\n" + tmpl);
        CHECK(contains(err, "response without a valid SIP_STATUS_CODE"));
        std::tie(records, err) = error_of_file("notmpl.csv", "1.1.1.1,2.2.2.2\n", input_format::ipfixprobe_csv);
        CHECK(contains(err, "no UniRec template"));
        std::tie(records, err) = error_of_file("nocol.csv", "1,2\nipaddr SRC_IP,ipaddr DST_IP\n");
        CHECK(contains(err, "template has no DST_PORT column"));
    }
    SECTION("random bytes through every reader") {
        std::mt19937 rng(777);
        for (int round = 0; round < 40; ++round) {
            std::string junk(static_cast<std::size_t>(rng() % 4096), '\0');
            for (auto& ch : junk) ch = static_cast<char>(rng() % 4 == 0 ? '\n' : rng() & 0xff);
            if (round % 3 == 0) junk = header + junk; // junk after a valid Zeek header
            if (round % 3 == 1) junk = "{\"ts\":1}\n" + junk;
            const auto p = dir.write("junk" + std::to_string(round), junk);
            for (const auto f : {input_format::pcap, input_format::zeek_tsv, input_format::zeek_json,
                                 input_format::ipfixprobe_csv, input_format::netmon, input_format::unknown}) {
                try {
                    auto reader = open_reader(p, f);
                    input_record r;
                    while (reader->next(r)) {
                    }
                } catch (const input_exception& e) {
                    CHECK(contains(e.what(), p.string()));
                }
            }
        }
    }
}

// ===========================================================================
// IPFIX files (RFC 7011 messages one after another), with ipfixprobe's SIP elements

using namespace ipfix_writer;

namespace {

void check_same_record(const input_record& a, const input_record& b) {
    CHECK(a.time == b.time);
    CHECK(a.src == b.src);
    CHECK(a.dst == b.dst);
    CHECK(a.src_port == b.src_port);
    CHECK(a.dst_port == b.dst_port);
    CHECK(a.sent_by == b.sent_by);
    CHECK(a.method == b.method);
    CHECK(a.status == b.status);
    CHECK(a.request_uri == b.request_uri);
    CHECK(a.from_uri == b.from_uri);
    CHECK(a.to_uri == b.to_uri);
    CHECK(a.user_agent == b.user_agent);
    CHECK(a.via_count == b.via_count);
}

} // namespace

TEST_CASE("readers: the shared ipfixprobe records as an IPFIX file give the same records as the CSV") {
    SIPDETECT_REQUIRE_SHARED_FILE(csv, "ipfixprobe/sip.unirec.csv");
    const auto from_csv = read_all(csv);
    REQUIRE(from_csv.size() == 40);

    const std::string file = ipfixprobe_file(from_csv);
    temp_dir dir;
    const auto p = dir.write("sip.ipfix", file);
    CHECK(detect_format(p) == input_format::ipfix);
    reader_counters c;
    const auto from_ipfix = read_all(p, &c);
    REQUIRE(from_ipfix.size() == 40);
    for (std::size_t i = 0; i < 40; ++i) {
        INFO("record " << i);
        check_same_record(from_ipfix[i], from_csv[i]);
    }
    CHECK(c.records == 40);
    CHECK(c.sip_messages == 40);
    CHECK(c.ipfix_messages == 3);
    CHECK(c.ipfix_templates == 1);
    CHECK(c.skipped_records == 0);
    CHECK(c.sets_without_template == 0);
    // The biflow trap: 16 responses kept in the request's orientation.
    CHECK(std::count_if(from_ipfix.begin(), from_ipfix.end(), [](const input_record& r) {
              return r.sent_by == sipdetect::sender::destination && r.status != 0;
          }) == 16);
}

TEST_CASE("readers: generated IPFIX: domains, withdrawals, options, lengths, times, IPv6, padding") {
    const ip_address a6 = ip_address::parse("2001:db8::5"), b6 = ip_address::parse("2001:db8::6");
    // Template 300 in domain 1: IPv6, flowEndMilliseconds and flowStartMilliseconds, no biflow counters.
    const std::vector<ipfix_field> t300{{27, 16}, {28, 16}, {7, 2}, {11, 2}, {152, 8}, {153, 8},
                                        {100, 1, 8057}, {101, 2, 8057}, {103, varlen, 8057},
                                        {104, varlen, 8057}, {106, varlen, 8057}, {107, varlen, 8057},
                                        {108, varlen, 8057}, {105, varlen, 8057}};
    const auto r300 = [&](unsigned type, unsigned status, std::uint64_t end_ms, const std::string& ua,
                          const std::string& cseq) {
        std::string d = v6("2001:db8::5") + v6("2001:db8::6");
        put16be(d, 5070);
        put16be(d, 5060);
        d += be64(end_ms - 5000) + be64(end_ms);
        put8(d, type);
        put16be(d, status);
        d += ipfix_text("sip:alice@example.com") + ipfix_text("sip:bob@example.com") + ipfix_text(ua) +
             ipfix_text("sip:bob@example.com") + ipfix_text(cseq) +
             ipfix_text("SIP/2.0/UDP a;branch=1;SIP/2.0/UDP b;branch=2");
        return d;
    };
    // Template 300 in domain 2 means something else: IPv4 and flowEndNanoseconds.
    const std::vector<ipfix_field> t300_domain2{{8, 4}, {12, 4}, {11, 2}, {157, 8}, {100, 2, 8057}};
    std::string d2 = v4(192, 0, 2, 1) + v4(192, 0, 2, 2);
    put16be(d2, 5080);
    d2 += be64((std::uint64_t{1700000000} + 2208988800) << 32 | 0x80000000u); // .5 s
    put16be(d2, 6);
    // Template 301: a plain flow template without SIP elements.
    const std::vector<ipfix_field> t301{{8, 4}, {12, 4}};
    // Options template 400 (scope: observation domain id).
    const std::vector<ipfix_field> t400{{149, 4}, {41, 8}};
    std::string options_record;
    put32be(options_record, 1);
    options_record += be64(12345);

    const std::string long_agent(300, 'x'); // the three-byte length form
    std::string data300 = r300(5, 0, 1700000001250, long_agent, "1 REGISTER") +
                          r300(99, 180, 1700000001500, "", "2 INVITE") + r300(0, 0, 1700000001600, "", "") +
                          std::string(3, '\0'); // padding shorter than any record
    std::string file =
        ipfix_message(1, {ipfix_set(2, ipfix_template_record(300, t300) + ipfix_template_record(301, t301)),
                          ipfix_set(3, ipfix_template_record(400, t400, 1)), ipfix_set(400, options_record),
                          ipfix_set(300, data300), ipfix_set(301, v4(10, 0, 0, 1) + v4(10, 0, 0, 2)),
                          ipfix_set(500, std::string(20, '\x01'))}) +
        ipfix_message(2, {ipfix_set(2, ipfix_template_record(300, t300_domain2)), ipfix_set(300, d2)}) +
        // Withdraw template 300 of domain 1: its next data set has no template.
        ipfix_message(1, {ipfix_set(2, ipfix_template_record(300, {})), ipfix_set(300, r300(6, 0, 1700000002000, "", ""))}) +
        // Withdraw every template of domain 2, then define 300 there again.
        ipfix_message(2, {ipfix_set(2, ipfix_template_record(2, {})), ipfix_set(300, d2),
                          ipfix_set(2, ipfix_template_record(300, t300_domain2)), ipfix_set(300, d2)}) +
        ipfix_message(3, {}); // a message without sets

    temp_dir dir;
    const auto p = dir.write("gen.ipfix", file);
    CHECK(detect_format(p) == input_format::ipfix);
    reader_counters c;
    const auto rs = read_all(p, &c);
    REQUIRE(rs.size() == 4);

    CHECK(rs[0].method == sip_method::register_);
    CHECK(rs[0].status == 0);
    CHECK(rs[0].src == a6);
    CHECK(rs[0].dst == b6);
    CHECK(rs[0].src_port == 5070);
    CHECK(rs[0].dst_port == 5060);
    CHECK(sipdetect::micros_of(rs[0].time) == 1700000001250000); // flow end, not start
    CHECK(rs[0].user_agent == long_agent);
    CHECK(rs[0].from_uri == "sip:alice@example.com");
    CHECK(rs[0].to_uri == "sip:bob@example.com");
    CHECK(rs[0].request_uri == "sip:bob@example.com");
    CHECK(rs[0].via_count == 2);
    CHECK(rs[0].sent_by == sipdetect::sender::source); // no reverse packet counter

    CHECK(rs[1].status == 180);
    CHECK(rs[1].method == sip_method::invite); // from the CSeq
    CHECK(rs[1].request_uri.empty());

    for (std::size_t i : {std::size_t{2}, std::size_t{3}}) { // domain 2's template 300
        CHECK(rs[i].method == sip_method::options);
        CHECK(rs[i].src == ip_address::parse("192.0.2.1"));
        CHECK(rs[i].dst_port == 5080);
        CHECK(rs[i].src_port == 0);
        CHECK(sipdetect::micros_of(rs[i].time) == 1700000000500000);
    }
    CHECK(c.ipfix_messages == 5);
    CHECK(c.ipfix_templates == 5);             // 300, 301, 400 in domain 1; 300 twice in domain 2
    CHECK(c.skipped_records == 3);             // message type 0, the plain flow, the options record
    CHECK(c.sets_without_template == 3);       // 500, withdrawn 300 of domain 1, 300 of domain 2 after withdrawing all
    CHECK(c.records == 4);

    SECTION("ipfixprobe's microsecond timestamps read back exactly") {
        const std::vector<ipfix_field> t{{8, 4}, {12, 4}, {11, 2}, {155, 8}, {100, 2, 8057}};
        std::string data;
        const std::vector<std::int64_t> times{1700000000000000, 1700000000000001, 1700000000999998,
                                              1471336062061690, 1700000000500000};
        for (std::int64_t us : times) {
            data += v4(10, 0, 0, 1) + v4(10, 0, 0, 2);
            put16be(data, 5060);
            data += be64(ipfixprobe_ntp(us));
            put16be(data, 6);
        }
        const auto q = dir.write("times.ipfix", ipfix_message(0, {ipfix_set(2, ipfix_template_record(256, t)),
                                                                  ipfix_set(256, data)}));
        const auto back = read_all(q);
        REQUIRE(back.size() == times.size());
        for (std::size_t i = 0; i < times.size(); ++i) CHECK(sipdetect::micros_of(back[i].time) == times[i]);
    }
}

TEST_CASE("readers: truncated and corrupt IPFIX files give a clear input_error") {
    temp_dir dir;
    const std::vector<ipfix_field> t{{8, 4}, {12, 4}, {11, 2}, {153, 8}, {100, 2, 8057}, {103, varlen, 8057}};
    const auto record = [](const std::string& from) {
        std::string d = v4(10, 0, 0, 1) + v4(10, 0, 0, 2);
        put16be(d, 5060);
        d += be64(1700000000000);
        put16be(d, 6);
        return d + ipfix_text(from);
    };
    const std::string good = ipfix_message(0, {ipfix_set(2, ipfix_template_record(256, t)),
                                               ipfix_set(256, record("sip:a@x") + record("sip:b@x"))});
    const auto error_of = [&](const std::string& name, const std::string& content) {
        return read_until_error(dir.write(name, content), input_format::ipfix);
    };
    const std::string offset = "(offset " + std::to_string(good.size()) + ")";

    SECTION("the good file reads") {
        const auto [records, err] = error_of("good.ipfix", good);
        CHECK(records.size() == 2);
        CHECK(err.empty());
    }
    SECTION("a message header cut short keeps the messages before it") {
        const auto [records, err] = error_of("cut.ipfix", good + good.substr(0, 8));
        CHECK(records.size() == 2);
        CHECK(contains(err, "cut.ipfix: message 2 " + offset + ": truncated message header (8 of 16 bytes)"));
    }
    SECTION("a message body cut short") {
        const auto [records, err] = error_of("body.ipfix", good + good.substr(0, good.size() - 3));
        CHECK(records.size() == 2);
        CHECK(contains(err, "message 2 " + offset + ": truncated message (" + std::to_string(good.size() - 3) +
                                " of " + std::to_string(good.size()) + " bytes)"));
    }
    SECTION("NetFlow v9 and other versions") {
        std::string v9 = good;
        v9[1] = 9;
        CHECK(contains(error_of("v9.ipfix", v9).second, "message 1 (offset 0): version 9, expected 10 (IPFIX); NetFlow v9 is not read"));
    }
    SECTION("a message length shorter than the header") {
        std::string m = good;
        m[2] = 0;
        m[3] = 10;
        CHECK(contains(error_of("short.ipfix", m).second, "message length 10 is shorter than its header"));
    }
    SECTION("a set longer than its message") {
        std::string m = ipfix_message(0, {ipfix_set(2, ipfix_template_record(256, t))});
        m[18] = 0x7f; // the set length's high byte
        CHECK(contains(error_of("set.ipfix", m).second, "set at byte 16 of the message: set length"));
    }
    SECTION("a set length below its header, NetFlow v9 set ids and reserved set ids") {
        CHECK(contains(error_of("tiny.ipfix", ipfix_message(0, {std::string("\x01\x00\x00\x02", 4)})).second,
                       "set length 2 does not fit"));
        CHECK(contains(error_of("v9set.ipfix", ipfix_message(0, {ipfix_set(1, "")})).second,
                       "set id 1 is not used in IPFIX"));
        // A set id reserved for future use is skipped and counted; the records after it are read.
        reader_counters c;
        const auto p = dir.write("future.ipfix", ipfix_message(0, {ipfix_set(2, ipfix_template_record(256, t)),
                                                                  ipfix_set(7, "abcd"), ipfix_set(256, record("sip:a@x"))}));
        CHECK(read_all(p, &c).size() == 1);
        CHECK(c.reserved_sets == 1);
    }
    SECTION("a template id below 256") {
        CHECK(contains(error_of("tid.ipfix", ipfix_message(0, {ipfix_set(2, ipfix_template_record(100, t))})).second,
                       "template id 100 is reserved"));
    }
    SECTION("a template whose fields run past its set") {
        std::string rec = ipfix_template_record(256, t);
        rec[3] = 50; // 50 fields announced
        CHECK(contains(error_of("fields.ipfix", ipfix_message(0, {ipfix_set(2, rec)})).second,
                       "template field runs past the end of the set"));
    }
    SECTION("a variable-length field that runs past its set") {
        std::string data = record("sip:a@x");
        data[data.size() - 8] = static_cast<char>(200); // the From length
        const auto [records, err] = error_of("var.ipfix", ipfix_message(0, {ipfix_set(2, ipfix_template_record(256, t)),
                                                                            ipfix_set(256, data)}));
        CHECK(records.empty());
        // The data set starts at byte 56 of the message (header, template set); its first record at 60.
        CHECK(contains(err, "set at byte 56 of the message: data record at byte 60: element 8057/103 runs past the end of the set"));
    }
    SECTION("a SIP template without a time, or with an address of the wrong length") {
        const std::vector<ipfix_field> no_time{{8, 4}, {12, 4}, {11, 2}, {100, 2, 8057}};
        CHECK(contains(error_of("nt.ipfix", ipfix_message(0, {ipfix_set(2, ipfix_template_record(256, no_time))})).second,
                       "template 256 has SIP fields but no flow time"));
        const std::vector<ipfix_field> bad_address{{8, 16}, {12, 4}, {11, 2}, {153, 8}, {100, 2, 8057}};
        CHECK(contains(error_of("ba.ipfix", ipfix_message(0, {ipfix_set(2, ipfix_template_record(256, bad_address))})).second,
                       "template 256: element 8 has length 16, expected 4"));
    }
    SECTION("more templates than a collector keeps") {
        std::string many;
        for (unsigned id = 256; id < 256 + 4097; ++id) many += ipfix_template_record(static_cast<std::uint16_t>(id), {{8, 4}});
        const auto [records, err] = error_of("many.ipfix", ipfix_message(0, {ipfix_set(2, many)}));
        CHECK(contains(err, "more than 4096 templates"));
        // Redefining one template again and again stays within the bound.
        std::string again;
        for (int i = 0; i < 5000; ++i) again += ipfix_template_record(256, {{8, 4}});
        const auto [records2, err2] = error_of("again.ipfix", ipfix_message(0, {ipfix_set(2, again)}));
        CHECK(err2.empty());
    }
    SECTION("templates holding more than 2^20 fields in all") {
        // 70 templates of 16,000 fields each, one per message.
        std::string file;
        const std::vector<ipfix_field> wide(16000, ipfix_field{8, 4});
        for (std::uint16_t id = 256; id < 256 + 70; ++id)
            file += ipfix_message(0, {ipfix_set(2, ipfix_template_record(id, wide))});
        const auto [records, err] = error_of("wide.ipfix", file);
        CHECK(contains(err, "message 66 (offset "));
        CHECK(contains(err, "the templates would hold more than 1048576 fields"));
        // Withdrawing them makes room again.
        std::string cycled;
        for (std::uint16_t i = 0; i < 70; ++i)
            cycled += ipfix_message(0, {ipfix_set(2, ipfix_template_record(256, wide) + ipfix_template_record(256, {}))});
        CHECK(error_of("cycled.ipfix", cycled).second.empty());
    }
    SECTION("a response without a status code, and a failed reader stays failed") {
        std::string data = record("sip:a@x");
        data[19] = 99; // message type 99, and no SIPStatusCode in the template
        auto reader = open_reader(dir.write("resp.ipfix", ipfix_message(0, {ipfix_set(2, ipfix_template_record(256, t)),
                                                                            ipfix_set(256, data)})));
        input_record r;
        CHECK(contains(input_error_of([&] { (void)reader->next(r); }), "response without a valid SIPStatusCode (0)"));
        CHECK(contains(input_error_of([&] { (void)reader->next(r); }), "response without a valid SIPStatusCode (0)"));
    }
}

TEST_CASE("readers: mutated IPFIX files never crash") {
    temp_dir dir;
    std::string base;
    const std::vector<ipfix_field> tmpl = ipfixprobe_sip_template(true);
    input_record r;
    r.time = sipdetect::record_time_from_micros(1700000000000000);
    r.src = ip_address::parse("2001:db8::1");
    r.dst = ip_address::parse("2001:db8::2");
    r.src_port = r.dst_port = 5060;
    r.method = sip_method::invite;
    r.from_uri = r.to_uri = r.request_uri = "sip:100@example.com";
    r.via_count = 1;
    base = ipfix_message(0, {ipfix_set(2, ipfix_template_record(258, tmpl)),
                             ipfix_set(258, ipfixprobe_sip_record(r, 1, "1 INVITE") + ipfixprobe_sip_record(r, 1, "2 INVITE"))});
    base += base;
    std::mt19937 rng(2026);
    int completed = 0;
    for (int round = 0; round < 400; ++round) {
        std::string m = base;
        const int flips = 1 + static_cast<int>(rng() % 6);
        for (int k = 0; k < flips; ++k) m[2 + rng() % (m.size() - 2)] = static_cast<char>(rng() & 0xff);
        if (round % 5 == 0) m.resize(2 + rng() % (m.size() - 2));
        try {
            auto reader = open_reader(dir.write("fuzz.ipfix", m), input_format::ipfix);
            input_record out;
            std::size_t n = 0;
            while (reader->next(out)) REQUIRE(++n <= m.size());
            ++completed;
        } catch (const input_exception& e) {
            CHECK(contains(e.what(), "fuzz.ipfix: message "));
        }
    }
    CHECK(completed > 0); // some mutations only touch values
}
