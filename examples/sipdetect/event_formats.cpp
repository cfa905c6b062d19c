// sipdetect command-line program: the event formats (see event_formats.hpp).
#include "event_formats.hpp"

#include <sipdetect/fmt.hpp>
#include <sipdetect/json.hpp>
#include <sipdetect/version.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <utility>
#include <vector>

namespace sipdetect_cli {
namespace {

namespace d = sipdetect::detail;

constexpr std::string_view replacement_character = "\xef\xbf\xbd"; // U+FFFD

// ---- IDEA0 -----------------------------------------------------------------

std::string now_rfc3339() {
    return sipdetect::format_rfc3339(
        std::chrono::time_point_cast<std::chrono::microseconds>(std::chrono::system_clock::now()));
}

std::string json_strings(const std::vector<std::string>& items) { return d::json_array(items, d::json_quoted); }

// An IDEA Source or Target: the addresses split into IP4 and IP6, the ports, and SIP as the protocol.
std::string idea_endpoint(const std::vector<sipdetect::ip_address>& addresses, const std::vector<std::uint16_t>& ports) {
    std::vector<std::string> v4, v6;
    for (const sipdetect::ip_address& a : addresses) (a.is_v4() ? v4 : v6).push_back(a.to_string());
    d::json_object endpoint;
    if (!v4.empty()) endpoint.raw("IP4", json_strings(v4));
    if (!v6.empty()) endpoint.raw("IP6", json_strings(v6));
    if (!ports.empty())
        endpoint.raw("Port", d::json_array(ports, [](std::uint16_t p) { return std::to_string(p); }));
    endpoint.raw("Proto", R"(["sip"])");
    return endpoint.done();
}

template <class T> void append_unique(std::vector<T>& items, const T& item) {
    if (std::find(items.begin(), items.end(), item) == items.end()) items.push_back(item);
}

// The fields every IDEA alert of ours has, in the order IDEA's examples use.
struct idea_common {
    std::string id;
    std::string_view category;
    sipdetect::record_time detect, first, last;
    std::uint64_t connections;
    std::string description, note;
    std::string source, target; // endpoint objects; target empty when there is none
    std::string_view detector;
    std::string event_json; // the event in the program's JSON, kept whole under a private key
};

std::string idea_alert(const idea_common& c, std::string_view node_name) {
    d::json_object alert;
    alert.field("Format", "IDEA0")
        .field("ID", c.id)
        .field("CreateTime", now_rfc3339())
        .field("DetectTime", sipdetect::format_rfc3339(c.detect))
        .field("EventTime", sipdetect::format_rfc3339(c.first))
        .field("CeaseTime", sipdetect::format_rfc3339(c.last))
        .raw("Category", d::json_array(std::array{c.category}, d::json_quoted))
        .field("ConnCount", c.connections)
        .field("Description", c.description)
        .field("Note", c.note)
        .raw("Source", "[" + c.source + "]");
    if (!c.target.empty()) alert.raw("Target", "[" + c.target + "]");
    const std::string node = d::json_object{}
                                 .field("Name", node_name)
                                 .raw("Type", R"(["Flow","Protocol","Statistical"])")
                                 .raw("SW", R"(["sipdetect"])")
                                 .field("Note", fmt::format("sipdetect {}, detector {}", SIPDETECT_VERSION_STRING, c.detector))
                                 .done();
    return alert.raw("Node", "[" + node + "]").raw("_sipdetect", c.event_json).done();
}

// ---- CEF -------------------------------------------------------------------

// Appends s with `special` characters preceded by a backslash, CR and LF as
// \r and \n where `newlines_escaped` (the extension) and as U+FFFD elsewhere,
// and other control bytes and invalid UTF-8 as U+FFFD, so a value can neither
// end the line nor end itself early.
void append_cef_escaped(std::string& out, std::string_view s, std::string_view special, bool newlines_escaped) {
    for (std::size_t i = 0; i < s.size();) {
        const auto c = static_cast<unsigned char>(s[i]);
        if (special.find(static_cast<char>(c)) != std::string_view::npos) {
            out += '\\';
            out += static_cast<char>(c);
        } else if ((c == '\n' || c == '\r') && newlines_escaped) {
            out += c == '\n' ? "\\n" : "\\r";
        } else if (c < 0x20 || c == 0x7f) {
            out += replacement_character;
        } else if (const std::size_t n = d::utf8_sequence(s, i); n == 0) {
            out += replacement_character;
        } else {
            out.append(s.substr(i, n));
            i += n;
            continue;
        }
        ++i;
    }
}

class cef_line {
public:
    cef_line(std::string_view signature, std::string_view name, int severity) {
        out_ = "CEF:0|sipdetect|sipdetect|";
        header(SIPDETECT_VERSION_STRING);
        header(signature);
        header(name);
        out_ += fmt::format("{}|", severity);
    }
    cef_line& ext(std::string_view key, std::string_view value) {
        if (out_.back() != '|') out_ += ' ';
        out_ += key;
        out_ += '=';
        append_cef_escaped(out_, value, "\\=", true);
        return *this;
    }
    cef_line& ext(std::string_view key, std::uint64_t value) { return ext(key, std::to_string(value)); }
    cef_line& time(std::string_view key, sipdetect::record_time t) {
        return ext(key, std::to_string(sipdetect::micros_of(t) / 1000)); // milliseconds since the epoch
    }
    // A custom string with its label: cs1Label=submethod cs1=invite.
    cef_line& custom(std::string_view key, std::string_view label, std::string_view value) {
        return ext(fmt::format("{}Label", key), label).ext(key, value);
    }
    // The source address: src for IPv4; IPv6 has no src, it goes in c6a2 ("Source IPv6 Address").
    cef_line& source(const sipdetect::ip_address& a) {
        if (a.is_v4()) return ext("src", a.to_string());
        return ext("c6a2Label", "Source IPv6 Address").ext("c6a2", a.to_string());
    }
    std::string done() { return std::move(out_); }

private:
    void header(std::string_view field) {
        append_cef_escaped(out_, field, "\\|", false);
        out_ += '|';
    }
    std::string out_;
};

std::string joined(const std::vector<std::string>& items, std::string_view separator) {
    std::string out;
    for (const std::string& item : items) {
        if (!out.empty()) out += separator;
        out += item;
    }
    return out;
}

std::string targets_text(const std::vector<sipdetect::scan_target>& sample) {
    std::vector<std::string> each;
    each.reserve(sample.size());
    for (const sipdetect::scan_target& t : sample) each.push_back(fmt::format("{}", t));
    return joined(each, ", ");
}

std::string upper(std::string_view s) {
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(), [](char c) { return c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c; });
    return out;
}

// ---- what the formats share ------------------------------------------------

std::string scan_summary(const sipdetect::scan_event& e) {
    return fmt::format("sipscan #{} {}: {} sent {} {} requests to {} targets ({} hosts, {} users){}, {} answered 2xx, {} "
                       "answered with an error",
                       e.id, e.phase, e.source, e.requests, upper(to_string(e.submethod)), e.targets, e.hosts, e.users,
                       e.counts_saturated ? " or more" : "", e.successful_targets, e.failed_targets);
}

std::string proxy_summary(const sipdetect::proxy_event& e) {
    return fmt::format("sipproxy #{} new_proxy: {} sent requests for {} distinct From URIs{} to {} peers, {} requests, "
                       "{} answered 2xx{}",
                       e.id, e.source, e.uris, e.counts_saturated ? " or more" : "", e.peers.size(), e.requests,
                       e.successes, e.answers_judged ? "" : " (the input carried no answers)");
}

std::string campaign_summary(const sipdetect::campaign_event& e) {
    return fmt::format("sipcampaign #{} {}: {} sources sharing a fingerprint sent {} {} requests to {} targets ({} hosts, "
                       "{} users)",
                       e.id, e.phase, e.sources, e.requests, upper(to_string(e.submethod)), e.targets, e.hosts, e.users);
}

// A start is what an operator acts on; updates and the end follow it.
syslog_severity severity_of(sipdetect::scan_phase phase) {
    return phase == sipdetect::scan_phase::start ? syslog_severity::warning : syslog_severity::notice;
}

int cef_severity(sipdetect::scan_phase phase) { return phase == sipdetect::scan_phase::start ? 6 : 5; }
constexpr int cef_proxy_severity = 4;

} // namespace

std::optional<event_format> parse_event_format(std::string_view name) {
    if (name == "text") return event_format::text;
    if (name == "json") return event_format::json;
    if (name == "idea") return event_format::idea;
    if (name == "cef") return event_format::cef;
    return std::nullopt;
}

bool valid_idea_node_name(std::string_view name) {
    if (name.empty() || name.size() > 255) return false;
    bool word_start = true;
    for (const char c : name) {
        const bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
        const bool digit = c >= '0' && c <= '9';
        if (c == '.') {
            if (word_start) return false;
            word_start = true;
        } else if (word_start) {
            if (!letter) return false;
            word_start = false;
        } else if (!letter && !digit && c != '_' && c != '-') {
            return false;
        }
    }
    return !word_start;
}

event_formatter::event_formatter(event_format format, std::string idea_node)
    : format_(format), idea_node_(std::move(idea_node)), random_(std::random_device{}()) {}

std::string event_formatter::random_uuid() {
    const std::uint64_t high = (random_() & 0xffffffffffff0fffULL) | 0x0000000000004000ULL; // version 4
    const std::uint64_t low = (random_() & 0x3fffffffffffffffULL) | 0x8000000000000000ULL;  // variant 10
    return fmt::format("{:08x}-{:04x}-{:04x}-{:04x}-{:012x}", high >> 32, (high >> 16) & 0xffff, high & 0xffff, low >> 48,
                       low & 0xffffffffffffULL);
}

formatted_event event_formatter::operator()(const sipdetect::scan_event& e) {
    formatted_event out{{}, "sipscan", severity_of(e.phase)};
    switch (format_) {
    case event_format::text: out.line = fmt::format("{}", e); break;
    case event_format::json: out.line = sipdetect::to_json(e); break;
    case event_format::idea: {
        std::vector<sipdetect::ip_address> hosts;
        std::vector<std::uint16_t> ports;
        for (const sipdetect::scan_target& t : e.sample) {
            append_unique(hosts, t.host);
            append_unique(ports, t.port);
        }
        std::string note = scan_summary(e);
        if (!e.tool.empty()) note += fmt::format("; tool {}", e.tool);
        if (!e.user_agents.empty()) note += fmt::format("; User-Agent {}", joined(e.user_agents, ", "));
        if (!e.sample.empty()) note += fmt::format("; Target lists the hosts and ports of a sample of {} targets", e.sample.size());
        out.line = idea_alert({random_uuid(), "Recon.Scanning", e.last_seen, e.first_seen, e.last_seen, e.requests,
                               fmt::format("SIP {} {} scan", upper(to_string(e.submethod)), e.kind), std::move(note),
                               idea_endpoint({e.source}, {}), hosts.empty() ? std::string() : idea_endpoint(hosts, ports),
                               "sipscan", sipdetect::to_json(e)},
                              idea_node_);
        break;
    }
    case event_format::cef: {
        cef_line line(fmt::format("sipscan:{}", e.submethod),
                      fmt::format("SIP {} scan {}", upper(to_string(e.submethod)), e.phase), cef_severity(e.phase));
        line.time("rt", e.last_seen).time("start", e.first_seen).time("end", e.last_seen).source(e.source);
        if (e.hosts == 1 && !e.sample.empty() && e.sample.front().host.is_v4())
            line.ext("dst", e.sample.front().host.to_string()).ext("dpt", std::uint64_t{e.sample.front().port});
        line.ext("app", "SIP")
            .ext("cnt", e.requests)
            .ext("externalId", e.id)
            .ext("act", to_string(e.phase))
            .ext("cat", "Recon.Scanning")
            .ext("msg", scan_summary(e))
            .custom("cs1", "submethod", to_string(e.submethod))
            .custom("cs2", "kind", to_string(e.kind))
            .custom("cs3", "tool", e.tool)
            .custom("cs4", "userAgents", joined(e.user_agents, "\n"))
            .custom("cs5", "sampleTargets", targets_text(e.sample))
            .custom("cn1", "targets", std::to_string(e.targets))
            .custom("cn2", "hosts", std::to_string(e.hosts))
            .custom("cn3", "users", std::to_string(e.users));
        out.line = line.done();
        break;
    }
    }
    return out;
}

formatted_event event_formatter::operator()(const sipdetect::proxy_event& e) {
    formatted_event out{{}, "sipproxy", syslog_severity::notice};
    switch (format_) {
    case event_format::text: out.line = fmt::format("{}", e); break;
    case event_format::json: out.line = sipdetect::to_json(e); break;
    case event_format::idea: {
        std::string note = proxy_summary(e);
        if (!e.user_agents.empty()) note += fmt::format("; User-Agent {}", joined(e.user_agents, ", "));
        if (!e.uri_sample.empty()) note += fmt::format("; From URIs {}", joined(e.uri_sample, ", "));
        out.line = idea_alert({random_uuid(), "Anomaly.Traffic", e.detected_at, e.first_seen, e.last_seen, e.requests,
                               "New SIP proxy", std::move(note), idea_endpoint({e.source}, {}),
                               e.peers.empty() ? std::string() : idea_endpoint(e.peers, {}), "sipproxy",
                               sipdetect::to_json(e)},
                              idea_node_);
        break;
    }
    case event_format::cef: {
        cef_line line("sipproxy:new_proxy", "New SIP proxy", cef_proxy_severity);
        line.time("rt", e.detected_at).time("start", e.first_seen).time("end", e.last_seen).source(e.source);
        if (e.peers.size() == 1 && e.peers.front().is_v4()) line.ext("dst", e.peers.front().to_string());
        std::vector<std::string> peers;
        for (const sipdetect::ip_address& a : e.peers) peers.push_back(a.to_string());
        line.ext("app", "SIP")
            .ext("cnt", e.requests)
            .ext("externalId", e.id)
            .ext("act", "new_proxy")
            .ext("cat", "Anomaly.Traffic")
            .ext("msg", proxy_summary(e))
            .custom("cs1", "submethod", "general")
            .custom("cs2", "peers", joined(peers, ", "))
            .custom("cs4", "userAgents", joined(e.user_agents, "\n"))
            .custom("cs5", "fromUriSample", joined(e.uri_sample, "\n"))
            .custom("cn1", "uris", std::to_string(e.uris))
            .custom("cn2", "successes", std::to_string(e.successes));
        out.line = line.done();
        break;
    }
    }
    return out;
}

formatted_event event_formatter::operator()(const sipdetect::campaign_event& e) {
    formatted_event out{{}, "sipcampaign", severity_of(e.phase)};
    switch (format_) {
    case event_format::text: out.line = fmt::format("{}", e); break;
    case event_format::json: out.line = sipdetect::to_json(e); break;
    case event_format::idea: {
        std::string note = campaign_summary(e) + fmt::format("; they share: {}", e.fingerprint);
        if (!e.tool.empty()) note += fmt::format("; tool {}", e.tool);
        if (e.source_sample.size() < e.sources)
            note += fmt::format("; Source lists a sample of {} of the {} sources", e.source_sample.size(), e.sources);
        out.line = idea_alert({random_uuid(), "Recon.Scanning", e.last_seen, e.first_seen, e.last_seen, e.requests,
                               fmt::format("Distributed SIP {} {} scan", upper(to_string(e.submethod)), e.kind),
                               std::move(note), idea_endpoint(e.source_sample, {}), std::string(), "sipcampaign",
                               sipdetect::to_json(e)},
                              idea_node_);
        break;
    }
    case event_format::cef: {
        std::vector<std::string> sources;
        for (const sipdetect::ip_address& a : e.source_sample) sources.push_back(a.to_string());
        cef_line line(fmt::format("sipcampaign:{}", e.submethod),
                      fmt::format("Distributed SIP {} scan {}", upper(to_string(e.submethod)), e.phase),
                      cef_severity(e.phase));
        line.time("rt", e.last_seen).time("start", e.first_seen).time("end", e.last_seen);
        if (!e.source_sample.empty()) line.source(e.source_sample.front());
        line.ext("app", "SIP")
            .ext("cnt", e.requests)
            .ext("externalId", e.id)
            .ext("act", to_string(e.phase))
            .ext("cat", "Recon.Scanning")
            .ext("msg", campaign_summary(e))
            .custom("cs1", "submethod", to_string(e.submethod))
            .custom("cs2", "kind", to_string(e.kind))
            .custom("cs3", "tool", e.tool)
            .custom("cs4", "fingerprint", e.fingerprint)
            .custom("cs5", "sourceSample", joined(sources, ", "))
            .custom("cn1", "targets", std::to_string(e.targets))
            .custom("cn2", "hosts", std::to_string(e.hosts))
            .custom("cn3", "sources", std::to_string(e.sources));
        out.line = line.done();
        break;
    }
    }
    return out;
}

} // namespace sipdetect_cli
