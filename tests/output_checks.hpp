// Test-side readers of the alert formats, written from their published rules
// and independent of the code that writes them:
//  - idea_violations: IDEA0 (https://idea.cesnet.cz/en/definition): mandatory
//    Format "IDEA0", ID, DetectTime and Category; the types of the keys we
//    use; categories from the IDEA classification; Node.Name a dotted name.
//  - parse_cef: ArcSight CEF, "CEF:Version|Vendor|Product|Version|Signature
//    ID|Name|Severity|Extension", header fields with \| and \\ escapes, the
//    extension's key=value pairs with \=, \\, \n and \r escapes.
//  - parse_rfc5424 and read_octet_counted: RFC 5424 messages and RFC 6587
//    octet-counted TCP framing.
//  - syslog_receiver: a UDP, TCP or unix datagram receiver of our own.
#pragma once

#include "catch.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <regex>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

namespace output_checks {

// ---- UTF-8 -----------------------------------------------------------------

// RFC 3629 well-formedness, written here again so as not to trust the writer's.
inline bool valid_utf8(std::string_view s) {
    for (std::size_t i = 0; i < s.size();) {
        const auto c = static_cast<unsigned char>(s[i]);
        std::size_t n;
        std::uint32_t cp;
        if (c < 0x80) {
            ++i;
            continue;
        } else if ((c & 0xe0) == 0xc0) {
            n = 2;
            cp = c & 0x1fu;
        } else if ((c & 0xf0) == 0xe0) {
            n = 3;
            cp = c & 0x0fu;
        } else if ((c & 0xf8) == 0xf0) {
            n = 4;
            cp = c & 0x07u;
        } else {
            return false;
        }
        if (i + n > s.size()) return false;
        for (std::size_t k = 1; k < n; ++k) {
            const auto b = static_cast<unsigned char>(s[i + k]);
            if ((b & 0xc0) != 0x80) return false;
            cp = cp << 6 | (b & 0x3fu);
        }
        const std::uint32_t least[] = {0, 0, 0x80, 0x800, 0x10000};
        if (cp < least[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
        i += n;
    }
    return true;
}

// ---- IDEA0 -----------------------------------------------------------------

inline const std::set<std::string>& idea_categories() {
    static const std::set<std::string> all = {
        "Abusive.Spam", "Abusive.Harassment", "Abusive.Child", "Abusive.Sexual", "Abusive.Violence",
        "Malware.Virus", "Malware.Worm", "Malware.Trojan", "Malware.Spyware", "Malware.Dialer", "Malware.Rootkit",
        "Malware", "Recon.Scanning", "Recon.Sniffing", "Recon.SocialEngineering", "Recon.Searching",
        "Attempt.Exploit", "Attempt.Login", "Attempt.NewSignature", "Intrusion.AdminCompromise",
        "Intrusion.UserCompromise", "Intrusion.AppCompromise", "Intrusion.Botnet", "Availability.DoS",
        "Availability.DDoS", "Availability.Sabotage", "Availability.Outage", "Information.UnauthorizedAccess",
        "Information.UnauthorizedModification", "Fraud.UnauthorizedUsage", "Fraud.Copyright", "Fraud.Masquerade",
        "Fraud.Phishing", "Fraud.Scam", "Vulnerable.Open", "Vulnerable.Config", "Anomaly.Traffic",
        "Anomaly.Connection", "Anomaly.Protocol", "Anomaly.System", "Anomaly.Application", "Anomaly.Behaviour",
        "Other", "Test"};
    return all;
}

inline const std::set<std::string>& idea_node_types() {
    static const std::set<std::string> all = {
        "Connection", "Datagram", "Content", "Data", "File", "Flow", "Log", "Protocol", "Host", "Network",
        "Correlation", "External", "Reporting", "Blackhole", "Signature", "Statistical", "Heuristic", "Integrity",
        "Policy", "Honeypot", "Tarpit", "Recon", "Monitor"};
    return all;
}

inline bool idea_timestamp(const nlohmann::json& v) {
    static const std::regex rfc3339(R"(\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2}))");
    return v.is_string() && std::regex_match(v.get<std::string>(), rfc3339);
}

inline bool string_array(const nlohmann::json& v) {
    return v.is_array() && !v.empty() && std::all_of(v.begin(), v.end(), [](const auto& s) { return s.is_string(); });
}

inline bool address_array(const nlohmann::json& v, int family) {
    if (!string_array(v)) return false;
    for (const auto& s : v) {
        unsigned char buf[16];
        if (::inet_pton(family, s.get<std::string>().c_str(), buf) != 1) return false;
    }
    return true;
}

// Every rule of IDEA0 that a message of ours breaks, empty when it is valid.
inline std::vector<std::string> idea_violations(const nlohmann::json& m) {
    std::vector<std::string> out;
    const auto fail = [&](std::string what) { out.push_back(std::move(what)); };
    if (!m.is_object()) return {"not a JSON object"};
    static const std::set<std::string> known = {
        "Format", "ID", "AltNames", "CorrelID", "AggrID", "PredID", "RelID", "CreateTime", "DetectTime", "EventTime",
        "CeaseTime", "WinStartTime", "WinEndTime", "ConnCount", "FlowCount", "PacketCount", "ByteCount", "Category",
        "Ref", "Confidence", "Description", "Note", "Source", "Target", "Attach", "Node"};
    for (const auto& [key, value] : m.items())
        if (!known.contains(key) && !key.starts_with("_")) fail("unknown key " + key + " (extensions start with _)");
    if (m.value("Format", "") != "IDEA0") fail("Format is not \"IDEA0\"");
    static const std::regex uuid("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}");
    if (!m.contains("ID") || !m["ID"].is_string() || !std::regex_match(m["ID"].get<std::string>(), uuid))
        fail("ID is not a version 4 UUID");
    if (!m.contains("DetectTime")) fail("DetectTime missing");
    for (const char* key : {"CreateTime", "DetectTime", "EventTime", "CeaseTime", "WinStartTime", "WinEndTime"})
        if (m.contains(key) && !idea_timestamp(m[key])) fail(std::string(key) + " is not an RFC 3339 timestamp");
    if (!m.contains("Category") || !string_array(m["Category"])) fail("Category is not a non-empty array of strings");
    else
        for (const auto& c : m["Category"])
            if (!idea_categories().contains(c.get<std::string>())) fail("unknown Category " + c.get<std::string>());
    for (const char* key : {"ConnCount", "FlowCount", "PacketCount", "ByteCount"})
        if (m.contains(key) && !m[key].is_number_unsigned()) fail(std::string(key) + " is not a non-negative integer");
    for (const char* key : {"Description", "Note"})
        if (m.contains(key) && !m[key].is_string()) fail(std::string(key) + " is not a string");
    for (const char* side : {"Source", "Target"}) {
        if (!m.contains(side)) continue;
        if (!m[side].is_array() || m[side].empty()) {
            fail(std::string(side) + " is not a non-empty array");
            continue;
        }
        for (const auto& s : m[side]) {
            if (!s.is_object()) {
                fail(std::string(side) + " holds a non-object");
                continue;
            }
            if (s.contains("IP4") && !address_array(s["IP4"], AF_INET)) fail(std::string(side) + ".IP4 has a non-IPv4 item");
            if (s.contains("IP6") && !address_array(s["IP6"], AF_INET6)) fail(std::string(side) + ".IP6 has a non-IPv6 item");
            if (s.contains("Port")) {
                const auto& ports = s["Port"];
                if (!ports.is_array() || ports.empty() ||
                    !std::all_of(ports.begin(), ports.end(),
                                 [](const auto& p) { return p.is_number_unsigned() && p.template get<unsigned>() <= 65535; }))
                    fail(std::string(side) + ".Port is not an array of port numbers");
            }
            if (s.contains("Proto")) {
                if (!string_array(s["Proto"])) fail(std::string(side) + ".Proto is not an array of strings");
                else
                    for (const auto& p : s["Proto"]) {
                        const std::string name = p.get<std::string>();
                        if (name.empty() || std::any_of(name.begin(), name.end(), [](char c) { return c >= 'A' && c <= 'Z'; }))
                            fail(std::string(side) + ".Proto is not a lower-case protocol name");
                    }
            }
            for (const auto& [key, value] : s.items())
                if (key != "IP4" && key != "IP6" && key != "Port" && key != "Proto" && key != "Type" && key != "Note")
                    fail(std::string(side) + " has a key outside the ones checked: " + key);
        }
    }
    if (!m.contains("Node") || !m["Node"].is_array() || m["Node"].empty()) {
        fail("Node is not a non-empty array");
    } else {
        static const std::regex name("[a-zA-Z][a-zA-Z0-9_-]*(\\.[a-zA-Z][a-zA-Z0-9_-]*)*");
        for (const auto& n : m["Node"]) {
            if (!n.contains("Name") || !n["Name"].is_string() || !std::regex_match(n["Name"].get<std::string>(), name))
                fail("Node.Name is not a dotted name");
            if (n.contains("SW") && !string_array(n["SW"])) fail("Node.SW is not an array of strings");
            if (n.contains("Type")) {
                if (!string_array(n["Type"])) fail("Node.Type is not an array of strings");
                else
                    for (const auto& t : n["Type"])
                        if (!idea_node_types().contains(t.get<std::string>())) fail("unknown Node.Type " + t.get<std::string>());
            }
        }
    }
    return out;
}

// ---- CEF -------------------------------------------------------------------

struct cef_message {
    std::vector<std::string> header; // version ("0"), vendor, product, version, signature, name, severity
    std::vector<std::pair<std::string, std::string>> extension; // in order, unescaped
    std::string get(const std::string& key) const {
        for (const auto& [k, v] : extension)
            if (k == key) return v;
        return "<missing " + key + ">";
    }
    std::size_t count(const std::string& key) const {
        return static_cast<std::size_t>(
            std::count_if(extension.begin(), extension.end(), [&](const auto& kv) { return kv.first == key; }));
    }
};

// Parses a CEF line; throws std::runtime_error naming the rule it breaks.
inline cef_message parse_cef(std::string_view line) {
    const auto fail = [&](const std::string& why) { throw std::runtime_error(why + " in: " + std::string(line)); };
    if (!line.starts_with("CEF:")) fail("no CEF: prefix");
    if (line.find('\n') != std::string_view::npos || line.find('\r') != std::string_view::npos) fail("a raw line break");
    cef_message m;
    std::size_t at = 4;
    std::string field;
    while (m.header.size() < 7) {
        if (at >= line.size()) fail("fewer than 8 header fields");
        const char c = line[at++];
        if (c == '\\') {
            if (at >= line.size() || (line[at] != '|' && line[at] != '\\')) fail("a header backslash escaping neither | nor \\");
            field += line[at++];
        } else if (c == '|') {
            m.header.push_back(std::move(field));
            field.clear();
        } else {
            field += c;
        }
    }
    const std::string& severity = m.header[6];
    if (severity.empty() || severity.size() > 2 || !std::all_of(severity.begin(), severity.end(), ::isdigit) ||
        std::stoi(severity) > 10)
        fail("severity is not 0-10");
    // The extension: an unescaped '=' ends a key, which is the word before it;
    // a value runs to the space before the next key.
    const std::string_view ext = line.substr(at);
    std::vector<std::size_t> equals;
    for (std::size_t i = 0; i < ext.size(); ++i) {
        if (ext[i] == '\\') {
            ++i;
            continue;
        }
        if (ext[i] == '=') equals.push_back(i);
    }
    const auto key_start = [&](std::size_t eq) {
        std::size_t k = eq;
        while (k > 0 && (std::isalnum(static_cast<unsigned char>(ext[k - 1])) || ext[k - 1] == '_')) --k;
        if (k == eq || (k > 0 && ext[k - 1] != ' ')) fail("an unescaped = not after a key");
        return k;
    };
    for (std::size_t n = 0; n < equals.size(); ++n) {
        const std::size_t k = key_start(equals[n]);
        if (n == 0 && k != 0) fail("text before the first key");
        const std::size_t value_end = n + 1 < equals.size() ? key_start(equals[n + 1]) - 1 : ext.size();
        std::string value;
        for (std::size_t i = equals[n] + 1; i < value_end; ++i) {
            if (ext[i] != '\\') {
                value += ext[i];
                continue;
            }
            if (++i >= value_end) fail("a dangling backslash");
            switch (ext[i]) {
            case '\\': value += '\\'; break;
            case '=': value += '='; break;
            case 'n': value += '\n'; break;
            case 'r': value += '\r'; break;
            default: fail("an unknown extension escape");
            }
        }
        m.extension.emplace_back(std::string(ext.substr(k, equals[n] - k)), std::move(value));
    }
    if (equals.empty() && !ext.empty()) fail("an extension without key=value");
    return m;
}

// ---- RFC 5424 and RFC 6587 -------------------------------------------------

struct syslog_message {
    unsigned pri = 0;
    std::string timestamp, hostname, app, procid, msgid, structured_data;
    bool bom = false;
    std::string msg; // after the BOM
};

inline syslog_message parse_rfc5424(const std::string& text) {
    static const std::regex header(R"(<(\d{1,3})>1 (\S+) (\S+) (\S+) (\S+) (\S+) (-|\[.*?\]) ?)");
    std::smatch m;
    if (!std::regex_search(text, m, header, std::regex_constants::match_continuous))
        throw std::runtime_error("not an RFC 5424 message: " + text.substr(0, 200));
    syslog_message s;
    s.pri = static_cast<unsigned>(std::stoul(m[1]));
    s.timestamp = m[2];
    s.hostname = m[3];
    s.app = m[4];
    s.procid = m[5];
    s.msgid = m[6];
    s.structured_data = m[7];
    std::string rest = text.substr(static_cast<std::size_t>(m.length(0)));
    s.bom = rest.starts_with("\xef\xbb\xbf");
    s.msg = s.bom ? rest.substr(3) : rest;
    return s;
}

// Splits a TCP stream into its octet-counted frames; throws on a bad frame.
inline std::vector<std::string> read_octet_counted(std::string_view stream) {
    std::vector<std::string> frames;
    while (!stream.empty()) {
        const std::size_t space = stream.find(' ');
        if (space == std::string_view::npos || space == 0 || space > 9) throw std::runtime_error("bad MSG-LEN");
        const std::string digits(stream.substr(0, space));
        if (!std::all_of(digits.begin(), digits.end(), ::isdigit) || digits[0] == '0')
            throw std::runtime_error("MSG-LEN not NONZERO-DIGIT *DIGIT");
        const std::size_t length = std::stoul(digits);
        if (stream.size() < space + 1 + length) throw std::runtime_error("a frame cut short");
        frames.emplace_back(stream.substr(space + 1, length));
        stream.remove_prefix(space + 1 + length);
    }
    return frames;
}

// A receiver on 127.0.0.1 (UDP or TCP, a free port) or on a unix datagram
// socket at a path, collecting what arrives in a thread until stop().
class syslog_receiver {
public:
    enum class kind { udp, tcp, unix_datagram };
    explicit syslog_receiver(kind k, std::filesystem::path unix_path = {}) : kind_(k), path_(std::move(unix_path)) {
        if (k == kind::unix_datagram) {
            fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
            sockaddr_un a{};
            a.sun_family = AF_UNIX;
            std::strncpy(a.sun_path, path_.c_str(), sizeof a.sun_path - 1);
            std::filesystem::remove(path_);
            REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
        } else {
            fd_ = ::socket(AF_INET, (k == kind::udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC, 0);
            sockaddr_in a{};
            a.sin_family = AF_INET;
            a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
            REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
            socklen_t size = sizeof a;
            REQUIRE(::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &size) == 0);
            port_ = ntohs(a.sin_port);
            if (k == kind::tcp) REQUIRE(::listen(fd_, 8) == 0);
        }
        const int big = 8 << 20;
        (void)::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
        thread_ = std::thread([this] { run(); });
    }
    ~syslog_receiver() {
        stop();
        ::close(fd_);
        if (kind_ == kind::unix_datagram) std::filesystem::remove(path_);
    }
    syslog_receiver(const syslog_receiver&) = delete;
    syslog_receiver& operator=(const syslog_receiver&) = delete;

    std::string target() const {
        switch (kind_) {
        case kind::udp: return "udp:127.0.0.1:" + std::to_string(port_);
        case kind::tcp: return "tcp:127.0.0.1:" + std::to_string(port_);
        case kind::unix_datagram: return "unix:" + path_.string();
        }
        return {};
    }

    // Stops after reading everything already sent; returns the messages (TCP: de-framed).
    std::vector<std::string> stop() {
        if (thread_.joinable()) {
            stopping_ = true;
            thread_.join();
        }
        std::vector<std::string> out = datagrams_;
        for (const std::string& stream : streams_)
            for (std::string& frame : read_octet_counted(stream)) out.push_back(std::move(frame));
        return out;
    }
    std::size_t connections() const { return streams_.size(); }

    // TCP: reads what the open connections hold, then closes them, as a
    // receiver that restarts does (the listener stays).
    void drop_connections() {
        for (int i = 0; i < 100 && accepted_ == 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
        REQUIRE(accepted_ > 0);
        dropping_ = true;
        for (int i = 0; i < 100 && dropping_; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
        REQUIRE_FALSE(dropping_);
    }

private:
    // Reads until stop() and then until a quiet 200 ms, so nothing sent before stop() is missed.
    void run() {
        std::vector<pollfd> fds{{fd_, POLLIN, 0}};
        auto quiet_since = std::chrono::steady_clock::now();
        const auto close_connections = [&] {
            for (std::size_t i = 1; i < fds.size(); ++i) {
                if (fds[i].fd < 0) continue;
                std::string buf(256 * 1024, '\0');
                for (ssize_t n; (n = ::recv(fds[i].fd, buf.data(), buf.size(), MSG_DONTWAIT)) > 0;)
                    streams_[i - 1].append(buf.data(), static_cast<std::size_t>(n));
                ::close(fds[i].fd);
                fds[i].fd = -1;
            }
        };
        for (;;) {
            if (dropping_) {
                close_connections();
                dropping_ = false;
            }
            const int ready = ::poll(fds.data(), fds.size(), 50);
            const auto now = std::chrono::steady_clock::now();
            if (ready <= 0) {
                if (stopping_ && now - quiet_since > std::chrono::milliseconds(200)) {
                    close_connections();
                    return;
                }
                continue;
            }
            quiet_since = now;
            for (std::size_t i = 0; i < fds.size(); ++i) {
                if ((fds[i].revents & (POLLIN | POLLHUP | POLLERR)) == 0) continue;
                if (kind_ == kind::tcp && i == 0) {
                    const int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
                    if (c >= 0) {
                        fds.push_back({c, POLLIN, 0});
                        streams_.emplace_back();
                        ++accepted_;
                    }
                    continue;
                }
                std::string buf(256 * 1024, '\0');
                const ssize_t n = ::recv(fds[i].fd, buf.data(), buf.size(), 0);
                if (kind_ != kind::tcp) {
                    if (n >= 0) datagrams_.emplace_back(buf.data(), static_cast<std::size_t>(n));
                } else if (n > 0) {
                    streams_[i - 1].append(buf.data(), static_cast<std::size_t>(n));
                } else {
                    ::close(fds[i].fd);
                    fds[i].fd = -1; // poll ignores negative descriptors
                }
            }
        }
    }

    kind kind_;
    std::filesystem::path path_;
    int fd_ = -1;
    std::uint16_t port_ = 0;
    std::thread thread_;
    std::atomic<bool> stopping_{false}, dropping_{false};
    std::atomic<std::size_t> accepted_{0};
    std::vector<std::string> datagrams_, streams_;
};

} // namespace output_checks
