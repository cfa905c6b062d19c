// sipdetect: events as JSON lines, dependency-free.
//
// One object per event; the schema is in README "Event schema" and is the
// same as the sipdetect program's --json output. Every string that came off
// the network is escaped: quotes, backslashes, control bytes, and invalid
// UTF-8 (replaced by U+FFFD), so a line is always one valid JSON object.
#pragma once

#include <sipdetect/campaign_detector.hpp>
#include <sipdetect/proxy_detector.hpp>
#include <sipdetect/scan_detector.hpp>
#include <sipdetect/version.hpp>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

SIPDETECT_NAMESPACE_BEGIN

// RFC 3339 UTC with microseconds, e.g. 2016-08-16T08:27:28.605282Z. Times
// outside years 0000-9999 are clamped to that range, which RFC 3339 can express.
inline std::string format_rfc3339(record_time t) {
    using namespace std::chrono;
    constexpr auto lowest = sys_days{year{0} / January / 1};
    constexpr auto highest = sys_days{year{9999} / December / 31} + hours{23} + minutes{59} + seconds{59};
    if (t < time_point_cast<microseconds>(lowest)) t = time_point_cast<microseconds>(lowest);
    if (t > time_point_cast<microseconds>(highest) + microseconds{999999})
        t = time_point_cast<microseconds>(highest) + microseconds{999999};
    const auto day = floor<std::chrono::days>(t);
    const year_month_day ymd{day};
    const hh_mm_ss<microseconds> tod{t - day};
    char buf[40];
    std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02d.%06dZ", static_cast<int>(ymd.year()),
                  static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                  static_cast<int>(tod.hours().count()), static_cast<int>(tod.minutes().count()),
                  static_cast<int>(tod.seconds().count()), static_cast<int>(tod.subseconds().count()));
    return buf;
}

namespace detail {

// Length of the valid UTF-8 sequence at s[i], or 0 if it is not valid
// (overlong forms, surrogates and code points above U+10FFFF are invalid).
inline std::size_t utf8_sequence(std::string_view s, std::size_t i) noexcept {
    const auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
    const unsigned c = b(i);
    if (c < 0x80) return 1;
    std::size_t n;
    unsigned lo = 0x80, hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf) n = 2;
    else if (c == 0xe0) { n = 3; lo = 0xa0; }
    else if (c == 0xed) { n = 3; hi = 0x9f; }
    else if (c >= 0xe1 && c <= 0xef) n = 3;
    else if (c == 0xf0) { n = 4; lo = 0x90; }
    else if (c >= 0xf1 && c <= 0xf3) n = 4;
    else if (c == 0xf4) { n = 4; hi = 0x8f; }
    else return 0;
    if (i + n > s.size()) return 0;
    if (b(i + 1) < lo || b(i + 1) > hi) return 0;
    for (std::size_t k = 2; k < n; ++k)
        if (b(i + k) < 0x80 || b(i + k) > 0xbf) return 0;
    return n;
}

inline void append_json_string(std::string& out, std::string_view s) {
    static constexpr char hex[] = "0123456789abcdef";
    out += '"';
    for (std::size_t i = 0; i < s.size();) {
        const auto c = static_cast<unsigned char>(s[i]);
        if (c == '"' || c == '\\') {
            out += '\\';
            out += static_cast<char>(c);
            ++i;
        } else if (c < 0x20 || c == 0x7f) {
            switch (c) {
            case '\n': out += "\\n"; break;
            case '\r': out += "\\r"; break;
            case '\t': out += "\\t"; break;
            default:
                out += "\\u00";
                out += hex[c >> 4];
                out += hex[c & 0xf];
            }
            ++i;
        } else if (const std::size_t n = utf8_sequence(s, i); n > 0) {
            out.append(s.substr(i, n));
            i += n;
        } else {
            out += "\\ufffd";
            ++i;
        }
    }
    out += '"';
}

class json_object {
public:
    json_object() { out_ += '{'; }
    json_object& field(std::string_view name, std::string_view value) {
        key(name);
        append_json_string(out_, value);
        return *this;
    }
    json_object& field(std::string_view name, const char* value) { return field(name, std::string_view(value)); }
    json_object& field(std::string_view name, std::uint64_t value) {
        key(name);
        out_ += std::to_string(value);
        return *this;
    }
    json_object& field(std::string_view name, bool value) {
        key(name);
        out_ += value ? "true" : "false";
        return *this;
    }
    json_object& raw(std::string_view name, std::string_view json) {
        key(name);
        out_ += json;
        return *this;
    }
    std::string done() {
        out_ += '}';
        return std::move(out_);
    }

private:
    void key(std::string_view name) {
        if (out_.size() > 1) out_ += ',';
        append_json_string(out_, name);
        out_ += ':';
    }
    std::string out_;
};

template <class Range, class Format>
std::string json_array(const Range& items, Format&& format) {
    std::string out = "[";
    for (const auto& item : items) {
        if (out.size() > 1) out += ',';
        out += format(item);
    }
    out += ']';
    return out;
}

inline std::string json_quoted(std::string_view s) {
    std::string out;
    append_json_string(out, s);
    return out;
}

inline std::string_view answer_of(const scan_target& t) noexcept {
    if (t.answered_success) return "2xx";
    if (t.answered_failure) return "error";
    return "none";
}

} // namespace detail

inline std::string to_json(const scan_event& e) {
    return detail::json_object{}
        .field("detector", "sipscan")
        .field("event", to_string(e.phase))
        .field("id", e.id)
        .field("source", e.source.to_string())
        .field("submethod", to_string(e.submethod))
        .field("kind", to_string(e.kind))
        .field("hosts", std::uint64_t{e.hosts})
        .field("users", std::uint64_t{e.users})
        .field("targets", std::uint64_t{e.targets})
        .field("counts_saturated", e.counts_saturated)
        .field("requests", e.requests)
        .field("successful_targets", std::uint64_t{e.successful_targets})
        .field("failed_targets", std::uint64_t{e.failed_targets})
        .field("first_seen", format_rfc3339(e.first_seen))
        .field("last_seen", format_rfc3339(e.last_seen))
        .field("tool", e.tool)
        .raw("user_agents", detail::json_array(e.user_agents, detail::json_quoted))
        .raw("sample", detail::json_array(e.sample,
                                          [](const scan_target& t) {
                                              return detail::json_object{}
                                                  .field("host", t.host.to_string())
                                                  .field("port", std::uint64_t{t.port})
                                                  .field("user", t.user)
                                                  .field("answer", detail::answer_of(t))
                                                  .field("status", std::uint64_t{t.status})
                                                  .done();
                                          }))
        .done();
}

inline std::string to_json(const proxy_event& e) {
    return detail::json_object{}
        .field("detector", "sipproxy")
        .field("event", "new_proxy")
        .field("id", e.id)
        .field("source", e.source.to_string())
        .field("submethod", "general")
        .field("uris", std::uint64_t{e.uris})
        .field("counts_saturated", e.counts_saturated)
        .field("first_seen", format_rfc3339(e.first_seen))
        .field("last_seen", format_rfc3339(e.last_seen))
        .field("detected_at", format_rfc3339(e.detected_at))
        .field("requests", e.requests)
        .field("successes", e.successes)
        .field("answers_judged", e.answers_judged)
        .field("min_via", std::uint64_t{e.min_via})
        .field("max_via", std::uint64_t{e.max_via})
        .raw("uri_sample", detail::json_array(e.uri_sample, detail::json_quoted))
        .raw("peers", detail::json_array(e.peers, [](const ip_address& a) { return detail::json_quoted(a.to_string()); }))
        .raw("user_agents", detail::json_array(e.user_agents, detail::json_quoted))
        .done();
}

inline std::string to_json(const campaign_event& e) {
    return detail::json_object{}
        .field("detector", "sipcampaign")
        .field("event", to_string(e.phase))
        .field("id", e.id)
        .field("submethod", to_string(e.submethod))
        .field("kind", to_string(e.kind))
        .field("sources", std::uint64_t{e.sources})
        .raw("source_sample",
             detail::json_array(e.source_sample, [](const ip_address& a) { return detail::json_quoted(a.to_string()); }))
        .field("hosts", std::uint64_t{e.hosts})
        .field("users", std::uint64_t{e.users})
        .field("targets", std::uint64_t{e.targets})
        .field("requests", e.requests)
        .field("first_seen", format_rfc3339(e.first_seen))
        .field("last_seen", format_rfc3339(e.last_seen))
        .field("tool", e.tool)
        .field("fingerprint", e.fingerprint)
        .done();
}

// A proxy of the SIPPROXY baseline (proxy_detector::learned_proxies()). It is
// not an event: it has "baseline" where events have "event", so a reader of
// events can tell the two apart on one stream.
inline std::string to_json(const known_proxy& p) {
    return detail::json_object{}
        .field("detector", "sipproxy")
        .field("baseline", "learned_proxy")
        .field("source", p.address.to_string())
        .field("first_seen", format_rfc3339(p.first_seen))
        .field("last_seen", format_rfc3339(p.last_seen))
        .field("learned_at", format_rfc3339(p.learned_at))
        .field("learned_in_training", p.learned_in_training)
        .done();
}

SIPDETECT_NAMESPACE_END
