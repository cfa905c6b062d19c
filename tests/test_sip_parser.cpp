// Tests of the allocation-free SIP message parser.
#include <sipdetect/sip_parser.hpp>

#include "catch.hpp"

#include <array>
#include <cstdint>
#include <cstring>
#include <deque>
#include <fstream>
#include <iterator>
#include <string>
#include <string_view>
#include <vector>

using namespace sipdetect;
using namespace std::string_literals;
using namespace std::string_view_literals;

namespace {

// Test messages are written with "\n"; this turns them into CRLF lines.
std::string crlf(std::string_view text) {
    std::string out;
    out.reserve(text.size() + text.size() / 16);
    for (const char c : text) {
        if (c == '\n') out += '\r';
        out += c;
    }
    return out;
}

sip_parse_result parse(std::string_view payload, const sip_parse_limits& limits = {}) {
    return parse_sip_message(payload, limits);
}

sip_parse_result parse(const char* payload, const sip_parse_limits& limits = {}) {
    return parse_sip_message(payload, limits);
}

// A temporary message would leave the result's views dangling: keep it alive
// for the rest of the run (a deque never moves its elements).
sip_parse_result parse(std::string&& payload, const sip_parse_limits& limits = {}) {
    static std::deque<std::string> kept;
    kept.push_back(std::move(payload));
    return parse_sip_message(kept.back(), limits);
}

bool points_into(std::string_view outer, std::string_view inner) {
    if (inner.empty()) return true;
    const char* b = outer.data();
    const char* e = b + outer.size();
    return inner.data() >= b && inner.data() + inner.size() <= e;
}

// Everything a result must satisfy whatever the input; returns the first violation.
std::string invariant_violation(std::string_view payload, const sip_parse_result& r, const sip_parse_limits& limits) {
    const auto& m = r.message;
    if ((r.status == sip_parse_status::ok) != r.error.empty()) return "error text does not match the status";
    if (m.message_length > payload.size()) return "message_length beyond the payload";
    if (m.header_length > payload.size()) return "header_length beyond the payload";
    const std::array<std::pair<std::string_view, sip_field>, 8> fields{{
        {m.method_token, sip_field::method_token},
        {m.request_uri, sip_field::request_uri},
        {m.from_uri, sip_field::from},
        {m.to_uri, sip_field::to},
        {m.call_id, sip_field::call_id},
        {m.user_agent, sip_field::user_agent},
        {m.cseq, sip_field::cseq},
        {m.top_via_host, sip_field::via_host},
    }};
    for (const auto& [view, field] : fields) {
        if (!points_into(payload, view)) return "a field points outside the payload";
        if (view.size() > limits.max_field_length) return "a field is longer than max_field_length";
        if (m.truncated(field) && view.size() != limits.max_field_length)
            return "a truncated field is not max_field_length long";
    }
    if (r.status == sip_parse_status::ok) {
        if (m.message_length == 0) return "ok with an empty message";
        if (m.header_length > m.message_length) return "header longer than the message";
        if (m.is_request) {
            if (m.status != 0) return "request with a status";
            if (m.method_token.empty() || m.request_uri.empty()) return "request without method or URI";
        } else if (m.status < 100 || m.status > 699) {
            return "response status out of range";
        }
        if (m.complete && m.has_content_length && m.message_length != m.header_length + m.content_length)
            return "complete message length does not add up";
    }
    return {};
}

// Parses and checks the invariants with several limit sets.
std::string parse_checked(std::string_view payload) {
    static const std::array<sip_parse_limits, 3> limit_sets{{
        {},
        {4, 3, 40},
        {0, 0, 0},
    }};
    for (const auto& limits : limit_sets) {
        const auto r = parse_sip_message(payload, limits);
        if (auto v = invariant_violation(payload, r, limits); !v.empty()) return v;
    }
    return {};
}

const std::string invite = crlf(
    "INVITE sip:bob@biloxi.com SIP/2.0\n"
    "Via: SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bK776asdhds\n"
    "Max-Forwards: 70\n"
    "To: Bob <sip:bob@biloxi.com>\n"
    "From: Alice <sip:alice@atlanta.com>;tag=1928301774\n"
    "Call-ID: a84b4c76e66710@pc33.atlanta.com\n"
    "CSeq: 314159 INVITE\n"
    "Contact: <sip:alice@pc33.atlanta.com>\n"
    "User-Agent: softphone/1.0\n"
    "Content-Type: application/sdp\n"
    "Content-Length: 142\n"
    "\n") +
    std::string(142, 'x');

const std::string ok_response = crlf(
    "SIP/2.0 200 OK\n"
    "Via: SIP/2.0/UDP server10.biloxi.com;branch=z9hG4bKnashds8;received=192.0.2.3\n"
    "Via: SIP/2.0/UDP bigbox3.site3.atlanta.com;branch=z9hG4bK77ef4c2312983.1;received=192.0.2.2\n"
    "Via: SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bK776asdhds ;received=192.0.2.1\n"
    "To: Bob <sip:bob@biloxi.com>;tag=a6c85cf\n"
    "From: Alice <sip:alice@atlanta.com>;tag=1928301774\n"
    "Call-ID: a84b4c76e66710@pc33.atlanta.com\n"
    "CSeq: 314159 INVITE\n"
    "Contact: <sip:bob@192.0.2.4>\n"
    "Content-Length: 0\n"
    "\n");

const std::string compact_register = crlf(
    "REGISTER sip:[2001:db8::10] SIP/2.0\n"
    "v: SIP/2.0/TCP [2001:db8::1]:5070;branch=z9hG4bK1, SIP/2.0/UDP 10.0.0.1;rport\n"
    "f: \"Quoted, \\\"Name\\\" <x>\" <sip:alice@[2001:db8::1]:5060;transport=udp>;tag=abc\n"
    "t: sip:alice@[2001:db8::1]:5060;tag=def\n"
    "i: 843817637684230@998sdasdh09\n"
    "User-Agent: folded\n"
    " agent\n"
    "CSeq: 1826\n"
    " REGISTER\n"
    "m: <sip:alice@[2001:db8::1]>\n"
    "l: 4\n"
    "\n"
    "body");

} // namespace

// --------------------------------------------------------------------------- start line

TEST_CASE("sip parser: a full INVITE", "[sip_parser]") {
    const auto r = parse(invite);
    REQUIRE(r.status == sip_parse_status::ok);
    CHECK(r.error.empty());
    const auto& m = r.message;
    CHECK(m.is_request);
    CHECK(m.method == sip_method::invite);
    CHECK(m.method_token == "INVITE");
    CHECK(m.status == 0);
    CHECK(m.request_uri == "sip:bob@biloxi.com");
    CHECK(m.from_uri == "sip:alice@atlanta.com");
    CHECK(m.to_uri == "sip:bob@biloxi.com");
    CHECK(m.call_id == "a84b4c76e66710@pc33.atlanta.com");
    CHECK(m.user_agent == "softphone/1.0");
    CHECK(m.cseq == "314159 INVITE");
    CHECK(m.cseq_number == 314159);
    CHECK(m.cseq_method == sip_method::invite);
    CHECK(m.via_count == 1);
    CHECK(m.top_via_host == "pc33.atlanta.com");
    CHECK(m.top_via_port == 0);
    CHECK(m.has_content_length);
    CHECK(m.content_length == 142);
    CHECK(m.header_length == invite.size() - 142);
    CHECK(m.message_length == invite.size());
    CHECK(m.complete);
    CHECK(m.truncated_fields == 0);
}

TEST_CASE("sip parser: every known request method", "[sip_parser]") {
    for (std::size_t i = 1; i < sip_method_names.size(); ++i) {
        const std::string name(sip_method_names[i]);
        const std::string msg = crlf(name + " sip:x@example.com SIP/2.0\nCSeq: 7 " + name + "\n\n");
        const auto r = parse(msg);
        INFO(name);
        REQUIRE(r.status == sip_parse_status::ok);
        CHECK(r.message.is_request);
        CHECK(r.message.method == static_cast<sip_method>(i));
        CHECK(r.message.method_token == name);
        CHECK(r.message.cseq_number == 7);
        CHECK(r.message.cseq_method == static_cast<sip_method>(i));
    }
}

TEST_CASE("sip parser: unknown and lower-case methods are requests with an unknown method", "[sip_parser]") {
    for (const auto* token : {"FOO", "invite", "X-CUSTOM.method!", "aaaaaaaaaaaaaaaaa"}) {
        const auto r = parse(crlf(std::string(token) + " sip:x@y SIP/2.0\n\n"));
        INFO(token);
        REQUIRE(r.status == sip_parse_status::ok);
        CHECK(r.message.is_request);
        CHECK(r.message.method == sip_method::unknown);
        CHECK(r.message.method_token == token);
    }
}

TEST_CASE("sip parser: responses", "[sip_parser]") {
    SECTION("200 OK with three Vias") {
        const auto r = parse(ok_response);
        REQUIRE(r.status == sip_parse_status::ok);
        const auto& m = r.message;
        CHECK_FALSE(m.is_request);
        CHECK(m.status == 200);
        CHECK(m.method == sip_method::unknown);
        CHECK(m.method_token.empty());
        CHECK(m.request_uri.empty());
        CHECK(m.cseq_method == sip_method::invite);
        CHECK(m.via_count == 3);
        CHECK(m.top_via_host == "server10.biloxi.com");
        CHECK(m.to_uri == "sip:bob@biloxi.com");
        CHECK(m.message_length == ok_response.size());
        CHECK(m.complete);
    }
    SECTION("reason phrases, lower-case version, no reason phrase") {
        CHECK(parse(crlf("SIP/2.0 180 Ringing\n\n")).message.status == 180);
        CHECK(parse(crlf("SIP/2.0 401 Unauthorized\n\n")).message.status == 401);
        CHECK(parse(crlf("sip/2.0 603 Decline\n\n")).message.status == 603);
        CHECK(parse(crlf("SIP/2.0 100\n\n")).message.status == 100);
        CHECK(parse(crlf("SIP/2.0 699 \n\n")).message.status == 699);
        CHECK(parse(crlf("SIP/2.0 100\n\n")).status == sip_parse_status::ok);
    }
    SECTION("bad status codes are malformed") {
        for (const auto* line : {"SIP/2.0 099 Low", "SIP/2.0 700 High", "SIP/2.0 20x OK", "SIP/2.0 2000 OK",
                                 "SIP/2.0 20", "SIP/2.0", "SIP/2.0 ", "SIP/2.0  200 OK"}) {
            INFO(line);
            const auto r = parse(crlf(std::string(line) + "\n\n"));
            CHECK(r.status == sip_parse_status::malformed);
            CHECK_FALSE(r.error.empty());
        }
    }
}

TEST_CASE("sip parser: the SIP version", "[sip_parser]") {
    CHECK(parse(crlf("OPTIONS sip:x SIP/2.0\n\n")).status == sip_parse_status::ok);
    CHECK(parse(crlf("OPTIONS sip:x sip/2.0\n\n")).status == sip_parse_status::ok);
    CHECK(parse(crlf("OPTIONS sip:x Sip/2.0\n\n")).status == sip_parse_status::ok);
    CHECK(parse(crlf("OPTIONS sip:x SIP/2.0  \n\n")).status == sip_parse_status::ok); // trailing blanks
    for (const auto* text : {"OPTIONS sip:x SIP/3.0\n\n", "OPTIONS sip:x SIP/2.00\n\n", "OPTIONS sip:x SIP/\n\n",
                             "SIP/1.0 200 OK\n\n", "SIP/2.0/UDP host\n\n"}) {
        INFO(text);
        const auto r = parse(crlf(text));
        CHECK(r.status == sip_parse_status::malformed);
        CHECK(r.error == "unsupported SIP version");
    }
}

TEST_CASE("sip parser: malformed request lines with a SIP/2.0 version", "[sip_parser]") {
    SECTION("empty method (PROTOS)") {
        const auto r = parse(crlf(" sip:tori@localhost SIP/2.0\n\n"));
        CHECK(r.status == sip_parse_status::malformed);
        CHECK(r.error == "invalid method");
    }
    SECTION("non-token bytes in the method (PROTOS)") {
        const auto r = parse(crlf("\xe5\xe4\xf6\xe5\xe4\xf6 sip:tori@localhost SIP/2.0\n\n"));
        CHECK(r.status == sip_parse_status::malformed);
        CHECK(r.error == "invalid method");
        CHECK(r.message.method_token == "\xe5\xe4\xf6\xe5\xe4\xf6");
        CHECK(r.message.method == sip_method::unknown);
    }
    SECTION("NUL bytes before the method (Zeek's sip-junk-before-request.pcap)") {
        const auto r = parse(crlf("\0\0\0\0REGISTER sip:1.1.1.1:5060 SIP/2.0\nExpires: 3600\n\n"s));
        CHECK(r.status == sip_parse_status::malformed);
        CHECK(r.error == "invalid method");
        CHECK(r.message.request_uri.empty());
    }
    SECTION("tab after the method") {
        CHECK(parse(crlf("INVITE\tsip:x SIP/2.0\n\n")).status == sip_parse_status::malformed);
    }
    SECTION("missing or spaced Request-URI") {
        CHECK(parse(crlf("INVITE SIP/2.0\n\n")).error == "empty Request-URI");
        CHECK(parse(crlf("INVITE  SIP/2.0\n\n")).error == "empty Request-URI");
        CHECK(parse(crlf("INVITE sip:a b SIP/2.0\n\n")).error == "white space in Request-URI");
        CHECK(parse(crlf("INVITE sip:a  SIP/2.0\n\n")).status == sip_parse_status::malformed);
    }
}

TEST_CASE("sip parser: SSDP, HTTP and RTSP are not SIP", "[sip_parser]") {
    const char* const texts[] = {
        "NOTIFY * HTTP/1.1\nHOST: 239.255.255.250:1900\nNT: upnp:rootdevice\nNTS: ssdp:alive\n\n",
        "M-SEARCH * HTTP/1.1\nHOST: 239.255.255.250:1900\nMAN: \"ssdp:discover\"\nMX: 1\nST: ssdp:all\n\n",
        "OPTIONS / HTTP/1.1\nHost: example.com\n\n",
        "GET / HTTP/1.0\n\n",
        "GET /index.html HTTP/1.1\nHost: x\nVia: SIP/2.0/UDP 1.2.3.4\n\n",
        "HTTP/1.1 200 OK\nContent-Length: 0\n\n",
        "OPTIONS rtsp://example.com/media.mp4 RTSP/1.0\nCSeq: 1\n\n",
        "RTSP/1.0 200 OK\nCSeq: 1\n\n",
        "INVITE\n\n",
        "INVITE sip:x\n\n",
        "SIP\n",
        "hello",
    };
    for (const char* text : texts) {
        INFO(text);
        const auto r = parse(crlf(text));
        CHECK(r.status == sip_parse_status::not_sip);
        CHECK_FALSE(r.error.empty());
        CHECK(r.message.message_length == 0);
    }
}

TEST_CASE("sip parser: binary junk and empty input are not SIP", "[sip_parser]") {
    CHECK(parse("").status == sip_parse_status::not_sip);
    CHECK(parse("").error == "empty payload");
    CHECK(parse(std::string_view{}).status == sip_parse_status::not_sip);
    CHECK(parse("\0"sv).status == sip_parse_status::not_sip);
    CHECK(parse("\x01\x02\x03\x04"sv).status == sip_parse_status::not_sip);
    // a STUN binding request (RFC 5389), as sent to SIP ports by NAT keep-alive code
    const auto stun = "\x00\x01\x00\x00\x21\x12\xa4\x42\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c"sv;
    CHECK(parse(stun).status == sip_parse_status::not_sip);
    // an RTCP sender report
    const auto rtcp = "\x81\xc9\x00\x07\x06\xa7\x7c\xf9\x00\x00\x00\x00"sv;
    CHECK(parse(rtcp).status == sip_parse_status::not_sip);
    std::string noise(4096, '\0');
    for (std::size_t i = 0; i < noise.size(); ++i) noise[i] = static_cast<char>((i * 131 + 7) & 0xff);
    CHECK(parse(noise).status == sip_parse_status::not_sip);
}

TEST_CASE("sip parser: keep-alive CRLFs", "[sip_parser]") {
    SECTION("before a message they are skipped and counted") {
        const std::string msg = "\r\n\r\n" + invite;
        const auto r = parse(msg);
        REQUIRE(r.status == sip_parse_status::ok);
        CHECK(r.message.method == sip_method::invite);
        CHECK(r.message.message_length == msg.size());
        CHECK(r.message.header_length == msg.size() - 142);
    }
    SECTION("alone they are no message but are consumed") {
        for (const auto* ka : {"\r\n\r\n", "\r\n", "\n", "\r"}) {
            const auto r = parse(ka);
            CHECK(r.status == sip_parse_status::not_sip);
            CHECK(r.error == "keep-alive CRLFs only");
            CHECK(r.message.message_length == std::string_view(ka).size());
        }
    }
}

TEST_CASE("sip parser: bare LF line ends", "[sip_parser]") {
    const std::string msg =
        "OPTIONS sip:100@10.0.0.1 SIP/2.0\nVia: SIP/2.0/UDP 10.0.0.9:5061\nFrom: <sip:a@b>\nTo: <sip:c@d>\n"
        "Call-ID: 1\nCSeq: 1 OPTIONS\nContent-Length: 3\n\nabcEXTRA";
    const auto r = parse(msg);
    REQUIRE(r.status == sip_parse_status::ok);
    CHECK(r.message.request_uri == "sip:100@10.0.0.1");
    CHECK(r.message.from_uri == "sip:a@b");
    CHECK(r.message.to_uri == "sip:c@d");
    CHECK(r.message.call_id == "1");
    CHECK(r.message.top_via_host == "10.0.0.9");
    CHECK(r.message.top_via_port == 5061);
    CHECK(r.message.message_length == msg.size() - 5);
    CHECK(r.message.complete);
}

TEST_CASE("sip parser: mixed CRLF and LF line ends", "[sip_parser]") {
    const std::string msg = "OPTIONS sip:x SIP/2.0\r\nCall-ID: abc\nCSeq: 2 OPTIONS\r\n\n";
    const auto r = parse(msg);
    REQUIRE(r.status == sip_parse_status::ok);
    CHECK(r.message.call_id == "abc");
    CHECK(r.message.cseq_number == 2);
    CHECK(r.message.complete);
}

// --------------------------------------------------------------------------- headers

TEST_CASE("sip parser: compact header forms", "[sip_parser]") {
    const auto r = parse(compact_register);
    REQUIRE(r.status == sip_parse_status::ok);
    const auto& m = r.message;
    CHECK(m.method == sip_method::register_);
    CHECK(m.request_uri == "sip:[2001:db8::10]");
    CHECK(m.via_count == 2);
    CHECK(m.top_via_host == "2001:db8::1");
    CHECK(m.top_via_port == 5070);
    CHECK(m.from_uri == "sip:alice@[2001:db8::1]:5060;transport=udp");
    CHECK(m.to_uri == "sip:alice@[2001:db8::1]:5060");
    CHECK(m.call_id == "843817637684230@998sdasdh09");
    CHECK(m.content_length == 4);
    CHECK(m.message_length == compact_register.size());
    CHECK(m.complete);
}

TEST_CASE("sip parser: header names are case-insensitive", "[sip_parser]") {
    const std::string msg = crlf(
        "BYE sip:x SIP/2.0\n"
        "VIA: SIP/2.0/UDP h1\n"
        "vIa: SIP/2.0/UDP h2\n"
        "V: SIP/2.0/UDP h3\n"
        "FROM: <sip:from@x>\n"
        "tO: <sip:to@x>\n"
        "call-id: cid\n"
        "cSeQ: 9 BYE\n"
        "USER-AGENT: ua\n"
        "CONTENT-LENGTH: 0\n"
        "\n");
    const auto r = parse(msg);
    REQUIRE(r.status == sip_parse_status::ok);
    CHECK(r.message.via_count == 3);
    CHECK(r.message.top_via_host == "h1");
    CHECK(r.message.from_uri == "sip:from@x");
    CHECK(r.message.to_uri == "sip:to@x");
    CHECK(r.message.call_id == "cid");
    CHECK(r.message.cseq_method == sip_method::bye);
    CHECK(r.message.user_agent == "ua");
    CHECK(r.message.has_content_length);
}

TEST_CASE("sip parser: white space around the colon and in values", "[sip_parser]") {
    const std::string msg = crlf(
        "MESSAGE sip:x SIP/2.0\n"
        "From :   <sip:a@b>  \n"
        "To\t:\tsip:c@d\t\n"
        "Call-ID:xyz\n"
        "CSeq:   42    MESSAGE  \n"
        "User-Agent:   spaced  out   \n"
        "Content-Length :  0 \n"
        "\n");
    const auto r = parse(msg);
    REQUIRE(r.status == sip_parse_status::ok);
    CHECK(r.message.from_uri == "sip:a@b");
    CHECK(r.message.to_uri == "sip:c@d");
    CHECK(r.message.call_id == "xyz");
    CHECK(r.message.cseq == "42    MESSAGE");
    CHECK(r.message.cseq_number == 42);
    CHECK(r.message.cseq_method == sip_method::message);
    CHECK(r.message.user_agent == "spaced  out");
    CHECK(r.message.content_length == 0);
}

TEST_CASE("sip parser: the first of repeated single-valued headers wins", "[sip_parser]") {
    // Suricata's sip_header_multi_val.pcap carries both `t:` and `To:`.
    const std::string msg = crlf(
        "INVITE sip:x SIP/2.0\n"
        "t: <sip:first@x>\n"
        "To: <sip:second@x>\n"
        "From: <sip:f1@x>\n"
        "f: <sip:f2@x>\n"
        "Call-ID: one\n"
        "i: two\n"
        "CSeq: 1 INVITE\n"
        "CSeq: 2 BYE\n"
        "User-Agent: a\n"
        "User-Agent: b\n"
        "\n");
    const auto r = parse(msg);
    REQUIRE(r.status == sip_parse_status::ok);
    CHECK(r.message.to_uri == "sip:first@x");
    CHECK(r.message.from_uri == "sip:f1@x");
    CHECK(r.message.call_id == "one");
    CHECK(r.message.cseq_number == 1);
    CHECK(r.message.cseq_method == sip_method::invite);
    CHECK(r.message.user_agent == "a");
}

TEST_CASE("sip parser: unrelated and compact headers that look alike are ignored", "[sip_parser]") {
    const std::string msg = crlf(
        "INVITE sip:x SIP/2.0\n"
        "From-Tag: <sip:no@x>\n"
        "Tox: <sip:no@x>\n"
        "Vias: SIP/2.0/UDP no\n"
        "c: application/sdp\n"
        "m: <sip:contact@x>\n"
        "k: 100rel\n"
        "X-Via: SIP/2.0/UDP no\n"
        "\n");
    const auto r = parse(msg);
    REQUIRE(r.status == sip_parse_status::ok);
    CHECK(r.message.from_uri.empty());
    CHECK(r.message.to_uri.empty());
    CHECK(r.message.via_count == 0);
    CHECK(r.message.top_via_host.empty());
}

// --------------------------------------------------------------------------- From / To

TEST_CASE("sip parser: From/To URIs are bare", "[sip_parser]") {
    struct sample {
        const char* value;
        const char* uri;
    };
    const sample samples[] = {
        {"\"Display, Name\" <sip:alice@example.com;transport=udp>;tag=abc", "sip:alice@example.com;transport=udp"},
        {"sip:bob@x;tag=1", "sip:bob@x"},
        {"sip:bob@x", "sip:bob@x"},
        {"sip:bob@x ;tag=1", "sip:bob@x"},
        {"<sip:carol@chicago.com>", "sip:carol@chicago.com"},
        {"<sip:carol@chicago.com>;tag=887s", "sip:carol@chicago.com"},
        {"Bob <sip:bob@biloxi.com>;tag=a6c85cf", "sip:bob@biloxi.com"},
        {"Anonymous Caller Name <sips:anon@anonymous.invalid>", "sips:anon@anonymous.invalid"},
        {"\"a<b>c\" <sip:real@x>", "sip:real@x"},
        {"\"quote \\\" inside, <sip:fake@x>\" <sip:real@x>;tag=1", "sip:real@x"},
        {"\"backslash at end\\\\\" <sip:real@x>", "sip:real@x"},
        {"\"\" <sip:empty-name@x>", "sip:empty-name@x"},
        {"\"no space\"<sip:tight@x>", "sip:tight@x"},
        {"< sip:padded@x >", "sip:padded@x"},
        {"<sip:alice@[2001:db8::1]:5060>;tag=9", "sip:alice@[2001:db8::1]:5060"},
        {"sip:alice@[2001:db8::1]:5060;tag=9", "sip:alice@[2001:db8::1]:5060"},
        {"<tel:+420123456789>;tag=1", "tel:+420123456789"},
        {"tel:+420123456789;tag=1", "tel:+420123456789"},
        {"<sip:a@b?Subject=x>", "sip:a@b?Subject=x"},
        // seen in Suricata's sip_compact_form.pcap: a display name with literal backslash-quotes
        {"\\\"arik\\\" <sip:816666@voip.brurjula.net>;tag=6433ef9", "sip:816666@voip.brurjula.net"},
        // cut before the '>': the URI runs to white space or the end of the value
        {"<sip:no-closing@x", "sip:no-closing@x"},
        {"Name <sip:cut", "sip:cut"},
        {"\"Bob\" <sip:bob@example.com", "sip:bob@example.com"},
        {"\"Bob\" < sip:bob@example.com ;x", "sip:bob@example.com"},
    };
    for (const auto& s : samples) {
        INFO(s.value);
        const std::string msg = crlf("INVITE sip:x SIP/2.0\nFrom: "s + s.value + "\nTo: " + s.value + "\n\n");
        const auto r = parse(msg);
        REQUIRE(r.status == sip_parse_status::ok);
        CHECK(r.message.from_uri == s.uri);
        CHECK(r.message.to_uri == s.uri);
    }
}

TEST_CASE("sip parser: unreadable From/To leave the field empty but the message ok", "[sip_parser]") {
    for (const auto* value : {"", "   ", "\"unterminated <sip:a@b>", "\"name\" sip:a@b", "\"name\"",
                              "\"name\" <", "\"esc\\\\"}) {
        INFO(value);
        const auto r = parse(crlf("INVITE sip:x SIP/2.0\nFrom: "s + value + "\nTo: " + value + "\n\n"));
        REQUIRE(r.status == sip_parse_status::ok);
        CHECK(r.message.from_uri.empty());
        CHECK(r.message.to_uri.empty());
    }
}

TEST_CASE("sip parser: IPv6 in the Request-URI", "[sip_parser]") {
    const auto r = parse(crlf("INVITE sip:bob@[2001:db8::2]:5080;transport=tcp SIP/2.0\n\n"));
    REQUIRE(r.status == sip_parse_status::ok);
    CHECK(r.message.request_uri == "sip:bob@[2001:db8::2]:5080;transport=tcp");
}

// --------------------------------------------------------------------------- Via

TEST_CASE("sip parser: top Via host and port", "[sip_parser]") {
    struct sample {
        const char* value;
        const char* host;
        std::uint16_t port;
    };
    const sample samples[] = {
        {"SIP/2.0/UDP [2001:db8::1]:5060;branch=z9hG4bK1", "2001:db8::1", 5060},
        {"SIP/2.0/UDP [2001:db8::1];branch=z9hG4bK1", "2001:db8::1", 0},
        {"SIP/2.0/UDP 10.0.0.1;rport", "10.0.0.1", 0},
        {"SIP/2.0/UDP 10.0.0.1:5062;rport;branch=z9hG4bK1", "10.0.0.1", 5062},
        {"SIP/2.0/TCP proxy.example.com:5061", "proxy.example.com", 5061},
        {"SIP/2.0/TLS host", "host", 0},
        {"SIP/2.0/WSS df7jal23ls0d.invalid;branch=z9hG4bK", "df7jal23ls0d.invalid", 0},
        {"sip/2.0/udp lower.case:1", "lower.case", 1},
        {"SIP / 2.0 / UDP spaced.example.com : 5060 ;branch=1", "spaced.example.com", 5060},
        {"SIP/2.0/UDP 10.0.0.1:65535", "10.0.0.1", 65535},
        {"SIP/2.0/UDP 10.0.0.1:65536", "10.0.0.1", 0},     // out of range
        {"SIP/2.0/UDP 10.0.0.1:5060x", "10.0.0.1", 0},     // not a port
        {"SIP/2.0/UDP 10.0.0.1:", "10.0.0.1", 0},          // no digits
        {"SIP/2.0/UDP 10.0.0.1:0000005060", "10.0.0.1", 0}, // absurd
        {"SIP/2.0/UDP 2001:db8::1;branch=1", "2001:db8::1", 0}, // unbracketed IPv6
        {"SIP/2.0/UDP h (comment)", "h", 0},
        {"SIP/2.0/UDP", "", 0},
        {"SIP/2.0/UDP [2001:db8::1", "", 0},
        {"garbage", "", 0},
        {"SIP/2.0 host", "", 0},
    };
    for (const auto& s : samples) {
        INFO(s.value);
        const auto r = parse(crlf("OPTIONS sip:x SIP/2.0\nVia: "s + s.value + "\n\n"));
        REQUIRE(r.status == sip_parse_status::ok);
        CHECK(r.message.via_count == 1);
        CHECK(r.message.top_via_host == s.host);
        CHECK(r.message.top_via_port == s.port);
    }
}

TEST_CASE("sip parser: Via values are counted across headers", "[sip_parser]") {
    SECTION("comma-separated values count separately") {
        const auto r = parse(crlf("OPTIONS sip:x SIP/2.0\nVia: SIP/2.0/UDP a:1, SIP/2.0/UDP b:2,SIP/2.0/UDP c\n\n"));
        REQUIRE(r.status == sip_parse_status::ok);
        CHECK(r.message.via_count == 3);
        CHECK(r.message.top_via_host == "a");
        CHECK(r.message.top_via_port == 1);
    }
    SECTION("commas inside quoted strings and brackets do not split") {
        const auto r = parse(crlf(
            "OPTIONS sip:x SIP/2.0\n"
            "Via: SIP/2.0/UDP [2001:db8::1,2]:5060;x=\"a,b\\\",c\", SIP/2.0/UDP [::1]\n\n"));
        REQUIRE(r.status == sip_parse_status::ok);
        CHECK(r.message.via_count == 2);
        CHECK(r.message.top_via_host == "2001:db8::1,2");
        CHECK(r.message.top_via_port == 5060);
    }
    SECTION("empty elements are not values") {
        const auto r = parse(crlf("OPTIONS sip:x SIP/2.0\nVia: , SIP/2.0/UDP a ,, \nVia:\nVia: SIP/2.0/UDP b\n\n"));
        REQUIRE(r.status == sip_parse_status::ok);
        CHECK(r.message.via_count == 2);
        CHECK(r.message.top_via_host == "a");
    }
    SECTION("Via and v: mix; the top Via is the first one") {
        const auto r = parse(crlf(
            "OPTIONS sip:x SIP/2.0\nv: SIP/2.0/UDP first:5060\nVia: SIP/2.0/UDP second, SIP/2.0/UDP third\n"
            "v: SIP/2.0/TCP fourth\n\n"));
        REQUIRE(r.status == sip_parse_status::ok);
        CHECK(r.message.via_count == 4);
        CHECK(r.message.top_via_host == "first");
        CHECK(r.message.top_via_port == 5060);
    }
    SECTION("ten Via headers") {
        std::string msg = "SIP/2.0 200 OK\r\n";
        for (int i = 0; i < 10; ++i)
            msg += "Via: SIP/2.0/UDP 192.0.2." + std::to_string(i + 1) + ":506" + std::to_string(i) + ";branch=z9hG4bK" +
                   std::to_string(i) + "\r\n";
        msg += "CSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n";
        const auto r = parse(msg);
        REQUIRE(r.status == sip_parse_status::ok);
        CHECK(r.message.via_count == 10);
        CHECK(r.message.top_via_host == "192.0.2.1");
        CHECK(r.message.top_via_port == 5060);
    }
    SECTION("an unterminated quote swallows the rest of that header only") {
        const auto r = parse(crlf("OPTIONS sip:x SIP/2.0\nVia: SIP/2.0/UDP a;x=\"open, SIP/2.0/UDP b\nVia: SIP/2.0/UDP c\n\n"));
        REQUIRE(r.status == sip_parse_status::ok);
        CHECK(r.message.via_count == 2);
    }
}

// --------------------------------------------------------------------------- folding

TEST_CASE("sip parser: folded headers", "[sip_parser]") {
    SECTION("values continue on the next line") {
        const auto r = parse(compact_register);
        REQUIRE(r.status == sip_parse_status::ok);
        CHECK(r.message.cseq_number == 1826);
        CHECK(r.message.cseq_method == sip_method::register_);
        // the view spans the fold: the raw CRLF and indentation stay inside
        CHECK(r.message.user_agent == "folded\r\n agent");
    }
    SECTION("a From URI on a continuation line") {
        const auto r = parse(crlf("INVITE sip:x SIP/2.0\nFrom:\n \"Folded\"\n\t<sip:folded@x>;tag=1\nTo: <sip:t@x>\n\n"));
        REQUIRE(r.status == sip_parse_status::ok);
        CHECK(r.message.from_uri == "sip:folded@x");
        CHECK(r.message.to_uri == "sip:t@x");
    }
    SECTION("Via values on continuation lines count") {
        const auto r = parse(crlf(
            "INVITE sip:x SIP/2.0\n"
            "Via: SIP/2.0/UDP a:1,\n"
            "  SIP/2.0/UDP b:2\n"
            "\t, SIP/2.0/UDP c:3\n"
            "Via:\n"
            " SIP/2.0/UDP d\n"
            "CSeq: 5 INVITE\n\n"));
        REQUIRE(r.status == sip_parse_status::ok);
        CHECK(r.message.via_count == 4);
        CHECK(r.message.top_via_host == "a");
        CHECK(r.message.top_via_port == 1);
        CHECK(r.message.cseq_number == 5);
    }
    SECTION("a top Via whose sent-by is folded") {
        const auto r = parse(crlf("INVITE sip:x SIP/2.0\nVia: SIP/2.0/UDP\n  host.example:5070;branch=1\n\n"));
        REQUIRE(r.status == sip_parse_status::ok);
        CHECK(r.message.top_via_host == "host.example");
        CHECK(r.message.top_via_port == 5070);
    }
    SECTION("a folded Content-Length") {
        const auto r = parse(crlf("INVITE sip:x SIP/2.0\nContent-Length:\n 2\n\nab"));
        REQUIRE(r.status == sip_parse_status::ok);
        CHECK(r.message.content_length == 2);
        CHECK(r.message.complete);
    }
    SECTION("a continuation line before any header is malformed") {
        const auto r = parse(crlf("INVITE sip:x SIP/2.0\n Via: SIP/2.0/UDP a\n\n"));
        CHECK(r.status == sip_parse_status::malformed);
        CHECK(r.error == "continuation line without a header");
    }
    SECTION("a white-space-only line is a continuation, not the end of the headers") {
        const auto r = parse(crlf("INVITE sip:x SIP/2.0\nCall-ID: a\n \nCSeq: 3 INVITE\n\n"));
        REQUIRE(r.status == sip_parse_status::ok);
        CHECK(r.message.call_id == "a");
        CHECK(r.message.cseq_number == 3);
    }
}

// --------------------------------------------------------------------------- CSeq

TEST_CASE("sip parser: CSeq", "[sip_parser]") {
    struct sample {
        const char* value;
        std::uint32_t number;
        sip_method method;
    };
    const sample samples[] = {
        {"1 REGISTER", 1, sip_method::register_},
        {"4294967295 ACK", 4294967295u, sip_method::ack},
        {"4294967296 ACK", 0, sip_method::ack},     // overflow
        {"99999999999999999999999 ACK", 0, sip_method::ack},
        {"abc INVITE", 0, sip_method::invite},       // not numeric: keep parsing, leave 0
        {"12abc INVITE", 0, sip_method::invite},
        {"-1 INVITE", 0, sip_method::invite},
        {"7", 7, sip_method::unknown},
        {"7 invite", 7, sip_method::unknown},        // methods are case-sensitive
        {"INVITE", 0, sip_method::unknown},
        {"", 0, sip_method::unknown},
        {"3\tCANCEL", 3, sip_method::cancel},
    };
    for (const auto& s : samples) {
        INFO(s.value);
        const auto r = parse(crlf("INVITE sip:x SIP/2.0\nCSeq: "s + s.value + "\n\n"));
        REQUIRE(r.status == sip_parse_status::ok);
        CHECK(r.message.cseq_number == s.number);
        CHECK(r.message.cseq_method == s.method);
    }
}

// --------------------------------------------------------------------------- Content-Length and message boundaries

TEST_CASE("sip parser: Content-Length", "[sip_parser]") {
    const std::string head = crlf("MESSAGE sip:x SIP/2.0\nCall-ID: c\n");
    SECTION("the body is counted") {
        const std::string msg = head + crlf("Content-Length: 5\n\n") + "helloTRAILING";
        const auto r = parse(msg);
        REQUIRE(r.status == sip_parse_status::ok);
        CHECK(r.message.content_length == 5);
        CHECK(r.message.message_length == msg.size() - 8);
        CHECK(msg.substr(r.message.header_length, 5) == "hello");
        CHECK(r.message.complete);
    }
    SECTION("a missing Content-Length makes the rest of the payload the body") {
        const std::string msg = head + "\r\nsome body";
        const auto r = parse(msg);
        REQUIRE(r.status == sip_parse_status::ok);
        CHECK_FALSE(r.message.has_content_length);
        CHECK(r.message.message_length == msg.size());
        CHECK(r.message.header_length == msg.size() - 9);
        CHECK(r.message.complete);
    }
    SECTION("a body shorter than declared is capped at the payload") {
        const std::string msg = head + crlf("l: 1000\n\n") + "short";
        const auto r = parse(msg);
        REQUIRE(r.status == sip_parse_status::ok);
        CHECK(r.message.content_length == 1000);
        CHECK(r.message.message_length == msg.size());
        CHECK_FALSE(r.message.complete);
    }
    SECTION("a huge but valid Content-Length is capped, not overflowed") {
        const std::string msg = head + crlf("Content-Length: 18446744073709551615\n\n") + "x";
        const auto r = parse(msg);
        REQUIRE(r.status == sip_parse_status::ok);
        CHECK(r.message.message_length == msg.size());
        CHECK_FALSE(r.message.complete);
    }
    SECTION("bad values are malformed") {
        for (const auto* value : {"abc", "", "  ", "-1", "+1", "1 2", "0x10", "1.5", "99999999999999999999999",
                                  "18446744073709551616"}) {
            INFO(value);
            const auto r = parse(head + "Content-Length: " + value + "\r\n\r\n");
            CHECK(r.status == sip_parse_status::malformed);
            CHECK(r.error == "invalid Content-Length");
            // fields seen before the error are kept
            CHECK(r.message.call_id == "c");
            CHECK(r.message.message_length == (head + "Content-Length: " + value + "\r\n\r\n").size());
        }
    }
    SECTION("repeated equal values are fine, conflicting ones are malformed") {
        CHECK(parse(head + crlf("Content-Length: 0\nl: 0\n\n")).status == sip_parse_status::ok);
        const auto r = parse(head + crlf("Content-Length: 0\nl: 10\n\n") + "0123456789");
        CHECK(r.status == sip_parse_status::malformed);
        CHECK(r.error == "conflicting Content-Length headers");
    }
}

TEST_CASE("sip parser: walking a TCP segment with several messages", "[sip_parser]") {
    const std::string trying = crlf(
        "SIP/2.0 100 Trying\nVia: SIP/2.0/TCP pc33.atlanta.com;branch=z9hG4bK776asdhds\nCall-ID: a84b\n"
        "CSeq: 314159 INVITE\nContent-Length: 0\n\n");
    const std::string segment = invite + trying + "\r\n\r\n" + ok_response + "INVITE sip:partial SIP/2.0\r\nVia: ";
    std::string_view rest = segment;
    std::vector<sip_parse_result> results;
    while (!rest.empty()) {
        const auto r = parse_sip_message(rest);
        if (r.status != sip_parse_status::ok) break;
        REQUIRE(r.message.message_length > 0);
        results.push_back(r);
        rest.remove_prefix(r.message.message_length);
    }
    CHECK(rest.empty());
    REQUIRE(results.size() == 4);
    CHECK(results[0].message.method == sip_method::invite);
    CHECK(results[0].message.message_length == invite.size());
    CHECK(results[0].message.complete);
    CHECK(results[1].message.status == 100);
    CHECK(results[1].message.call_id == "a84b");
    CHECK(results[1].message.message_length == trying.size());
    CHECK(results[2].message.status == 200);
    CHECK(results[2].message.via_count == 3);
    CHECK(results[2].message.message_length == ok_response.size() + 4); // the keep-alive before it
    CHECK(results[3].message.request_uri == "sip:partial");
    CHECK_FALSE(results[3].message.complete);
    // all views point into the one segment
    CHECK(points_into(segment, results[1].message.call_id));
    CHECK(points_into(segment, results[2].message.top_via_host));
}

TEST_CASE("sip parser: incomplete header sections", "[sip_parser]") {
    SECTION("a start line alone, without its line end") {
        const auto r = parse("OPTIONS sip:x SIP/2.0");
        REQUIRE(r.status == sip_parse_status::ok);
        CHECK(r.message.method == sip_method::options);
        CHECK_FALSE(r.message.complete);
        CHECK(r.message.message_length == 21);
    }
    SECTION("a header section without its empty line") {
        const std::string msg = crlf("OPTIONS sip:x SIP/2.0\nCall-ID: abc\nCSeq: 1 OPTIONS\n");
        const auto r = parse(msg);
        REQUIRE(r.status == sip_parse_status::ok);
        CHECK(r.message.call_id == "abc");
        CHECK_FALSE(r.message.complete);
        CHECK(r.message.message_length == msg.size());
    }
    SECTION("a header name cut by the end of the payload is ignored") {
        const auto r = parse(crlf("OPTIONS sip:x SIP/2.0\nCall-ID: abc\n") + "CSe");
        REQUIRE(r.status == sip_parse_status::ok);
        CHECK(r.message.call_id == "abc");
        CHECK_FALSE(r.message.complete);
    }
    SECTION("a lone CR at the end") {
        const auto r = parse(crlf("OPTIONS sip:x SIP/2.0\nCall-ID: abc\n") + "\r");
        REQUIRE(r.status == sip_parse_status::ok);
        CHECK_FALSE(r.message.complete);
    }
}

TEST_CASE("sip parser: missing mandatory headers do not fail the message", "[sip_parser]") {
    SECTION("no headers at all") {
        const auto r = parse(crlf("OPTIONS sip:x SIP/2.0\n\n"));
        REQUIRE(r.status == sip_parse_status::ok);
        const auto& m = r.message;
        CHECK(m.from_uri.empty());
        CHECK(m.to_uri.empty());
        CHECK(m.call_id.empty());
        CHECK(m.cseq.empty());
        CHECK(m.cseq_number == 0);
        CHECK(m.via_count == 0);
        CHECK(m.complete);
        CHECK(m.message_length == 25);
    }
    SECTION("only some headers") {
        const auto r = parse(crlf("REGISTER sip:x SIP/2.0\nFrom: <sip:a@x>\n\n"));
        REQUIRE(r.status == sip_parse_status::ok);
        CHECK(r.message.from_uri == "sip:a@x");
        CHECK(r.message.to_uri.empty());
        CHECK(r.message.call_id.empty());
    }
}

TEST_CASE("sip parser: invalid header lines", "[sip_parser]") {
    for (const auto* line : {"No colon here", ": empty name", "Bad Name: x", "Na\x01me: x", "[x]: y"}) {
        INFO(line);
        const auto r = parse(crlf("OPTIONS sip:x SIP/2.0\nCall-ID: kept\n"s + line + "\n\n"));
        CHECK(r.status == sip_parse_status::malformed);
        CHECK(r.error == "invalid header line");
        CHECK(r.message.call_id == "kept");
    }
}

TEST_CASE("sip parser: NUL bytes", "[sip_parser]") {
    SECTION("inside header values they are kept") {
        const std::string msg = "INVITE sip:x SIP/2.0\r\nCall-ID: ab\0cd\r\nUser-Agent: \0\0\r\nFrom: <sip:a\0b@x>\r\n"
                                "Via: SIP/2.0/UDP h\0st:5060\r\n\r\n"s;
        const auto r = parse(msg);
        REQUIRE(r.status == sip_parse_status::ok);
        CHECK(r.message.call_id == "ab\0cd"sv);
        CHECK(r.message.user_agent == "\0\0"sv);
        CHECK(r.message.from_uri == "sip:a\0b@x"sv);
        CHECK(r.message.top_via_host == "h\0st"sv);
        CHECK(r.message.top_via_port == 5060);
    }
    SECTION("inside a header name they make the message malformed") {
        const auto r = parse("INVITE sip:x SIP/2.0\r\nCall\0-ID: x\r\n\r\n"s);
        CHECK(r.status == sip_parse_status::malformed);
    }
    SECTION("inside the Request-URI they are kept") {
        const auto r = parse("INVITE sip:a\0b SIP/2.0\r\n\r\n"s);
        REQUIRE(r.status == sip_parse_status::ok);
        CHECK(r.message.request_uri == "sip:a\0b"sv);
    }
    SECTION("inside the method the line is no longer a request") {
        const auto r = parse("INV\0ITE sip:a SIP/2.0\r\n\r\n"s);
        CHECK(r.status == sip_parse_status::malformed);
        CHECK(r.error == "invalid method");
    }
}

// --------------------------------------------------------------------------- limits

TEST_CASE("sip parser: every field is capped to max_field_length", "[sip_parser]") {
    const std::string msg = crlf(
        "INVITE sip:0123456789 SIP/2.0\n"
        "Via: SIP/2.0/UDP host-0123456789:5060\n"
        "From: \"x\" <sip:from-0123456789>\n"
        "To: sip:to-0123456789;tag=1\n"
        "Call-ID: call-0123456789\n"
        "User-Agent: ua-0123456789\n"
        "CSeq: 123456789012 INVITE\n\n");
    sip_parse_limits limits;
    limits.max_field_length = 8;
    const auto r = parse(msg, limits);
    REQUIRE(r.status == sip_parse_status::ok);
    const auto& m = r.message;
    CHECK(m.method_token == "INVITE"); // short enough
    CHECK(m.method == sip_method::invite);
    CHECK(m.request_uri == "sip:0123");
    CHECK(m.from_uri == "sip:from");
    CHECK(m.to_uri == "sip:to-0");
    CHECK(m.call_id == "call-012");
    CHECK(m.user_agent == "ua-01234");
    CHECK(m.cseq == "12345678");
    CHECK(m.top_via_host == "host-012");
    CHECK(m.top_via_port == 5060);             // parsed from the whole value
    CHECK(m.cseq_method == sip_method::invite); // likewise
    CHECK(m.truncated_fields == (bit(sip_field::request_uri) | bit(sip_field::from) | bit(sip_field::to) |
                                 bit(sip_field::call_id) | bit(sip_field::user_agent) | bit(sip_field::cseq) |
                                 bit(sip_field::via_host)));
    CHECK(parse(msg).message.truncated_fields == 0);
}

TEST_CASE("sip parser: a field exactly at the cap is not truncated", "[sip_parser]") {
    sip_parse_limits limits;
    limits.max_field_length = 5;
    const auto r = parse(crlf("INVITE sip:x SIP/2.0\nCall-ID: 12345\n\n"), limits);
    REQUIRE(r.status == sip_parse_status::ok);
    CHECK(r.message.call_id == "12345");
    CHECK_FALSE(r.message.truncated(sip_field::call_id));
    CHECK(r.message.truncated(sip_field::method_token)); // "INVITE" has 6
    CHECK(r.message.method == sip_method::unknown);
}

TEST_CASE("sip parser: kilobyte-long methods (PROTOS c07)", "[sip_parser]") {
    SECTION("within the start-line limit: ok, capped, unknown") {
        const std::string method(1000, 'a');
        const auto r = parse(crlf(method + " sip:tori@localhost SIP/2.0\nCSeq: 1 " + method + "\n\n"));
        REQUIRE(r.status == sip_parse_status::ok);
        CHECK(r.message.method_token.size() == 256);
        CHECK(r.message.method == sip_method::unknown);
        CHECK(r.message.truncated(sip_field::method_token));
        CHECK(r.message.request_uri == "sip:tori@localhost");
    }
    SECTION("a method that is a known one followed by more token bytes is unknown even when cut to it") {
        sip_parse_limits limits;
        limits.max_field_length = 6;
        const auto r = parse(crlf("INVITEX sip:x SIP/2.0\n\n"), limits);
        REQUIRE(r.status == sip_parse_status::ok);
        CHECK(r.message.method_token == "INVITE");
        CHECK(r.message.method == sip_method::unknown);
    }
    SECTION("beyond the start-line limit: malformed, the capped fields are still there") {
        const std::string method(4000, 'a');
        const auto r = parse(crlf(method + " sip:tori@localhost SIP/2.0\n\n"));
        CHECK(r.status == sip_parse_status::malformed);
        CHECK(r.error == "start line too long");
        CHECK(r.message.method_token.size() == 256);
        CHECK(r.message.request_uri == "sip:tori@localhost");
    }
    SECTION("a 16000-byte method with no line end at all is no recognisable SIP") {
        CHECK(parse(std::string(16000, 'a')).status == sip_parse_status::not_sip);
    }
}

TEST_CASE("sip parser: a 64 KB Request-URI", "[sip_parser]") {
    const std::string uri = "sip:" + std::string(64 * 1024, 'u') + "@example.com";
    const std::string msg = crlf("INVITE " + uri + " SIP/2.0\nCall-ID: x\n\n");
    SECTION("default limits: the start line is too long") {
        const auto r = parse(msg);
        CHECK(r.status == sip_parse_status::malformed);
        CHECK(r.error == "start line too long");
        CHECK(r.message.request_uri.size() == 256);
        CHECK(r.message.truncated(sip_field::request_uri));
        CHECK(r.message.message_length == msg.size());
    }
    SECTION("a generous start-line limit: ok with the URI capped") {
        sip_parse_limits limits;
        limits.max_start_line = 1 << 20;
        const auto r = parse(msg, limits);
        REQUIRE(r.status == sip_parse_status::ok);
        CHECK(r.message.request_uri == std::string_view(uri).substr(0, 256));
        CHECK(r.message.truncated_fields == bit(sip_field::request_uri));
        CHECK(r.message.call_id == "x");
    }
}

TEST_CASE("sip parser: 64 KB header values", "[sip_parser]") {
    const std::string big(64 * 1024, 'z');
    const std::string msg = crlf("INVITE sip:x SIP/2.0\nFrom: \"" + big + "\" <sip:" + big + ">\nTo: sip:" + big +
                                 ";tag=1\nVia: SIP/2.0/UDP [" + big + "]:1\nUser-Agent: " + big + "\n\n");
    const auto r = parse(msg);
    REQUIRE(r.status == sip_parse_status::ok);
    CHECK(r.message.from_uri.size() == 256);
    CHECK(r.message.from_uri.substr(0, 4) == "sip:");
    CHECK(r.message.to_uri.size() == 256);
    CHECK(r.message.user_agent.size() == 256);
    CHECK(r.message.top_via_host.size() == 256);
    CHECK(r.message.top_via_port == 1);
    CHECK(r.message.truncated_fields == (sip_field::from | sip_field::to | sip_field::user_agent | sip_field::via_host));
}

TEST_CASE("sip parser: the header line limit", "[sip_parser]") {
    sip_parse_limits limits;
    limits.max_header_lines = 5;
    const auto with_lines = [](int n) {
        std::string msg = "OPTIONS sip:x SIP/2.0\r\n";
        for (int i = 0; i < n; ++i) msg += "X-H: " + std::to_string(i) + "\r\n";
        return msg + "\r\n";
    };
    CHECK(parse(with_lines(5), limits).status == sip_parse_status::ok);
    const auto r = parse(with_lines(6), limits);
    CHECK(r.status == sip_parse_status::malformed);
    CHECK(r.error == "too many header lines");
    CHECK(parse(with_lines(256)).status == sip_parse_status::ok);
    CHECK(parse(with_lines(257)).status == sip_parse_status::malformed);
    // continuation lines are lines too
    CHECK(parse(crlf("OPTIONS sip:x SIP/2.0\nA: 1\n 2\n 3\n 4\n 5\n 6\n\n"), limits).status ==
          sip_parse_status::malformed);
}

TEST_CASE("sip parser: the start line limit", "[sip_parser]") {
    sip_parse_limits limits;
    limits.max_start_line = 21;
    CHECK(parse(crlf("OPTIONS sip:x SIP/2.0\n\n"), limits).status == sip_parse_status::ok);
    CHECK(parse(crlf("OPTIONS sip:xy SIP/2.0\n\n"), limits).status == sip_parse_status::malformed);
    // a line that is not SIP stays not_sip however long it is
    CHECK(parse(crlf("GET /" + std::string(5000, 'a') + " HTTP/1.1\n\n")).status == sip_parse_status::not_sip);
}

TEST_CASE("sip parser: pathological inputs stay linear", "[sip_parser]") {
    const std::size_t n = 1 << 20;
    SECTION("a megabyte of commas in one Via") {
        const std::string msg = "OPTIONS sip:x SIP/2.0\r\nVia: " + std::string(n, ',') + "\r\n\r\n";
        const auto r = parse(msg);
        REQUIRE(r.status == sip_parse_status::ok);
        CHECK(r.message.via_count == 0);
    }
    SECTION("half a million Via values") {
        std::string values;
        values.reserve(n);
        while (values.size() < n) values += "a,";
        const auto r = parse("OPTIONS sip:x SIP/2.0\r\nVia: " + values + "\r\n\r\n");
        REQUIRE(r.status == sip_parse_status::ok);
        CHECK(r.message.via_count == n / 2);
    }
    SECTION("quotes, brackets, angle brackets and backslashes") {
        for (const char c : {'"', '[', '<', '\\', ';', ':', ' ', '\r'}) {
            const std::string value(n, c);
            const std::string msg = "OPTIONS sip:x SIP/2.0\r\nVia: SIP/2.0/UDP " + value + "\r\nFrom: " + value +
                                    "\r\nTo: \"" + value + "\r\nCSeq: " + value + "\r\n\r\n";
            CHECK(parse_checked(msg).empty());
        }
    }
    SECTION("a megabyte of line ends") {
        CHECK(parse(std::string(n, '\n')).status == sip_parse_status::not_sip);
        CHECK(parse("OPTIONS sip:x SIP/2.0\r\nA: b" + std::string(n, '\r')).status == sip_parse_status::ok);
    }
}

// --------------------------------------------------------------------------- robustness

namespace {

// Where in `msg` the Content-Length line is, to tell prefixes cut inside its value.
std::pair<std::size_t, std::size_t> line_span(const std::string& msg, std::string_view starts_with) {
    auto b = msg.find(starts_with);
    if (b == std::string::npos) return {std::string::npos, std::string::npos};
    if (msg[b] == '\n') ++b;
    return {b, msg.find('\n', b)};
}

} // namespace

TEST_CASE("sip parser: every prefix of a valid message gives a sane result", "[sip_parser]") {
    for (const std::string* msg : {&invite, &ok_response, &compact_register}) {
        const auto full = parse(*msg);
        REQUIRE(full.status == sip_parse_status::ok);
        REQUIRE(full.message.complete);
        const std::size_t version_end = msg->find("SIP/2.0") + 4; // "SIP/" decides it is SIP
        const auto [cl_begin, cl_end] = line_span(*msg, msg == &compact_register ? "\nl: " : "Content-Length: ");
        const std::size_t start_line_end = msg->find('\r');
        std::size_t failures = 0;
        for (std::size_t len = 0; len <= msg->size(); ++len) {
            const std::string prefix = msg->substr(0, len); // own buffer: ASan sees any overread
            const auto r = parse(prefix);
            std::string problem = invariant_violation(prefix, r, {});
            if (problem.empty() && !parse_checked(prefix).empty()) problem = parse_checked(prefix);
            if (problem.empty() && len >= version_end && r.status == sip_parse_status::not_sip)
                problem = "a cut SIP message reported as not SIP";
            if (problem.empty() && r.status == sip_parse_status::malformed &&
                !(len > cl_begin && len <= cl_end && r.error == "invalid Content-Length") &&
                !(len <= start_line_end))
                problem = "malformed: " + std::string(r.error);
            if (problem.empty() && len < msg->size() && r.message.complete) problem = "a cut message is complete";
            if (problem.empty() && len == msg->size() && r.message.message_length != len)
                problem = "the full message has the wrong length";
            if (problem.empty() && r.status == sip_parse_status::ok &&
                r.message.header_length == full.message.header_length) {
                // whole header section: the same fields as the full message
                if (r.message.from_uri != full.message.from_uri || r.message.call_id != full.message.call_id ||
                    r.message.via_count != full.message.via_count)
                    problem = "fields differ from the full parse";
            }
            if (!problem.empty()) {
                ++failures;
                UNSCOPED_INFO("prefix length " << len << ": " << problem);
            }
        }
        CHECK(failures == 0);
    }
}

TEST_CASE("sip parser: single-byte mutations never break the invariants", "[sip_parser]") {
    static constexpr std::array<char, 24> replacements{'\0', '\r', '\n', ' ',  '\t', ',', '"',  '<',
                                                       '>',  '[',  ']',  ':',  ';',  '\\', '/', '0',
                                                       '9',  'A',  'v',  '\x7f', '\x80', '\xff', '(', '='};
    std::size_t parsed = 0, failures = 0;
    for (const std::string* msg : {&invite, &ok_response, &compact_register}) {
        for (std::size_t i = 0; i < msg->size(); ++i) {
            std::string mutated = *msg;
            for (const char c : replacements) {
                mutated[i] = c;
                if (auto problem = parse_checked(mutated); !problem.empty()) {
                    ++failures;
                    UNSCOPED_INFO("byte " << i << " := " << int(static_cast<unsigned char>(c)) << ": " << problem);
                }
                ++parsed;
            }
            // deletion and duplication of the byte
            std::string deleted = *msg;
            deleted.erase(i, 1);
            std::string doubled = *msg;
            doubled.insert(i, 1, (*msg)[i]);
            for (const std::string* variant : {&deleted, &doubled}) {
                if (auto problem = parse_checked(*variant); !problem.empty()) {
                    ++failures;
                    UNSCOPED_INFO("byte " << i << " deleted/doubled: " << problem);
                }
                ++parsed;
            }
            // every prefix of the mutation too (a mutated message cut short)
            if (i % 7 == 0) {
                mutated[i] = '"';
                for (std::size_t len = i; len <= mutated.size(); len += 3) {
                    const std::string prefix = mutated.substr(0, len);
                    if (auto problem = parse_checked(prefix); !problem.empty()) ++failures;
                    ++parsed;
                }
            }
        }
    }
    CHECK(parsed > 50000);
    CHECK(failures == 0);
}

TEST_CASE("sip parser: random token soup never breaks the invariants", "[sip_parser]") {
    static constexpr std::array<std::string_view, 40> pieces{
        "INVITE",  "REGISTER", "SIP/2.0", "sip/2.0", "SIP/2.0 ", "200",   " OK", "sip:a@b", "sip:a@[::1]:5060",
        " ",       "\t",       "\r\n",    "\n",      "\r",       "\r\n ", ":",   ",",       ";tag=1",
        "\"",      "\\",       "<",       ">",       "[",        "]",     "Via", "v",       "From",
        "f",       "To",       "Call-ID", "CSeq",    "l",        "Content-Length", "12", "99999999999999999999",
        "SIP/2.0/UDP ", "\0"sv, "\xff",    "x",       "@"};
    std::uint64_t state = 0x9e3779b97f4a7c15ull;
    const auto next = [&state] {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        return state;
    };
    std::size_t failures = 0;
    for (int round = 0; round < 20000; ++round) {
        std::string msg;
        if (round % 2 == 0) msg = (round % 4 == 0) ? "OPTIONS sip:x SIP/2.0\r\n" : "SIP/2.0 180 Ringing\r\n";
        const auto count = next() % 40;
        for (std::uint64_t k = 0; k < count; ++k) msg += pieces[static_cast<std::size_t>(next() % pieces.size())];
        if (auto problem = parse_checked(msg); !problem.empty()) {
            ++failures;
            UNSCOPED_INFO("round " << round << ": " << problem);
        }
    }
    CHECK(failures == 0);
}

TEST_CASE("sip parser: default limits", "[sip_parser]") {
    const sip_parse_limits limits{};
    CHECK(limits.max_field_length == 256);
    CHECK(limits.max_header_lines == 256);
    CHECK(limits.max_start_line == 2048);
    const auto r = parse_sip_message("ACK sip:x SIP/2.0\r\nCSeq: 1 ACK\r\n\r\n");
    CHECK(r.status == sip_parse_status::ok);
    CHECK(r.message.method == sip_method::ack);
}

// --------------------------------------------------------------------------- real captures

namespace {

std::uint32_t read_u32(const unsigned char* p, bool swap) {
    const std::uint32_t v = std::uint32_t{p[0]} | std::uint32_t{p[1]} << 8 | std::uint32_t{p[2]} << 16 |
                            std::uint32_t{p[3]} << 24;
    return swap ? (v >> 24 | (v >> 8 & 0xff00u) | (v << 8 & 0xff0000u) | v << 24) : v;
}

// UDP payloads of a classic pcap file (Ethernet, BSD loopback or raw IP;
// IPv4 without fragments, IPv6 with UDP as the first next header).
std::vector<std::string> udp_payloads(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    const std::string file{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    std::vector<std::string> out;
    if (file.size() < 24) return out;
    const auto* data = reinterpret_cast<const unsigned char*>(file.data());
    const std::uint32_t magic = read_u32(data, false);
    bool swap = false;
    if (magic == 0xa1b2c3d4u || magic == 0xa1b23c4du)
        swap = false;
    else if (magic == 0xd4c3b2a1u || magic == 0x4d3cb2a1u)
        swap = true;
    else
        return out;
    const std::uint32_t linktype = read_u32(data + 20, swap);
    std::size_t pos = 24;
    while (pos + 16 <= file.size()) {
        const std::uint32_t caplen = read_u32(data + pos + 8, swap);
        pos += 16;
        if (caplen > file.size() - pos) break;
        const unsigned char* p = data + pos;
        std::size_t len = caplen;
        pos += caplen;
        std::size_t off = 0;
        unsigned ethertype = 0;
        if (linktype == 1) {
            if (len < 14) continue;
            ethertype = unsigned{p[12]} << 8 | p[13];
            off = 14;
            while ((ethertype == 0x8100 || ethertype == 0x88a8) && len >= off + 4) {
                ethertype = unsigned{p[off + 2]} << 8 | p[off + 3];
                off += 4;
            }
        } else if (linktype == 0) {
            if (len < 4) continue;
            const std::uint32_t family = read_u32(p, false) == 2 || read_u32(p, true) == 2 ? 2 : 24;
            ethertype = family == 2 ? 0x0800 : 0x86dd;
            off = 4;
        } else if (linktype == 101 || linktype == 228 || linktype == 12) {
            ethertype = len > 0 && (p[0] >> 4) == 6 ? 0x86dd : 0x0800;
        } else {
            continue;
        }
        std::size_t l4 = 0;
        if (ethertype == 0x0800) {
            if (len < off + 20 || (p[off] >> 4) != 4) continue;
            const std::size_t ihl = std::size_t{p[off] & 0x0fu} * 4;
            const unsigned frag = unsigned{p[off + 6]} << 8 | p[off + 7];
            if (p[off + 9] != 17 || (frag & 0x3fffu) != 0 || ihl < 20) continue;
            l4 = off + ihl;
        } else if (ethertype == 0x86dd) {
            if (len < off + 40 || p[off + 6] != 17) continue;
            l4 = off + 40;
        } else {
            continue;
        }
        if (len < l4 + 8) continue;
        const std::size_t udp_len = std::size_t{p[l4 + 4]} << 8 | p[l4 + 5];
        std::size_t end = udp_len >= 8 ? l4 + udp_len : len;
        if (end > len) end = len;
        out.emplace_back(reinterpret_cast<const char*>(p + l4 + 8), end - (l4 + 8));
    }
    return out;
}

struct tally {
    std::size_t ok = 0, not_sip = 0, malformed = 0;
    unsigned max_via = 0;
    std::vector<sip_parse_result> results;
};

tally parse_all(const std::vector<std::string>& payloads) {
    tally t;
    for (const auto& p : payloads) {
        const auto r = parse(p);
        REQUIRE(invariant_violation(p, r, {}).empty());
        switch (r.status) {
        case sip_parse_status::ok: ++t.ok; break;
        case sip_parse_status::not_sip: ++t.not_sip; break;
        case sip_parse_status::malformed: ++t.malformed; break;
        }
        if (r.message.via_count > t.max_via) t.max_via = r.message.via_count;
        t.results.push_back(r);
    }
    return t;
}

// The results point into the payloads: they must outlive the tally.
tally parse_all(std::vector<std::string>&&) = delete;

} // namespace

TEST_CASE("sip parser: real capture, SIPVicious session (ipfixprobe)", "[sip_parser][data]") {
    SIPDETECT_REQUIRE_SHARED_FILE(path, "ipfixprobe/sip.pcap");
    const auto payloads = udp_payloads(path);
    const auto t = parse_all(payloads);
    CHECK(t.ok == 40); // what tshark counts as SIP over UDP
    CHECK(t.malformed == 0);
    CHECK(t.not_sip == 3); // DHCPv6
    std::size_t invites = 0, registers = 0, scanner_ua = 0;
    for (const auto& r : t.results) {
        if (r.status != sip_parse_status::ok) continue;
        invites += r.message.method == sip_method::invite;
        registers += r.message.method == sip_method::register_;
        scanner_ua += r.message.user_agent == "friendly-scanner";
        CHECK(r.message.complete);
        CHECK_FALSE(r.message.call_id.empty());
        CHECK(r.message.via_count == 1);
    }
    CHECK(invites == 9);
    CHECK(registers == 15);
    CHECK(scanner_ua == 24);
}

TEST_CASE("sip parser: real capture, kamailio proxy (lab)", "[sip_parser][data]") {
    SIPDETECT_REQUIRE_SHARED_FILE(path, "lab/live-proxy-kamailio.pcap");
    const auto payloads = udp_payloads(path);
    const auto t = parse_all(payloads);
    CHECK(t.ok == 1288);
    CHECK(t.malformed == 0);
    CHECK(t.not_sip == 0);
    CHECK(t.max_via == 3); // .20 relays to .40 with 3 Via headers
    for (const auto& r : t.results) {
        CHECK(r.message.complete);
        CHECK(r.message.top_via_host.substr(0, 8) == "127.0.0.");
        CHECK(r.message.from_uri.substr(0, 4) == "sip:");
        CHECK(r.message.truncated_fields == 0);
    }
}

TEST_CASE("sip parser: real capture, compact form (Suricata)", "[sip_parser][data]") {
    SIPDETECT_REQUIRE_SHARED_FILE(path, "suricata-verify/sip_compact_form.pcap");
    const auto payloads = udp_payloads(path);
    REQUIRE(payloads.size() == 1);
    const auto r = parse(payloads[0]);
    REQUIRE(r.status == sip_parse_status::ok);
    CHECK(r.message.method == sip_method::invite);
    CHECK(r.message.from_uri == "sip:816666@voip.brurjula.net");
    CHECK(r.message.to_uri == "sip:97239287044@voip.brujula.net");
    CHECK(r.message.top_via_host == "192.168.1.2");
    CHECK(r.message.top_via_port == 5060);
    CHECK(r.message.via_count == 1);
    CHECK(r.message.content_length == 272);
    CHECK(r.message.complete);
}

TEST_CASE("sip parser: real capture, invalid Content-Length (Zeek)", "[sip_parser][data]") {
    SIPDETECT_REQUIRE_SHARED_FILE(path, "zeek/invalid-content-length.pcap");
    const auto payloads = udp_payloads(path);
    const auto t = parse_all(payloads);
    CHECK(t.malformed == 2);
    for (const auto& r : t.results) CHECK(r.error == "invalid Content-Length");
}

TEST_CASE("sip parser: real capture, Wireshark sample calls (Zeek)", "[sip_parser][data]") {
    SIPDETECT_REQUIRE_SHARED_FILE(path, "zeek/wireshark.pcap");
    const auto payloads = udp_payloads(path);
    const auto t = parse_all(payloads);
    CHECK(t.ok == 81);
    CHECK(t.malformed == 0);
}
