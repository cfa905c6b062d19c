// sipdetect: the flow-record model.
//
// Integrators keep their own record type and describe it once through
// record_traits<Record>. The primary template reads conventionally named
// members, so a plain struct needs no specialisation at all:
//
//   required  time (record_time), src, dst (ip_address), dst_port (uint16_t),
//             from_uri, to_uri (convertible to std::string_view), and either
//               method (sip_method) [+ status (uint16_t), 0 for a request]  -- one record per SIP message
//             or
//               counters (sip_counters)                                     -- one record per flow, Flowmon style
//   optional  src_port, sent_by (sender), request_uri, user_agent, via_count
//
// A specialisation provides the same names as static functions taking
// `const Record&` (time, source, destination, destination_port, ...).
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

template <class Record>
struct record_traits {
    static record_time time(const Record& r) requires requires { record_time{r.time}; } { return record_time{r.time}; }
    static ip_address source(const Record& r) requires requires { ip_address{r.src}; } { return r.src; }
    static ip_address destination(const Record& r) requires requires { ip_address{r.dst}; } { return r.dst; }
    static std::uint16_t destination_port(const Record& r) requires requires { std::uint16_t{r.dst_port}; } {
        return r.dst_port;
    }
    static std::uint16_t source_port(const Record& r) requires requires { std::uint16_t{r.src_port}; } {
        return r.src_port;
    }
    static sender sent_by(const Record& r) requires requires { sender{r.sent_by}; } { return r.sent_by; }
    static sip_method method(const Record& r) requires requires { sip_method{r.method}; } { return r.method; }
    static std::uint16_t status(const Record& r) requires requires { std::uint16_t{r.status}; } { return r.status; }
    static sip_counters counters(const Record& r) requires requires { sip_counters{r.counters}; } {
        return r.counters;
    }
    static std::string_view from_uri(const Record& r) requires requires { std::string_view{r.from_uri}; } {
        return r.from_uri;
    }
    static std::string_view to_uri(const Record& r) requires requires { std::string_view{r.to_uri}; } {
        return r.to_uri;
    }
    static std::string_view request_uri(const Record& r) requires requires { std::string_view{r.request_uri}; } {
        return r.request_uri;
    }
    static std::string_view user_agent(const Record& r) requires requires { std::string_view{r.user_agent}; } {
        return r.user_agent;
    }
    static unsigned via_count(const Record& r) requires requires { unsigned{r.via_count}; } { return r.via_count; }
};

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

// A record type sipdetect can read: one SIP message per record, or SIP counters per flow.
template <class R>
concept flow_record = record_has_time<R> && record_has_addresses<R> && record_has_party_uris<R> &&
                      (record_has_message<R> != record_has_counters<R>);

template <class> inline constexpr bool dependent_false = false;

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

namespace detail {
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
} // namespace detail

template <class R>
record_view make_view(const R& r) {
    record_view v;
    detail::fill_view(r, v);
    return v;
}

namespace detail {
// The first n bytes of s (all of s when shorter). Unlike substr() it has no
// throwing path, so the hot path inlines it.
constexpr std::string_view head(std::string_view s, std::size_t n) noexcept {
    return {s.data(), n < s.size() ? n : s.size()};
}
// s up to the first c (all of s when there is none).
constexpr std::string_view until(std::string_view s, char c) noexcept { return head(s, s.find(c)); }
} // namespace detail

// The user part of a SIP or tel URI: "sip:alice@host" -> "alice", "tel:+420123" -> "+420123".
// Angle brackets and a display name before them are tolerated.
constexpr std::string_view uri_user(std::string_view uri) noexcept {
    if (const auto lt = uri.find('<'); lt != std::string_view::npos) {
        uri.remove_prefix(lt + 1);
        uri = detail::until(uri, '>');
    }
    const auto colon = uri.find(':');
    if (colon == std::string_view::npos) return {};
    const bool is_tel = colon == 3 && (uri[0] | 0x20) == 't' && (uri[1] | 0x20) == 'e' && (uri[2] | 0x20) == 'l';
    uri.remove_prefix(colon + 1);
    if (is_tel) return detail::until(uri, ';');
    const auto at = uri.find('@');
    if (at == std::string_view::npos) return {};
    return detail::until(detail::head(uri, at), ':'); // drop a password
}

SIPDETECT_NAMESPACE_END
