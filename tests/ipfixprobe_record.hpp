// Test adapter: a record as a collector fed by CESNET ipfixprobe's SIP
// plugin holds it (UniRec field names), described to sipdetect through a
// record_traits specialisation, and a reader for ipfixprobe's CSV export.
#pragma once

#include <sipdetect/record.hpp>

#include <chrono>
#include <cstdint>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

struct ipfixprobe_record {
    sipdetect::ip_address SRC_IP, DST_IP;
    std::uint16_t SRC_PORT = 0, DST_PORT = 0;
    sipdetect::record_time TIME_LAST{}; // the message's own time (TIME_FIRST may be an earlier packet of the flow)
    std::uint32_t PACKETS = 0, PACKETS_REV = 0;
    std::uint16_t SIP_MSG_TYPE = 0, SIP_STATUS_CODE = 0;
    std::string SIP_CALLED_PARTY, SIP_CALLING_PARTY, SIP_CALL_ID, SIP_CSEQ, SIP_REQUEST_URI, SIP_USER_AGENT, SIP_VIA;
};

inline sipdetect::sip_method ipfixprobe_method(std::uint16_t type) {
    using sipdetect::sip_method;
    switch (type) {
    case 1: return sip_method::invite;
    case 2: return sip_method::ack;
    case 3: return sip_method::cancel;
    case 4: return sip_method::bye;
    case 5: return sip_method::register_;
    case 6: return sip_method::options;
    case 7: return sip_method::publish;
    case 8: return sip_method::notify;
    case 9: return sip_method::info;
    case 10: return sip_method::subscribe;
    default: return sip_method::unknown;
    }
}

template <>
struct sipdetect::record_traits<ipfixprobe_record> {
    using R = ipfixprobe_record;
    static record_time time(const R& r) { return r.TIME_LAST; }
    static ip_address source(const R& r) { return r.SRC_IP; }
    static ip_address destination(const R& r) { return r.DST_IP; }
    static std::uint16_t source_port(const R& r) { return r.SRC_PORT; }
    static std::uint16_t destination_port(const R& r) { return r.DST_PORT; }
    // Biflow trap: a response keeps the request's orientation, packets=0, packets_rev=1.
    static sender sent_by(const R& r) {
        return r.PACKETS == 0 && r.PACKETS_REV > 0 ? sender::destination : sender::source;
    }
    static sip_method method(const R& r) {
        return r.SIP_MSG_TYPE == 99 ? cseq_method(r.SIP_CSEQ) : ipfixprobe_method(r.SIP_MSG_TYPE);
    }
    static std::uint16_t status(const R& r) { return r.SIP_MSG_TYPE == 99 ? r.SIP_STATUS_CODE : 0; }
    static std::string_view from_uri(const R& r) { return r.SIP_CALLING_PARTY; }
    static std::string_view to_uri(const R& r) { return r.SIP_CALLED_PARTY; }
    static std::string_view request_uri(const R& r) { return r.SIP_REQUEST_URI; }
    static std::string_view user_agent(const R& r) { return r.SIP_USER_AGENT; }
    static unsigned via_count(const R& r) {
        unsigned n = 0;
        for (std::size_t at = r.SIP_VIA.find("SIP/2.0/"); at != std::string::npos; at = r.SIP_VIA.find("SIP/2.0/", at + 1))
            ++n;
        return n;
    }
};

// "2016-08-16T08:27:28.605282" (UTC) to record time.
inline sipdetect::record_time parse_unirec_time(const std::string& s) {
    int y = 0, mo = 0, d = 0, h = 0, mi = 0;
    double sec = 0;
    if (std::sscanf(s.c_str(), "%d-%d-%dT%d:%d:%lf", &y, &mo, &d, &h, &mi, &sec) != 6)
        throw std::runtime_error("bad UniRec time: " + s);
    using namespace std::chrono;
    const sys_days date = year{y} / month{static_cast<unsigned>(mo)} / day{static_cast<unsigned>(d)};
    return time_point_cast<microseconds>(date + hours{h} + minutes{mi}) +
           microseconds{static_cast<std::int64_t>(sec * 1e6 + 0.5)};
}

inline std::vector<std::string> split_csv_line(const std::string& line) {
    std::vector<std::string> out;
    std::string cur;
    bool quoted = false;
    for (std::size_t i = 0; i < line.size(); ++i) {
        const char c = line[i];
        if (quoted) {
            if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
                cur += '"';
                ++i;
            } else if (c == '"') {
                quoted = false;
            } else {
                cur += c;
            }
        } else if (c == '"') {
            quoted = true;
        } else if (c == ',') {
            out.push_back(cur);
            cur.clear();
        } else {
            cur += c;
        }
    }
    out.push_back(cur);
    return out;
}

// Reads ipfixprobe's CSV export: the last line is the UniRec template.
inline std::vector<ipfixprobe_record> read_ipfixprobe_csv(const std::string& path) {
    std::ifstream in(path);
    if (!in) throw std::runtime_error("cannot open " + path);
    std::vector<std::string> lines;
    for (std::string line; std::getline(in, line);)
        if (!line.empty()) lines.push_back(line);
    if (lines.empty()) throw std::runtime_error(path + ": empty");
    std::map<std::string, std::size_t> column;
    const auto header = split_csv_line(lines.back());
    for (std::size_t i = 0; i < header.size(); ++i) column[header[i].substr(header[i].find(' ') + 1)] = i;
    lines.pop_back();
    std::vector<ipfixprobe_record> out;
    for (const auto& line : lines) {
        const auto f = split_csv_line(line);
        if (f.size() != header.size()) throw std::runtime_error(path + ": column count differs from template");
        auto at = [&](const char* name) -> const std::string& { return f.at(column.at(name)); };
        auto u16 = [&](const char* name) { return static_cast<std::uint16_t>(std::stoul(at(name))); };
        ipfixprobe_record r;
        r.SRC_IP = sipdetect::ip_address::parse(at("SRC_IP"));
        r.DST_IP = sipdetect::ip_address::parse(at("DST_IP"));
        r.SRC_PORT = u16("SRC_PORT");
        r.DST_PORT = u16("DST_PORT");
        r.TIME_LAST = parse_unirec_time(at("TIME_LAST"));
        r.PACKETS = static_cast<std::uint32_t>(std::stoul(at("PACKETS")));
        r.PACKETS_REV = static_cast<std::uint32_t>(std::stoul(at("PACKETS_REV")));
        r.SIP_MSG_TYPE = u16("SIP_MSG_TYPE");
        r.SIP_STATUS_CODE = u16("SIP_STATUS_CODE");
        r.SIP_CALLED_PARTY = at("SIP_CALLED_PARTY");
        r.SIP_CALLING_PARTY = at("SIP_CALLING_PARTY");
        r.SIP_CALL_ID = at("SIP_CALL_ID");
        r.SIP_CSEQ = at("SIP_CSEQ");
        r.SIP_REQUEST_URI = at("SIP_REQUEST_URI");
        r.SIP_USER_AGENT = at("SIP_USER_AGENT");
        r.SIP_VIA = at("SIP_VIA");
        out.push_back(std::move(r));
    }
    return out;
}
