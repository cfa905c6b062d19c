// Test helper: IPFIX messages (RFC 7011) written byte by byte, independently
// of the reader, and sipdetect_cli::input_records written as ipfixprobe
// exports them (its basic flow template and its SIP elements, enterprise 8057).
#pragma once

#include "sipdetect/input_record.hpp"

#include <sipdetect/record.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace ipfix_writer {

inline void put_be8(std::string& s, unsigned v) { s += static_cast<char>(v & 0xffu); }
inline void put_be16(std::string& s, unsigned v) {
    put_be8(s, v >> 8);
    put_be8(s, v);
}
inline void put_be32(std::string& s, std::uint32_t v) {
    put_be16(s, v >> 16);
    put_be16(s, v & 0xffffu);
}

struct ipfix_field {
    std::uint16_t id = 0;
    std::uint16_t length = 0; // 0xffff: variable length
    std::uint32_t pen = 0;
};
constexpr std::uint16_t varlen = 0xffff;

inline std::string ipfix_message(std::uint32_t domain, const std::vector<std::string>& sets, std::uint32_t sequence = 0) {
    std::string body;
    for (const std::string& s : sets) body += s;
    std::string m;
    put_be16(m, 10);
    put_be16(m, static_cast<unsigned>(16 + body.size()));
    put_be32(m, 1700000000); // export time
    put_be32(m, sequence);
    put_be32(m, domain);
    return m + body;
}
inline std::string ipfix_set(std::uint16_t id, const std::string& records) {
    std::string s;
    put_be16(s, id);
    put_be16(s, static_cast<unsigned>(4 + records.size()));
    return s + records;
}
inline std::string ipfix_template_record(std::uint16_t id, const std::vector<ipfix_field>& fields, int scope = -1) {
    std::string r;
    put_be16(r, id);
    put_be16(r, static_cast<unsigned>(fields.size()));
    if (scope >= 0) put_be16(r, static_cast<unsigned>(scope));
    for (const ipfix_field& f : fields) {
        put_be16(r, f.pen != 0 ? (f.id | 0x8000u) : f.id);
        put_be16(r, f.length);
        if (f.pen != 0) put_be32(r, f.pen);
    }
    return r;
}
inline std::string ipfix_text(const std::string& s) {
    std::string out;
    if (s.size() < 255) {
        put_be8(out, static_cast<unsigned>(s.size()));
    } else {
        put_be8(out, 255);
        put_be16(out, static_cast<unsigned>(s.size()));
    }
    return out + s;
}
inline std::string be64(std::uint64_t v) {
    std::string s;
    put_be32(s, static_cast<std::uint32_t>(v >> 32));
    put_be32(s, static_cast<std::uint32_t>(v & 0xffffffffu));
    return s;
}
// dateTimeMicroseconds as ipfixprobe writes it: NTP seconds, fraction usec * 2^32 / 999999.
inline std::uint64_t ipfixprobe_ntp(std::int64_t unix_micros) {
    const auto sec = static_cast<std::uint64_t>(unix_micros / 1'000'000 + 2208988800);
    const auto usec = static_cast<std::uint64_t>(unix_micros % 1'000'000);
    return sec << 32 | static_cast<std::uint32_t>((usec << 32) / 999999);
}

// ipfixprobe's basic IPv4 (or IPv6) flow template followed by its SIP plugin's elements.
inline std::vector<ipfix_field> ipfixprobe_sip_template(bool v6) {
    std::vector<ipfix_field> f{{136, 1}, {1, 8},        {1, 8, 29305}, {2, 8}, {2, 8, 29305}, {154, 8},
                               {155, 8}, {60, 1},       {4, 1},        {6, 1}, {6, 1, 29305}, {7, 2},
                               {11, 2},  {10, 4},       {v6 ? std::uint16_t{27} : std::uint16_t{8}, v6 ? std::uint16_t{16} : std::uint16_t{4}},
                               {v6 ? std::uint16_t{28} : std::uint16_t{12}, v6 ? std::uint16_t{16} : std::uint16_t{4}},
                               {56, 6},  {80, 6}};
    for (std::uint16_t id = 100; id <= 108; ++id)
        f.push_back({id, id <= 101 ? std::uint16_t{2} : varlen, 8057});
    return f;
}
// One data record of ipfixprobe_sip_template(): a response sent by the
// destination becomes a biflow record with packets 0 and packets_rev 1.
inline std::string ipfixprobe_sip_record(const sipdetect_cli::input_record& r, unsigned msg_type, const std::string& cseq) {
    const bool reversed = r.sent_by == sipdetect::sender::destination;
    std::string d;
    put_be8(d, 1);                       // flowEndReason
    d += be64(400) + be64(0);         // bytes, bytes_rev
    d += be64(reversed ? 0 : 1) + be64(reversed ? 1 : 0);
    d += be64(ipfixprobe_ntp(sipdetect::micros_of(r.time) - 2000)); // flow start: an earlier packet's time
    d += be64(ipfixprobe_ntp(sipdetect::micros_of(r.time)));
    put_be8(d, r.src.is_v4() ? 4 : 6);
    put_be8(d, 17);
    put_be8(d, 0);
    put_be8(d, 0);
    put_be16(d, r.src_port);
    put_be16(d, r.dst_port);
    put_be32(d, 0);
    const auto address = [&](const sipdetect::ip_address& a) {
        const auto& b = a.bytes();
        return a.is_v4() ? std::string(reinterpret_cast<const char*>(b.data()) + 12, 4)
                         : std::string(reinterpret_cast<const char*>(b.data()), 16);
    };
    d += address(r.src) + address(r.dst);
    d += std::string(12, '\x02'); // MAC addresses
    put_be16(d, msg_type);
    put_be16(d, r.status);
    std::string via;
    for (unsigned i = 0; i < r.via_count; ++i) {
        if (i > 0) via += ';'; // appended, not (i ? ";" : "") + ...: GCC 12's -Wrestrict false positive at -O3
        via += "SIP/2.0/UDP 192.0.2.9:5060";
    }
    // Records carry no Call-ID; any will do, and one of some length checks that the reader skips it.
    const std::string call_id = "a84b4c76e66710@192.0.2.9";
    d += ipfix_text(call_id) + ipfix_text(r.from_uri) + ipfix_text(r.to_uri) + ipfix_text(via) +
         ipfix_text(r.user_agent) + ipfix_text(r.request_uri) + ipfix_text(cseq);
    return d;
}
inline unsigned ipfixprobe_msg_type(const sipdetect_cli::input_record& r) {
    if (r.status != 0) return 99;
    switch (r.method) {
    case sipdetect::sip_method::invite: return 1;
    case sipdetect::sip_method::ack: return 2;
    case sipdetect::sip_method::cancel: return 3;
    case sipdetect::sip_method::bye: return 4;
    case sipdetect::sip_method::register_: return 5;
    case sipdetect::sip_method::options: return 6;
    default: return 0;
    }
}
// The records as ipfixprobe exports them: the template (id 258, IPv4) in the
// first message, 16 records per message, in observation domain 7, each
// request's CSeq "1 <method>".
inline std::string ipfixprobe_file(const std::vector<sipdetect_cli::input_record>& records) {
    std::string file, data;
    std::uint32_t sequence = 0;
    for (std::size_t i = 0; i < records.size(); ++i) {
        const sipdetect_cli::input_record& r = records[i];
        data += ipfixprobe_sip_record(r, ipfixprobe_msg_type(r),
                                      "1 " + std::string(sipdetect::to_string(r.method)));
        if ((i + 1) % 16 == 0 || i + 1 == records.size()) {
            std::vector<std::string> sets;
            if (file.empty()) sets.push_back(ipfix_set(2, ipfix_template_record(258, ipfixprobe_sip_template(false))));
            sets.push_back(ipfix_set(258, data));
            file += ipfix_message(7, sets, sequence);
            sequence += 16;
            data.clear();
        }
    }
    return file;
}

} // namespace ipfix_writer
