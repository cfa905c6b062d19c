// Fuzz target: parse_sip_message() on arbitrary payloads, with the default
// limits and with tiny ones, checking the guarantees its header promises.
#include "fuzz_common.hpp"

#include <sipdetect/sip_parser.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace {

using sipdetect::sip_parse_limits;
using sipdetect::sip_parse_result;
using sipdetect::sip_parse_status;

// An empty view may be default-constructed; any other must lie inside the payload.
void check_view(std::string_view v, std::string_view payload, std::size_t cap, const char* name) {
    if (v.empty()) {
        if (v.data() == nullptr) return;
        FUZZ_CHECK_MSG(v.data() >= payload.data() && v.data() <= payload.data() + payload.size(), name);
        return;
    }
    FUZZ_CHECK_MSG(payload.data() != nullptr, name);
    FUZZ_CHECK_MSG(v.data() >= payload.data(), name);
    FUZZ_CHECK_MSG(v.data() + v.size() <= payload.data() + payload.size(), name);
    FUZZ_CHECK_MSG(v.size() <= cap, name);
}

void check(const sip_parse_result& r, std::string_view payload, const sip_parse_limits& limits) {
    const auto& m = r.message;
    const std::size_t cap = limits.max_field_length;
    check_view(m.method_token, payload, cap, "method_token");
    check_view(m.request_uri, payload, cap, "request_uri");
    check_view(m.from_uri, payload, cap, "from_uri");
    check_view(m.to_uri, payload, cap, "to_uri");
    check_view(m.call_id, payload, cap, "call_id");
    check_view(m.user_agent, payload, cap, "user_agent");
    check_view(m.cseq, payload, cap, "cseq");
    check_view(m.top_via_host, payload, cap, "top_via_host");
    FUZZ_CHECK(m.message_length <= payload.size());
    FUZZ_CHECK(m.header_length <= payload.size());
    FUZZ_CHECK(m.truncated_fields < 256);
    // A field flagged as cut is exactly at the cap.
    const std::array<std::pair<sipdetect::sip_field, std::string_view>, 8> fields{{
        {sipdetect::sip_field::request_uri, m.request_uri},
        {sipdetect::sip_field::from, m.from_uri},
        {sipdetect::sip_field::to, m.to_uri},
        {sipdetect::sip_field::call_id, m.call_id},
        {sipdetect::sip_field::user_agent, m.user_agent},
        {sipdetect::sip_field::cseq, m.cseq},
        {sipdetect::sip_field::via_host, m.top_via_host},
        {sipdetect::sip_field::method_token, m.method_token},
    }};
    for (const auto& [field, view] : fields)
        if (m.truncated(field)) FUZZ_CHECK(view.size() == cap);
    FUZZ_CHECK(static_cast<std::size_t>(m.method) < sipdetect::sip_method_names.size());
    FUZZ_CHECK(static_cast<std::size_t>(m.cseq_method) < sipdetect::sip_method_names.size());

    switch (r.status) {
    case sip_parse_status::ok:
        FUZZ_CHECK(r.error.empty());
        FUZZ_CHECK(m.message_length > 0);
        FUZZ_CHECK(m.header_length <= m.message_length);
        if (m.is_request) {
            FUZZ_CHECK(m.status == 0);
            FUZZ_CHECK(!m.method_token.empty());
            FUZZ_CHECK(!m.request_uri.empty());
            // A recognised method is spelled exactly as its token.
            if (m.method != sipdetect::sip_method::unknown)
                FUZZ_CHECK(m.method_token == sipdetect::to_string(m.method));
        } else {
            FUZZ_CHECK(m.status >= 100 && m.status <= 699);
            FUZZ_CHECK(m.method == sipdetect::sip_method::unknown);
        }
        if (m.complete) {
            FUZZ_CHECK(m.header_length >= 2); // at least the empty line
            if (m.has_content_length) FUZZ_CHECK(m.message_length == m.header_length + m.content_length);
            else FUZZ_CHECK(m.message_length == payload.size());
        } else {
            FUZZ_CHECK(m.message_length == payload.size());
        }
        break;
    case sip_parse_status::not_sip:
    case sip_parse_status::malformed:
        FUZZ_CHECK(!r.error.empty());
        FUZZ_CHECK(!m.complete || r.status == sip_parse_status::not_sip);
        if (r.status == sip_parse_status::malformed) FUZZ_CHECK(m.message_length == payload.size());
        break;
    default:
        fuzz::fail("unknown parse status", __FILE__, __LINE__);
    }
}

void same(const sip_parse_result& a, const sip_parse_result& b) {
    FUZZ_CHECK(a.status == b.status);
    FUZZ_CHECK(a.error == b.error);
    FUZZ_CHECK(a.message.message_length == b.message.message_length);
    FUZZ_CHECK(a.message.header_length == b.message.header_length);
    FUZZ_CHECK(a.message.from_uri.data() == b.message.from_uri.data() && a.message.from_uri == b.message.from_uri);
    FUZZ_CHECK(a.message.via_count == b.message.via_count);
    FUZZ_CHECK(a.message.truncated_fields == b.message.truncated_fields);
}

// Walks a TCP segment as the pcap reader does; each step must consume bytes.
void walk(std::string_view segment, const sip_parse_limits& limits) {
    std::string_view rest = segment;
    for (int n = 0; !rest.empty(); ++n) {
        FUZZ_CHECK(n <= static_cast<int>(segment.size()));
        const sip_parse_result r = sipdetect::parse_sip_message(rest, limits);
        check(r, rest, limits);
        if (r.status != sip_parse_status::ok) break;
        FUZZ_CHECK(r.message.message_length > 0);
        rest.remove_prefix(r.message.message_length);
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view payload(reinterpret_cast<const char*>(data), size);

    const sip_parse_limits defaults{};
    const sip_parse_result r = sipdetect::parse_sip_message(payload, defaults);
    check(r, payload, defaults);
    same(r, sipdetect::parse_sip_message(payload, defaults)); // deterministic

    // Tiny limits: every cap and counter boundary is reachable with short inputs.
    static constexpr std::array<sip_parse_limits, 4> tiny{{
        {0, 0, 0},
        {1, 1, 8},
        {3, 2, 16},
        {7, 4, 40},
    }};
    for (const auto& limits : tiny) {
        const sip_parse_result t = sipdetect::parse_sip_message(payload, limits);
        check(t, payload, limits);
        // The limits never change where a message ends, only whether it is accepted.
        if (t.status == sip_parse_status::ok && r.status == sip_parse_status::ok) {
            FUZZ_CHECK(t.message.message_length == r.message.message_length);
            FUZZ_CHECK(t.message.is_request == r.message.is_request);
            FUZZ_CHECK(t.message.status == r.message.status);
            FUZZ_CHECK(t.message.via_count == r.message.via_count);
        }
    }

    walk(payload, defaults);
    walk(payload, tiny[2]);
    return 0;
}
