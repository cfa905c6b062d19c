// sipdetect: the flow-record model.
//
// Integrators keep their own record type and describe it once through
// record_traits<Record>. The primary template is default_record_traits,
// which reads conventionally named members, so a plain struct needs no
// specialisation at all:
//
//   required  time (record_time), src, dst (ip_address), dst_port (integer),
//             from_uri, to_uri (convertible to std::string_view), and either
//               method (sip_method) [+ status (integer), 0 for a request]  -- one record per SIP message
//             or
//               counters (sip_counters)                                    -- one record per flow, Flowmon style
//   optional  src_port (integer), sent_by (sender), request_uri, user_agent,
//             via_count (integer)
//
// A member with one of these names must convert (a static_assert names it),
// so that a mistyped member is an error, not a feature silently switched off.
// A record whose members have other names specialises record_traits and
// inherits default_record_traits, defining only the accessors it renames
// (static functions taking `const Record&`: time, source, destination,
// destination_port, source_port, sent_by, method, status, counters,
// from_uri, to_uri, request_uri, user_agent, via_count). record_fields<R>
// tells which optional fields a record type provides.
// Parties are identified by transport addresses only: hosts inside
// From/To/Via are attacker-controlled and never identify anybody.
#pragma once

#include <sipdetect/address.hpp>
#include <sipdetect/clock.hpp>
#include <sipdetect/version.hpp>

#include <array>
#include <concepts>
#include <cstdint>
#include <string_view>
#include <type_traits>
#include <utility>

SIPDETECT_NAMESPACE_BEGIN

enum class sip_method : std::uint8_t {
    unknown, invite, ack, bye, cancel, register_, options, prack, subscribe, notify, publish, info, refer, message, update
};

inline constexpr std::array<std::string_view, 15> sip_method_names{
    "UNKNOWN", "INVITE", "ACK",    "BYE",  "CANCEL", "REGISTER", "OPTIONS", "PRACK",
    "SUBSCRIBE", "NOTIFY", "PUBLISH", "INFO", "REFER", "MESSAGE", "UPDATE"};

// A record type may hand over any byte as its method: a value past the names reads "UNKNOWN".
constexpr std::string_view to_string(sip_method m) noexcept {
    const auto i = static_cast<std::size_t>(m);
    return i < sip_method_names.size() ? sip_method_names[i] : sip_method_names[0];
}

// Method tokens are case-sensitive (RFC 3261 7.1).
constexpr sip_method parse_sip_method(std::string_view token) noexcept {
    for (std::size_t i = 1; i < sip_method_names.size(); ++i)
        if (sip_method_names[i] == token) return static_cast<sip_method>(i);
    return sip_method::unknown;
}

// Method of a CSeq header value such as "1 REGISTER".
constexpr sip_method cseq_method(std::string_view cseq) noexcept {
    const auto space = cseq.find_last_of(" \t");
    return parse_sip_method(space == std::string_view::npos ? cseq : cseq.substr(space + 1));
}

// Who put the message on the wire, relative to the record's orientation.
// ipfixprobe biflows keep a response in the request's orientation, so the
// response was sent by the record's destination.
enum class sender : std::uint8_t { source, destination };

// Per-flow SIP counters as the Flowmon probe exports them (sipStats): the
// record's source is the requester; responses are those it received.
struct sip_counters {
    std::uint32_t register_requests = 0;
    std::uint32_t options_requests = 0;
    std::uint32_t invite_requests = 0;
    std::uint32_t other_requests = 0;
    std::uint32_t success_responses = 0; // 2xx
    std::uint32_t failure_responses = 0; // 3xx-6xx
};

namespace detail {
template <class> inline constexpr bool dependent_false = false;

// The integer types std::in_range takes: not bool, not a character type.
template <class Member, class T = std::remove_cvref_t<Member>>
inline constexpr bool is_integer_member =
    std::is_integral_v<T> && !std::is_same_v<T, bool> && !std::is_same_v<T, char> && !std::is_same_v<T, wchar_t> &&
    !std::is_same_v<T, char8_t> && !std::is_same_v<T, char16_t> && !std::is_same_v<T, char32_t>;

// An integer member's value in T, or `outside` when T cannot hold it.
template <class T, class V> constexpr T integer_or(V value, T outside) noexcept {
    return std::in_range<T>(value) ? static_cast<T>(value) : outside;
}
} // namespace detail

// Reads the conventionally named members (see the top of this file). An
// accessor exists when the record has the member; a member that does not
// convert is one compile error naming it.
template <class Record>
struct default_record_traits {
    static record_time time(const Record& r) requires requires { r.time; } {
        if constexpr (std::is_convertible_v<decltype((r.time)), record_time>) {
            return r.time;
        } else {
            static_assert(detail::dependent_false<Record>,
                          "sipdetect: the record's member `time` does not convert to sipdetect::record_time (a "
                          "std::chrono::sys_time of microseconds): convert it, e.g. with "
                          "std::chrono::floor<sipdetect::record_duration>(t), or specialise "
                          "record_traits<R>::time().");
            return {};
        }
    }
    static ip_address source(const Record& r) requires requires { r.src; } {
        if constexpr (std::is_convertible_v<decltype((r.src)), ip_address>) {
            return r.src;
        } else {
            static_assert(detail::dependent_false<Record>,
                          "sipdetect: the record's member `src` does not convert to sipdetect::ip_address.");
            return {};
        }
    }
    static ip_address destination(const Record& r) requires requires { r.dst; } {
        if constexpr (std::is_convertible_v<decltype((r.dst)), ip_address>) {
            return r.dst;
        } else {
            static_assert(detail::dependent_false<Record>,
                          "sipdetect: the record's member `dst` does not convert to sipdetect::ip_address.");
            return {};
        }
    }
    static std::uint16_t destination_port(const Record& r) requires requires { r.dst_port; } {
        if constexpr (detail::is_integer_member<decltype(r.dst_port)>) {
            return detail::integer_or<std::uint16_t>(r.dst_port, 0);
        } else {
            static_assert(detail::dependent_false<Record>,
                          "sipdetect: the record's member `dst_port` must be an integer.");
            return {};
        }
    }
    static std::uint16_t source_port(const Record& r) requires requires { r.src_port; } {
        if constexpr (detail::is_integer_member<decltype(r.src_port)>) {
            return detail::integer_or<std::uint16_t>(r.src_port, 0);
        } else {
            static_assert(detail::dependent_false<Record>,
                          "sipdetect: the record's member `src_port` must be an integer.");
            return {};
        }
    }
    static sender sent_by(const Record& r) requires requires { r.sent_by; } {
        if constexpr (std::is_convertible_v<decltype((r.sent_by)), sender>) {
            return r.sent_by;
        } else {
            static_assert(detail::dependent_false<Record>,
                          "sipdetect: the record's member `sent_by` does not convert to sipdetect::sender.");
            return {};
        }
    }
    static sip_method method(const Record& r) requires requires { r.method; } {
        if constexpr (std::is_convertible_v<decltype((r.method)), sip_method>) {
            return r.method;
        } else {
            static_assert(detail::dependent_false<Record>,
                          "sipdetect: the record's member `method` does not convert to sipdetect::sip_method "
                          "(sipdetect::parse_sip_method() maps a method name to it).");
            return {};
        }
    }
    // A status no 16-bit code can hold reads as an impossible code, which the
    // detectors count as malformed, never as 0, which would make it a request.
    static std::uint16_t status(const Record& r) requires requires { r.status; } {
        if constexpr (detail::is_integer_member<decltype(r.status)>) {
            return detail::integer_or<std::uint16_t>(r.status, 0xffff);
        } else {
            static_assert(detail::dependent_false<Record>,
                          "sipdetect: the record's member `status` must be an integer (the response code, 0 for a "
                          "request).");
            return {};
        }
    }
    static sip_counters counters(const Record& r) requires requires { r.counters; } {
        if constexpr (std::is_convertible_v<decltype((r.counters)), sip_counters>) {
            return r.counters;
        } else {
            static_assert(detail::dependent_false<Record>,
                          "sipdetect: the record's member `counters` does not convert to sipdetect::sip_counters.");
            return {};
        }
    }
    static std::string_view from_uri(const Record& r) requires requires { r.from_uri; } {
        if constexpr (std::is_convertible_v<decltype((r.from_uri)), std::string_view>) {
            return r.from_uri;
        } else {
            static_assert(detail::dependent_false<Record>,
                          "sipdetect: the record's member `from_uri` does not convert to std::string_view.");
            return {};
        }
    }
    static std::string_view to_uri(const Record& r) requires requires { r.to_uri; } {
        if constexpr (std::is_convertible_v<decltype((r.to_uri)), std::string_view>) {
            return r.to_uri;
        } else {
            static_assert(detail::dependent_false<Record>,
                          "sipdetect: the record's member `to_uri` does not convert to std::string_view.");
            return {};
        }
    }
    static std::string_view request_uri(const Record& r) requires requires { r.request_uri; } {
        if constexpr (std::is_convertible_v<decltype((r.request_uri)), std::string_view>) {
            return r.request_uri;
        } else {
            static_assert(detail::dependent_false<Record>,
                          "sipdetect: the record's member `request_uri` does not convert to std::string_view.");
            return {};
        }
    }
    static std::string_view user_agent(const Record& r) requires requires { r.user_agent; } {
        if constexpr (std::is_convertible_v<decltype((r.user_agent)), std::string_view>) {
            return r.user_agent;
        } else {
            static_assert(detail::dependent_false<Record>,
                          "sipdetect: the record's member `user_agent` does not convert to std::string_view.");
            return {};
        }
    }
    static unsigned via_count(const Record& r) requires requires { r.via_count; } {
        if constexpr (detail::is_integer_member<decltype(r.via_count)>) {
            return detail::integer_or<unsigned>(r.via_count, 0u); // 0: unknown
        } else {
            static_assert(detail::dependent_false<Record>,
                          "sipdetect: the record's member `via_count` must be an integer (the number of Via "
                          "headers).");
            return {};
        }
    }
};

template <class Record>
struct record_traits : default_record_traits<Record> {};

// The pieces every record must describe, one concept each so a failure names the field.
template <class R> concept record_has_time = requires(const R& r) {
    { record_traits<R>::time(r) } -> std::convertible_to<record_time>;
};
template <class R> concept record_has_addresses = requires(const R& r) {
    { record_traits<R>::source(r) } -> std::convertible_to<ip_address>;
    { record_traits<R>::destination(r) } -> std::convertible_to<ip_address>;
    { record_traits<R>::destination_port(r) } -> std::convertible_to<std::uint16_t>;
};
template <class R> concept record_has_party_uris = requires(const R& r) {
    { record_traits<R>::from_uri(r) } -> std::convertible_to<std::string_view>;
    { record_traits<R>::to_uri(r) } -> std::convertible_to<std::string_view>;
};
template <class R> concept record_has_message = requires(const R& r) {
    { record_traits<R>::method(r) } -> std::convertible_to<sip_method>;
};
template <class R> concept record_has_counters = requires(const R& r) {
    { record_traits<R>::counters(r) } -> std::convertible_to<sip_counters>;
};

// Which optional fields record_traits<R> provides, so that an integrator
// can check at compile time that a field is read, e.g.
// static_assert(sipdetect::record_fields<my_flow>::via_count).
template <class R>
struct record_fields {
    static constexpr bool source_port = requires(const R& r) { record_traits<R>::source_port(r); };
    static constexpr bool sent_by = requires(const R& r) { record_traits<R>::sent_by(r); };
    static constexpr bool status = requires(const R& r) { record_traits<R>::status(r); };
    static constexpr bool request_uri = requires(const R& r) { record_traits<R>::request_uri(r); };
    static constexpr bool user_agent = requires(const R& r) { record_traits<R>::user_agent(r); };
    static constexpr bool via_count = requires(const R& r) { record_traits<R>::via_count(r); };
};

// A record type sipdetect can read: one SIP message per record, or SIP counters per flow.
template <class R>
concept flow_record = record_has_time<R> && record_has_addresses<R> && record_has_party_uris<R> &&
                      (record_has_message<R> != record_has_counters<R>);

namespace detail {
// One readable diagnostic, for the first missing piece; detectors call this
// once. It returns true so that the caller's static_assert adds no second error.
template <class R>
consteval bool check_flow_record() {
    if constexpr (!record_has_time<R>) {
        static_assert(dependent_false<R>,
                      "sipdetect: the record type has no usable time. Give it a member `time` of type "
                      "sipdetect::record_time, or specialise sipdetect::record_traits<R>::time(const R&).");
    } else if constexpr (!record_has_addresses<R>) {
        static_assert(dependent_false<R>,
                      "sipdetect: the record type has no usable transport addresses. Give it members `src`, `dst` "
                      "(sipdetect::ip_address) and `dst_port` (uint16_t), or specialise "
                      "sipdetect::record_traits<R> with source(), destination() and destination_port().");
    } else if constexpr (!record_has_party_uris<R>) {
        static_assert(dependent_false<R>,
                      "sipdetect: the record type has no From/To URIs. Give it members `from_uri` and `to_uri` "
                      "(convertible to std::string_view), or specialise sipdetect::record_traits<R>.");
    } else if constexpr (record_has_message<R> == record_has_counters<R>) {
        static_assert(dependent_false<R>,
                      "sipdetect: the record type must describe either one SIP message (member `method` of type "
                      "sipdetect::sip_method, plus `status` for responses) or per-flow counters (member "
                      "`counters` of type sipdetect::sip_counters), not both and not neither.");
    }
    return true;
}

// A record as the detectors see it: requester and responder resolved.
struct record_view {
    record_time time{};
    ip_address client{};  // the requester
    ip_address server{};  // the responder
    std::uint16_t client_port = 0;
    std::uint16_t server_port = 0;
    bool is_counters = false;
    sip_method method = sip_method::unknown; // request method, or the CSeq method of a response
    std::uint16_t status = 0;                // 0 for a request
    sip_counters counters{};
    std::string_view request_uri, from_uri, to_uri, user_agent;
    unsigned via_count = 0; // 0 when unknown

    bool is_response() const noexcept { return status != 0; }
};

// Writes the view in place: a batch feed fills its ring of views this way,
// field by field, instead of copying a whole temporary view per record.
template <class R>
void fill_view(const R& r, record_view& v) {
    using T = record_traits<R>;
    if constexpr (flow_record<R>) {
        v.time = T::time(r);
        const ip_address src = T::source(r);
        const ip_address dst = T::destination(r);
        const std::uint16_t dport = T::destination_port(r);
        std::uint16_t sport = 0;
        if constexpr (requires { T::source_port(r); }) sport = T::source_port(r);
        v.from_uri = T::from_uri(r);
        v.to_uri = T::to_uri(r);
        v.request_uri = {};
        if constexpr (requires { T::request_uri(r); }) v.request_uri = T::request_uri(r);
        v.user_agent = {};
        if constexpr (requires { T::user_agent(r); }) v.user_agent = T::user_agent(r);
        v.via_count = 0;
        if constexpr (requires { T::via_count(r); }) v.via_count = static_cast<unsigned>(T::via_count(r));

        bool source_is_client = true;
        if constexpr (record_has_message<R>) {
            v.is_counters = false;
            v.counters = sip_counters{};
            v.method = T::method(r);
            v.status = 0;
            if constexpr (requires { T::status(r); }) v.status = T::status(r);
            sender who = sender::source;
            if constexpr (requires { T::sent_by(r); }) who = T::sent_by(r);
            // A request is sent by the client, a response by the server.
            source_is_client = v.is_response() ? who == sender::destination : who == sender::source;
        } else {
            v.is_counters = true;
            v.counters = T::counters(r);
            v.method = sip_method::unknown;
            v.status = 0;
        }
        v.client = source_is_client ? src : dst;
        v.server = source_is_client ? dst : src;
        v.client_port = source_is_client ? sport : dport;
        v.server_port = source_is_client ? dport : sport;
    } else {
        v = record_view{};
    }
}

template <class R>
record_view make_view(const R& r) {
    record_view v;
    fill_view(r, v);
    return v;
}

// The first n bytes of s (all of s when shorter). Unlike substr() it has no
// throwing path, so the hot path inlines it.
constexpr std::string_view head(std::string_view s, std::size_t n) noexcept {
    return {s.data(), n < s.size() ? n : s.size()};
}
// s up to the first c (all of s when there is none).
constexpr std::string_view until(std::string_view s, char c) noexcept { return head(s, s.find(c)); }
// A URI without a display name and angle brackets: "\"A\" <sip:a@h>;tag=1" -> "sip:a@h".
constexpr std::string_view bare_uri(std::string_view uri) noexcept {
    const auto lt = uri.find('<');
    if (lt == std::string_view::npos) return uri;
    uri.remove_prefix(lt + 1);
    return until(uri, '>');
}
} // namespace detail

// The user part of a SIP or tel URI: "sip:alice@host" -> "alice", "tel:+420123" -> "+420123".
// Angle brackets and a display name before them are tolerated.
constexpr std::string_view uri_user(std::string_view uri) noexcept {
    uri = detail::bare_uri(uri);
    const auto colon = uri.find(':');
    if (colon == std::string_view::npos) return {};
    const bool is_tel = colon == 3 && (uri[0] | 0x20) == 't' && (uri[1] | 0x20) == 'e' && (uri[2] | 0x20) == 'l';
    uri.remove_prefix(colon + 1);
    if (is_tel) return detail::until(uri, ';');
    const auto at = uri.find('@');
    if (at == std::string_view::npos) return {};
    return detail::until(detail::head(uri, at), ':'); // drop a password
}

// The host of a SIP URI, without the brackets of an IPv6 reference:
// "<sip:100@[fd00::1]:5060>" -> "fd00::1", "sip:gw.example.net;lr" -> "gw.example.net".
constexpr std::string_view uri_host(std::string_view uri) noexcept {
    uri = detail::bare_uri(uri);
    const auto colon = uri.find(':');
    if (colon == std::string_view::npos) return {};
    uri.remove_prefix(colon + 1);
    if (const auto at = uri.find('@'); at != std::string_view::npos) uri.remove_prefix(at + 1);
    if (!uri.empty() && uri.front() == '[') {
        uri.remove_prefix(1);
        return detail::until(uri, ']');
    }
    return detail::head(uri, uri.find_first_of(":;?"));
}

namespace detail {
// The called user: the To user, else the Request-URI user (a REGISTER's
// Request-URI names only the registrar).
constexpr std::string_view called_user(const record_view& v) noexcept {
    std::string_view user = uri_user(v.to_uri);
    if (user.empty()) user = uri_user(v.request_uri);
    return user;
}
} // namespace detail

SIPDETECT_NAMESPACE_END
