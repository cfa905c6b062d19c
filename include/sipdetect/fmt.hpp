// sipdetect: {fmt} formatters (optional; needs {fmt} 9 or later).
//
// The only sipdetect header that needs {fmt}; nothing else includes it.
//
//   fmt::print("{}\n", event);   // one line per scan_event / proxy_event / campaign_event
//   fmt::print("{:>15}", addr);  // addresses, prefixes and prefix sets take
//                                // the string format spec (width, alignment)
//
// Events print as one readable line, e.g.
//   2016-08-16T08:27:28.605282Z sipscan start #1 147.32.77.113 invite horizontal
//     hosts=3 users=1 targets=9 requests=9 tool=sipvicious successful_targets=0 ...
// (one line; wrapped here). The leading time is last_seen for scans and
// detected_at for proxies. Field names are those of the JSON schema.
//
// Strings that came off the network (users, user agents, URIs) are printed in
// double quotes with `"` and `\` escaped, \n \r \t, other control bytes and
// invalid UTF-8 as \xNN, and code points that break or reorder a line (C1
// controls, U+2028/U+2029, bidirectional and zero-width marks) as \uNNNN, so
// a line stays one line and reads the same in any terminal or log viewer.
// Valid UTF-8 text is kept as is.
//
// A config prints as one line of its parameters; a hash_seed that is set is
// shown as "custom", never its value (it is meant to be secret), an unset
// one as "random".
#pragma once

#include <sipdetect/address.hpp>
#include <sipdetect/clock.hpp>
#include <sipdetect/campaign_detector.hpp>
#include <sipdetect/json.hpp>
#include <sipdetect/proxy_detector.hpp>
#include <sipdetect/record.hpp>
#include <sipdetect/scan_detector.hpp>
#include <sipdetect/version.hpp>

#include <fmt/format.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <vector>

SIPDETECT_NAMESPACE_BEGIN
namespace detail {

// True for code points that end or reorder a line or hide text: C1 controls
// (NEL among them), the Arabic letter mark, zero-width and directional marks,
// the line and paragraph separators, embeddings, overrides and isolates,
// invisible operators and the BOM.
constexpr bool fmt_unsafe_code_point(char32_t cp) noexcept {
    return (cp >= 0x80 && cp <= 0x9f) || cp == 0x61c || (cp >= 0x200b && cp <= 0x200f) ||
           (cp >= 0x2028 && cp <= 0x202e) || (cp >= 0x2060 && cp <= 0x2069) || cp == 0xfeff;
}

// Code point of the valid UTF-8 sequence of length n (2..4) at p.
constexpr char32_t fmt_decode_utf8(const char* p, std::size_t n) noexcept {
    const auto b = [p](std::size_t k) { return static_cast<char32_t>(static_cast<unsigned char>(p[k])); };
    if (n == 2) return (b(0) & 0x1f) << 6 | (b(1) & 0x3f);
    if (n == 3) return (b(0) & 0x0f) << 12 | (b(1) & 0x3f) << 6 | (b(2) & 0x3f);
    return (b(0) & 0x07) << 18 | (b(1) & 0x3f) << 12 | (b(2) & 0x3f) << 6 | (b(3) & 0x3f);
}

// Writes s escaped as described at the top of this header, in double quotes
// when `quoted`; unquoted, a space is escaped too (\x20) so the value stays
// one token.
template <class OutputIt>
OutputIt fmt_write_escaped(OutputIt out, std::string_view s, bool quoted) {
    constexpr char hex[] = "0123456789abcdef";
    const auto put = [&out](char c) { *out++ = c; };
    const auto put_byte = [&](unsigned c) {
        put('\\');
        put('x');
        put(hex[(c >> 4) & 0xf]);
        put(hex[c & 0xf]);
    };
    if (quoted) put('"');
    for (std::size_t i = 0; i < s.size();) {
        const auto c = static_cast<unsigned char>(s[i]);
        if (c == '\\' || (quoted && c == '"')) {
            put('\\');
            put(static_cast<char>(c));
        } else if (c == '\n') {
            put('\\');
            put('n');
        } else if (c == '\r') {
            put('\\');
            put('r');
        } else if (c == '\t') {
            put('\\');
            put('t');
        } else if (c < 0x20 || c == 0x7f || (!quoted && c == ' ')) {
            put_byte(c);
        } else if (c < 0x80) {
            put(static_cast<char>(c));
        } else if (const std::size_t n = utf8_sequence(s, i); n == 0) {
            put_byte(c); // invalid UTF-8: this byte only, then resynchronise
        } else {
            const char32_t cp = fmt_decode_utf8(s.data() + i, n);
            if (fmt_unsafe_code_point(cp)) {
                put('\\');
                put('u');
                for (int shift = 12; shift >= 0; shift -= 4) put(hex[(cp >> shift) & 0xf]);
            } else {
                for (std::size_t k = 0; k < n; ++k) put(s[i + k]);
            }
            i += n;
            continue;
        }
        ++i;
    }
    if (quoted) put('"');
    return out;
}

// "[a, b]" with each element written by write(out, element).
template <class OutputIt, class Range, class Write>
OutputIt fmt_write_list(OutputIt out, const Range& items, Write write) {
    *out++ = '[';
    bool first = true;
    for (const auto& item : items) {
        if (!first) {
            *out++ = ',';
            *out++ = ' ';
        }
        first = false;
        out = write(out, item);
    }
    *out++ = ']';
    return out;
}

template <class OutputIt>
OutputIt fmt_write_quoted_list(OutputIt out, const std::vector<std::string>& items) {
    return fmt_write_list(out, items, [](OutputIt o, const std::string& s) { return fmt_write_escaped(o, s, true); });
}

// Seconds, with up to six decimals when not whole: 3600s, 0.25s, -1.5s.
template <class OutputIt>
OutputIt fmt_write_duration(OutputIt out, record_duration d) {
    const std::int64_t us = d.count();
    const std::uint64_t magnitude =
        us < 0 ? std::uint64_t{0} - static_cast<std::uint64_t>(us) : static_cast<std::uint64_t>(us);
    if (us < 0) *out++ = '-';
    const std::uint64_t whole = magnitude / 1000000u;
    std::uint64_t fraction = magnitude % 1000000u;
    if (fraction == 0) return fmt::format_to(out, "{}s", whole);
    int digits = 6;
    while (fraction % 10 == 0) {
        fraction /= 10;
        --digits;
    }
    return fmt::format_to(out, "{}.{:0{}}s", whole, fraction, digits);
}

// A prefix list as its to_string() text (comma-separated, parseable), "-" when empty.
template <class OutputIt>
OutputIt fmt_write_prefixes(OutputIt out, const prefix_set& set) {
    if (set.empty()) {
        *out++ = '-';
        return out;
    }
    return fmt_write_escaped(out, set.to_string(), false);
}

constexpr std::string_view fmt_bool(bool b) noexcept { return b ? "true" : "false"; }

constexpr std::string_view fmt_filter_mode_name(proxy_filter_mode m) noexcept {
    switch (m) {
    case proxy_filter_mode::exclude_devices: return "exclude_devices";
    case proxy_filter_mode::exclude_internal: return "exclude_internal";
    }
    return "unknown";
}

template <class OutputIt, class T> OutputIt fmt_write_config_value(OutputIt out, const T& v) {
    if constexpr (std::is_same_v<T, bool>) return fmt::format_to(out, "{}", fmt_bool(v));
    else if constexpr (std::is_same_v<T, record_duration>) return fmt_write_duration(out, v);
    else if constexpr (std::is_same_v<T, prefix_set>) return fmt_write_prefixes(out, v);
    else if constexpr (std::is_same_v<T, proxy_filter_mode>) return fmt::format_to(out, "{}", fmt_filter_mode_name(v));
    else return fmt::format_to(out, "{}", v);
}

// A config's fields from its list, in order, then whether its seed is set
// (never the seed itself).
template <class OutputIt, class Config, class... T>
OutputIt fmt_write_config(OutputIt out, std::string_view title, const Config& c,
                          const std::tuple<config_field<Config, T>...>& fields) {
    out = fmt::format_to(out, "{}", title);
    std::apply(
        [&](const auto&... f) {
            ((out = fmt_write_config_value(fmt::format_to(out, " {}=", f.name), c.*(f.member))), ...);
        },
        fields);
    return fmt::format_to(out, " hash_seed={}", c.hash_seed ? "custom" : "random");
}

// Base of the formatters that take no format spec: "{}" only.
struct fmt_empty_spec {
    template <class ParseContext>
    constexpr auto parse(ParseContext& ctx) -> decltype(ctx.begin()) {
        auto it = ctx.begin();
        if (it != ctx.end() && *it != '}') throw fmt::format_error("sipdetect: this type takes no format spec");
        return it;
    }
};

} // namespace detail
SIPDETECT_NAMESPACE_END

// Addresses and prefixes take the string spec: "{:>39}", "{:<18}".
template <>
struct fmt::formatter<sipdetect::ip_address> : fmt::formatter<std::string_view> {
    template <class FormatContext>
    auto format(const sipdetect::ip_address& a, FormatContext& ctx) const -> decltype(ctx.out()) {
        return fmt::formatter<std::string_view>::format(a.to_string(), ctx);
    }
};

template <>
struct fmt::formatter<sipdetect::ip_prefix> : fmt::formatter<std::string_view> {
    template <class FormatContext>
    auto format(const sipdetect::ip_prefix& p, FormatContext& ctx) const -> decltype(ctx.out()) {
        return fmt::formatter<std::string_view>::format(p.to_string(), ctx);
    }
};

// The to_string() form, "10.0.0.0/8,2001:db8::/32", which prefix_set::parse reads back.
template <>
struct fmt::formatter<sipdetect::prefix_set> : fmt::formatter<std::string_view> {
    template <class FormatContext>
    auto format(const sipdetect::prefix_set& s, FormatContext& ctx) const -> decltype(ctx.out()) {
        return fmt::formatter<std::string_view>::format(s.to_string(), ctx);
    }
};

// The enumerations print their schema names: "invite", "start", "horizontal", "INVITE".
template <>
struct fmt::formatter<sipdetect::scan_submethod> : fmt::formatter<std::string_view> {
    template <class FormatContext>
    auto format(sipdetect::scan_submethod v, FormatContext& ctx) const -> decltype(ctx.out()) {
        return fmt::formatter<std::string_view>::format(to_string(v), ctx);
    }
};

template <>
struct fmt::formatter<sipdetect::scan_phase> : fmt::formatter<std::string_view> {
    template <class FormatContext>
    auto format(sipdetect::scan_phase v, FormatContext& ctx) const -> decltype(ctx.out()) {
        return fmt::formatter<std::string_view>::format(to_string(v), ctx);
    }
};

template <>
struct fmt::formatter<sipdetect::scan_kind> : fmt::formatter<std::string_view> {
    template <class FormatContext>
    auto format(sipdetect::scan_kind v, FormatContext& ctx) const -> decltype(ctx.out()) {
        return fmt::formatter<std::string_view>::format(to_string(v), ctx);
    }
};

template <>
struct fmt::formatter<sipdetect::sip_method> : fmt::formatter<std::string_view> {
    template <class FormatContext>
    auto format(sipdetect::sip_method v, FormatContext& ctx) const -> decltype(ctx.out()) {
        return fmt::formatter<std::string_view>::format(to_string(v), ctx);
    }
};

template <>
struct fmt::formatter<sipdetect::proxy_filter_mode> : fmt::formatter<std::string_view> {
    template <class FormatContext>
    auto format(sipdetect::proxy_filter_mode v, FormatContext& ctx) const -> decltype(ctx.out()) {
        return fmt::formatter<std::string_view>::format(sipdetect::detail::fmt_filter_mode_name(v), ctx);
    }
};

// One probed target: 198.51.100.7:5060 "100" 404, [2001:db8::7]:5060 "alice" -
// (the status is a 2xx once one was seen, else the last 3xx-6xx; "-" if none).
template <>
struct fmt::formatter<sipdetect::scan_target> : sipdetect::detail::fmt_empty_spec {
    template <class FormatContext>
    auto format(const sipdetect::scan_target& t, FormatContext& ctx) const -> decltype(ctx.out()) {
        auto out = t.host.is_v4() ? fmt::format_to(ctx.out(), "{}:{} ", t.host, t.port)
                                  : fmt::format_to(ctx.out(), "[{}]:{} ", t.host, t.port);
        out = sipdetect::detail::fmt_write_escaped(out, t.user, true);
        if (t.status == 0) return fmt::format_to(out, " -");
        return fmt::format_to(out, " {}", t.status);
    }
};

template <>
struct fmt::formatter<sipdetect::scan_event> : sipdetect::detail::fmt_empty_spec {
    template <class FormatContext>
    auto format(const sipdetect::scan_event& e, FormatContext& ctx) const -> decltype(ctx.out()) {
        namespace d = sipdetect::detail;
        auto out = fmt::format_to(ctx.out(), "{} sipscan {} #{} {} {} {} hosts={} users={} targets={} requests={} tool=",
                                  sipdetect::format_rfc3339(e.last_seen), e.phase, e.id, e.source, e.submethod,
                                  e.kind, e.hosts, e.users, e.targets, e.requests);
        if (e.tool.empty()) *out++ = '-';
        else out = d::fmt_write_escaped(out, e.tool, false);
        out = fmt::format_to(out, " successful_targets={} failed_targets={} counts_saturated={} first_seen={} user_agents=",
                             e.successful_targets, e.failed_targets, d::fmt_bool(e.counts_saturated),
                             sipdetect::format_rfc3339(e.first_seen));
        out = d::fmt_write_quoted_list(out, e.user_agents);
        out = fmt::format_to(out, " sample=");
        return d::fmt_write_list(out, e.sample,
                                 [](decltype(out) o, const sipdetect::scan_target& t) { return fmt::format_to(o, "{}", t); });
    }
};

template <>
struct fmt::formatter<sipdetect::proxy_event> : sipdetect::detail::fmt_empty_spec {
    template <class FormatContext>
    auto format(const sipdetect::proxy_event& e, FormatContext& ctx) const -> decltype(ctx.out()) {
        namespace d = sipdetect::detail;
        auto out = fmt::format_to(ctx.out(),
                                  "{} sipproxy new_proxy #{} {} general uris={} counts_saturated={} requests={} successes={} "
                                  "answers_judged={} min_via={} max_via={} first_seen={} last_seen={} peers=",
                                  sipdetect::format_rfc3339(e.detected_at), e.id, e.source, e.uris,
                                  d::fmt_bool(e.counts_saturated), e.requests,
                                  e.successes, d::fmt_bool(e.answers_judged), e.min_via, e.max_via,
                                  sipdetect::format_rfc3339(e.first_seen), sipdetect::format_rfc3339(e.last_seen));
        out = d::fmt_write_list(out, e.peers,
                                [](decltype(out) o, const sipdetect::ip_address& a) { return fmt::format_to(o, "{}", a); });
        out = fmt::format_to(out, " user_agents=");
        out = d::fmt_write_quoted_list(out, e.user_agents);
        out = fmt::format_to(out, " uri_sample=");
        return d::fmt_write_quoted_list(out, e.uri_sample);
    }
};

// Led by last_seen, like a scan.
template <>
struct fmt::formatter<sipdetect::campaign_event> : sipdetect::detail::fmt_empty_spec {
    template <class FormatContext>
    auto format(const sipdetect::campaign_event& e, FormatContext& ctx) const -> decltype(ctx.out()) {
        namespace d = sipdetect::detail;
        auto out = fmt::format_to(ctx.out(), "{} sipcampaign {} #{} {} {} sources={} hosts={} users={} targets={} requests={} tool=",
                                  sipdetect::format_rfc3339(e.last_seen), e.phase, e.id, e.submethod, e.kind, e.sources,
                                  e.hosts, e.users, e.targets, e.requests);
        if (e.tool.empty()) *out++ = '-';
        else out = d::fmt_write_escaped(out, e.tool, false);
        out = fmt::format_to(out, " first_seen={} fingerprint=", sipdetect::format_rfc3339(e.first_seen));
        out = d::fmt_write_escaped(out, e.fingerprint, true);
        out = fmt::format_to(out, " source_sample=");
        return d::fmt_write_list(out, e.source_sample,
                                 [](decltype(out) o, const sipdetect::ip_address& a) { return fmt::format_to(o, "{}", a); });
    }
};

// A proxy of the SIPPROXY baseline, on one line like an event and led by the
// time it was learned.
template <>
struct fmt::formatter<sipdetect::known_proxy> : sipdetect::detail::fmt_empty_spec {
    template <class FormatContext>
    auto format(const sipdetect::known_proxy& p, FormatContext& ctx) const -> decltype(ctx.out()) {
        return fmt::format_to(ctx.out(), "{} sipproxy learned_proxy {} first_seen={} last_seen={} learned_in_training={}",
                              sipdetect::format_rfc3339(p.learned_at), p.address, sipdetect::format_rfc3339(p.first_seen),
                              sipdetect::format_rfc3339(p.last_seen), sipdetect::detail::fmt_bool(p.learned_in_training));
    }
};

template <>
struct fmt::formatter<sipdetect::scan_config> : sipdetect::detail::fmt_empty_spec {
    template <class FormatContext>
    auto format(const sipdetect::scan_config& c, FormatContext& ctx) const -> decltype(ctx.out()) {
        return sipdetect::detail::fmt_write_config(ctx.out(), "scan_config", c, sipdetect::detail::scan_config_fields);
    }
};

template <>
struct fmt::formatter<sipdetect::campaign_config> : sipdetect::detail::fmt_empty_spec {
    template <class FormatContext>
    auto format(const sipdetect::campaign_config& c, FormatContext& ctx) const -> decltype(ctx.out()) {
        return sipdetect::detail::fmt_write_config(ctx.out(), "campaign_config", c, sipdetect::detail::campaign_config_fields);
    }
};

template <>
struct fmt::formatter<sipdetect::proxy_config> : sipdetect::detail::fmt_empty_spec {
    template <class FormatContext>
    auto format(const sipdetect::proxy_config& c, FormatContext& ctx) const -> decltype(ctx.out()) {
        return sipdetect::detail::fmt_write_config(ctx.out(), "proxy_config", c, sipdetect::detail::proxy_config_fields);
    }
};
