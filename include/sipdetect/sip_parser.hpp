// sipdetect: a small, allocation-free SIP message parser.
//
// parse_sip_message() reads one SIP message (RFC 3261) from the start of a UDP
// payload or a TCP segment and extracts what the detectors need: method or
// status, Request-URI, bare From/To URIs, Call-ID, User-Agent, CSeq, the
// number of Via values and the host/port of the top Via, and the length of the
// message so a TCP segment holding several messages can be walked:
//
//   std::string_view rest = segment;
//   while (!rest.empty()) {
//       const auto r = sipdetect::parse_sip_message(rest);
//       if (r.status != sipdetect::sip_parse_status::ok) break;
//       use(r.message);
//       rest.remove_prefix(r.message.message_length);
//   }
//
// Guarantees: standard library only, no allocation, no exceptions, never reads
// outside `payload`, work linear in the payload size. Every string_view in the
// result points into `payload` (so it lives as long as the payload does) and is
// at most limits.max_field_length bytes long; a cut field sets its bit in
// sip_message_info::truncated_fields.
//
// Leniency choices (the input is attacker-controlled traffic, so the parser
// reports what it can rather than insisting on a perfect message):
//  - A message lacking From, To, Call-ID or CSeq, or having no header at all,
//    still parses `ok`; the missing fields are simply empty / zero. Whether
//    that is suspicious is for the detectors to decide, not the parser.
//  - A From/To/Via/CSeq value that cannot be understood leaves its field empty
//    (or 0) without failing the message. Only a bad start line, an invalid
//    header line, too many header lines and a bad or conflicting
//    Content-Length make the message `malformed`.
//  - A header section that is not closed by an empty line (a datagram cut by
//    the capture snap length, a TCP segment ending mid-message) is accepted;
//    sip_message_info::complete tells whether the message was whole. A final
//    unterminated line without a colon (a header name cut in half) is ignored.
//  - Line ends are CRLF or a bare LF. Leading CRLFs (RFC 5626 keep-alives)
//    before the start line are skipped and counted in message_length.
//  - Folded headers (continuation lines starting with SP or HT) are joined
//    logically: the value view then spans the line break, i.e. it contains the
//    raw CRLF and indentation bytes. Via values on continuation lines count.
//  - On `malformed`, the fields parsed before the error are left in the result
//    (best effort, e.g. a capped method token of a PROTOS test case).
#pragma once

#include <sipdetect/record.hpp>
#include <sipdetect/version.hpp>

#include <cstddef>
#include <cstdint>
#include <limits>
#include <string_view>
#include <utility>

SIPDETECT_NAMESPACE_BEGIN

struct sip_parse_limits {
    std::size_t max_field_length = 256; // every extracted string_view is cut to this many bytes
    std::size_t max_header_lines = 256; // more header lines than this -> malformed
    std::size_t max_start_line = 2048;  // a longer start line (without its line end) -> malformed
};

enum class sip_parse_status : std::uint8_t { ok, not_sip, malformed };

// The fields that can be cut to max_field_length; each is one bit of
// sip_message_info::truncated_fields.
enum class sip_field : std::uint32_t {
    request_uri = 1,
    from = 2,
    to = 4,
    call_id = 8,
    user_agent = 16,
    cseq = 32,
    via_host = 64,
    method_token = 128,
};
constexpr std::uint32_t bit(sip_field f) noexcept { return static_cast<std::uint32_t>(f); }
// A mask of several fields: sip_field::from | sip_field::to.
constexpr std::uint32_t operator|(sip_field a, sip_field b) noexcept { return bit(a) | bit(b); }
constexpr std::uint32_t operator|(std::uint32_t mask, sip_field f) noexcept { return mask | bit(f); }

struct sip_message_info {
    bool is_request = false;
    sip_method method = sip_method::unknown; // request method; unknown for an unrecognised (or cut) token
    std::string_view method_token;           // the raw request method token (capped)
    std::uint16_t status = 0;                // response status code 100..699, 0 for requests
    std::string_view request_uri;            // as on the request line
    std::string_view from_uri, to_uri;       // bare URI: display name, <>, and ;tag / header params stripped
    std::string_view call_id, user_agent;
    std::string_view cseq;                   // the raw CSeq value, e.g. "1 REGISTER" (capped)
    std::uint32_t cseq_number = 0;           // 0 when absent or not a number
    sip_method cseq_method = sip_method::unknown;
    unsigned via_count = 0;                  // Via values over all Via/v headers ("Via: a, b" is two)
    std::string_view top_via_host;           // host of the first Via value (IPv6 without brackets)
    std::uint16_t top_via_port = 0;          // 0 if absent
    std::size_t header_length = 0;           // leading CRLFs + start line + headers + the empty line
    bool has_content_length = false;
    std::uint64_t content_length = 0;        // as declared by Content-Length (l:), 64-bit whatever size_t is
    std::size_t message_length = 0;          // bytes of this message incl. body per Content-Length, capped at input size
    bool complete = false;                   // the empty line was seen and the whole declared body is present
    std::uint32_t truncated_fields = 0;      // bit(sip_field) of each field that was cut

    constexpr bool truncated(sip_field f) const noexcept { return (truncated_fields & bit(f)) != 0; }
};

struct sip_parse_result {
    sip_parse_status status = sip_parse_status::not_sip;
    sip_message_info message;
    std::string_view error; // static string explaining not_sip/malformed, empty when ok
};

// ---------------------------------------------------------------------------

namespace detail::sip_parse {

constexpr bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }
constexpr bool is_alnum(char c) noexcept {
    return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
// RFC 3261 token: alphanum / "-" / "." / "!" / "%" / "*" / "_" / "+" / "`" / "'" / "~"
constexpr bool is_token_char(char c) noexcept {
    switch (c) {
    case '-': case '.': case '!': case '%': case '*': case '_': case '+': case '`': case '\'': case '~':
        return true;
    default:
        return is_alnum(c);
    }
}
constexpr bool is_blank(char c) noexcept { return c == ' ' || c == '\t'; }
// Linear white space inside a (possibly folded) header value.
constexpr bool is_lws(char c) noexcept { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }
constexpr char lower(char c) noexcept { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

// Case-insensitive comparison with a lower-case literal.
constexpr bool iequals(std::string_view s, std::string_view lower_literal) noexcept {
    if (s.size() != lower_literal.size()) return false;
    for (std::size_t i = 0; i < s.size(); ++i)
        if (lower(s[i]) != lower_literal[i]) return false;
    return true;
}
constexpr bool istarts_with(std::string_view s, std::string_view lower_literal) noexcept {
    return s.size() >= lower_literal.size() && iequals(s.substr(0, lower_literal.size()), lower_literal);
}

constexpr std::string_view trim_lws(std::string_view s) noexcept {
    std::size_t b = 0, e = s.size();
    while (b < e && is_lws(s[b])) ++b;
    while (e > b && is_lws(s[e - 1])) --e;
    return s.substr(b, e - b);
}

} // namespace detail::sip_parse

// The bare URI of a From/To (or Contact-like) header value: the display
// name, the <> and the header parameters (;tag=...) stripped. The one
// extractor of party identity: the capture path (parse_sip_message) and
// readers of text logs (Zeek's request_from) both use it, so one header
// value gives one identity whatever the input.
//   "\"Bob\" <sip:bob@example.com>;tag=1"  -> "sip:bob@example.com"
//   "sip:bob@example.com;tag=1"            -> "sip:bob@example.com"
//   "\"Bob\" <sip:bob@example.com"         -> "sip:bob@example.com" (no '>': the
//                                             URI runs to white space or the end)
// Empty when no URI can be read: nothing but white space, an unclosed quoted
// display name, or a quoted display name not followed by '<'.
constexpr std::string_view party_uri(std::string_view v) noexcept {
    using detail::sip_parse::is_lws;
    const std::size_t n = v.size();
    std::size_t i = 0;
    while (i < n && is_lws(v[i])) ++i;
    if (i == n) return {};
    bool name_addr = false;
    if (v[i] == '"') {
        // quoted display name: may hold '<', ',' and escaped characters
        ++i;
        bool closed = false;
        while (i < n) {
            if (v[i] == '\\') {
                i += 2;
                continue;
            }
            if (v[i] == '"') {
                closed = true;
                ++i;
                break;
            }
            ++i;
        }
        if (!closed || i > n) return {};
        while (i < n && is_lws(v[i])) ++i;
        if (i == n || v[i] != '<') return {};
        name_addr = true;
    } else if (const std::size_t lt = v.find('<', i); lt != std::string_view::npos) {
        // an unquoted display name (RFC: *(token LWS)); anything before the
        // first '<' is accepted, real phones send e.g. `\"arik\" <sip:...>`
        name_addr = true;
        i = lt;
    }
    if (name_addr) {
        const std::size_t start = i + 1; // after '<'
        if (const std::size_t gt = v.find('>', start); gt != std::string_view::npos)
            return detail::sip_parse::trim_lws(v.substr(start, gt - start));
        // Cut before its '>' (a snapped datagram, a sloppy sender): a URI
        // holds no white space, so it runs to the first white space or the end.
        std::size_t b = start;
        while (b < n && is_lws(v[b])) ++b;
        std::size_t e = b;
        while (e < n && !is_lws(v[e])) ++e;
        return v.substr(b, e - b);
    }
    // addr-spec: parameters after it are header parameters (;tag=...)
    std::size_t e = i;
    while (e < n && v[e] != ';' && !is_lws(v[e])) ++e;
    return v.substr(i, e - i);
}

namespace detail::sip_parse {

// Calls f(element) for every non-empty element of a comma-separated header
// value; commas inside quoted strings or [...] do not split. Returns the count.
template <class F>
constexpr unsigned for_each_list_element(std::string_view v, F&& f) noexcept {
    unsigned count = 0;
    std::size_t start = 0;
    bool in_quote = false, in_bracket = false;
    const auto emit = [&](std::size_t end) {
        const std::string_view element = trim_lws(v.substr(start, end - start));
        if (!element.empty()) {
            ++count;
            f(element);
        }
    };
    for (std::size_t i = 0; i < v.size(); ++i) {
        const char c = v[i];
        if (in_quote) {
            if (c == '\\')
                ++i; // skip the escaped character (a loop bound check follows)
            else if (c == '"')
                in_quote = false;
        } else if (in_bracket) {
            if (c == ']') in_bracket = false;
        } else if (c == '"') {
            in_quote = true;
        } else if (c == '[') {
            in_bracket = true;
        } else if (c == ',') {
            emit(i);
            start = i + 1;
        }
    }
    emit(v.size());
    return count;
}

struct host_port {
    std::string_view host;
    std::uint16_t port = 0;
};

// sent-protocol LWS sent-by: "SIP/2.0/UDP [2001:db8::1]:5060;branch=..." -> {"2001:db8::1", 5060}.
constexpr host_port via_sent_by(std::string_view v) noexcept {
    const std::size_t n = v.size();
    std::size_t i = 0;
    const auto skip_lws = [&] {
        while (i < n && is_lws(v[i])) ++i;
    };
    const auto token = [&] {
        const std::size_t b = i;
        while (i < n && is_token_char(v[i])) ++i;
        return i > b;
    };
    // protocol-name SLASH protocol-version SLASH transport, LWS allowed around the slashes
    skip_lws();
    for (int part = 0; part < 3; ++part) {
        if (!token()) return {};
        if (part < 2) {
            skip_lws();
            if (i == n || v[i] != '/') return {};
            ++i;
            skip_lws();
        }
    }
    if (i == n || !is_lws(v[i])) return {};
    skip_lws();
    host_port hp;
    std::size_t after_host = i;
    if (i < n && v[i] == '[') {
        const std::size_t close = v.find(']', i + 1);
        if (close == std::string_view::npos) return {};
        hp.host = v.substr(i + 1, close - i - 1);
        after_host = close + 1;
    } else {
        std::size_t e = i;
        unsigned colons = 0;
        while (e < n && v[e] != ';' && v[e] != ',' && v[e] != '(' && !is_lws(v[e])) {
            if (v[e] == ':') ++colons;
            ++e;
        }
        if (colons >= 2) return {v.substr(i, e - i), 0}; // an IPv6 address someone forgot to bracket
        std::size_t h = i;
        while (h < e && v[h] != ':') ++h;
        hp.host = v.substr(i, h - i);
        after_host = h;
    }
    i = after_host;
    skip_lws();
    if (i < n && v[i] == ':') {
        ++i;
        skip_lws();
        std::uint32_t port = 0;
        std::size_t digits = 0;
        while (i < n && is_digit(v[i]) && digits < 6) {
            port = port * 10 + static_cast<std::uint32_t>(v[i] - '0');
            ++i;
            ++digits;
        }
        const bool ends = i == n || v[i] == ';' || v[i] == ',' || v[i] == '(' || is_lws(v[i]);
        if (digits > 0 && digits <= 5 && port <= 65535 && ends) hp.port = static_cast<std::uint16_t>(port);
    }
    return hp;
}

// CSeq: 1*DIGIT LWS Method.
constexpr void parse_cseq(std::string_view v, std::uint32_t& number, sip_method& method) noexcept {
    v = trim_lws(v);
    std::size_t i = 0;
    std::uint64_t value = 0;
    while (i < v.size() && is_digit(v[i]) && value <= std::numeric_limits<std::uint32_t>::max()) {
        value = value * 10 + static_cast<std::uint64_t>(v[i] - '0');
        ++i;
    }
    const bool number_ok = i > 0 && value <= std::numeric_limits<std::uint32_t>::max() &&
                           (i == v.size() || is_lws(v[i]));
    if (number_ok) number = static_cast<std::uint32_t>(value);
    while (i < v.size() && !is_lws(v[i])) ++i; // skip a bad number
    while (i < v.size() && is_lws(v[i])) ++i;
    std::size_t e = i;
    while (e < v.size() && is_token_char(v[e])) ++e;
    method = parse_sip_method(v.substr(i, e - i));
}

// Content-Length: 1*DIGIT; false when empty, not numeric or overflowing.
constexpr bool parse_length(std::string_view v, std::uint64_t& out) noexcept {
    v = trim_lws(v);
    if (v.empty()) return false;
    std::uint64_t value = 0;
    for (const char c : v) {
        if (!is_digit(c)) return false;
        const auto d = static_cast<std::uint64_t>(c - '0');
        if (value > (std::numeric_limits<std::uint64_t>::max() - d) / 10) return false;
        value = value * 10 + d;
    }
    out = value;
    return true;
}

enum class header_kind : std::uint8_t { other, from, to, via, call_id, content_length, cseq, user_agent };

constexpr header_kind classify_header(std::string_view name) noexcept {
    if (name.size() == 1) {
        switch (lower(name[0])) {
        case 'f': return header_kind::from;
        case 't': return header_kind::to;
        case 'v': return header_kind::via;
        case 'i': return header_kind::call_id;
        case 'l': return header_kind::content_length;
        default: return header_kind::other; // m (Contact) and the other compact forms are not needed
        }
    }
    if (iequals(name, "from")) return header_kind::from;
    if (iequals(name, "to")) return header_kind::to;
    if (iequals(name, "via")) return header_kind::via;
    if (iequals(name, "call-id")) return header_kind::call_id;
    if (iequals(name, "content-length")) return header_kind::content_length;
    if (iequals(name, "cseq")) return header_kind::cseq;
    if (iequals(name, "user-agent")) return header_kind::user_agent;
    return header_kind::other;
}

class parser {
public:
    constexpr parser(std::string_view payload, const sip_parse_limits& limits) noexcept
        : p_(payload), limits_(limits) {}

    constexpr sip_parse_result run() noexcept {
        const std::size_t n = p_.size();
        std::size_t pos = 0;
        while (pos < n && (p_[pos] == '\r' || p_[pos] == '\n')) ++pos;
        if (pos == n) {
            r_.message.message_length = n;
            return fail(sip_parse_status::not_sip, n == 0 ? "empty payload" : "keep-alive CRLFs only");
        }

        // start line
        const std::size_t nl = p_.find('\n', pos);
        const std::size_t line_end = nl == std::string_view::npos ? n : nl;
        std::size_t content_end = line_end;
        if (content_end > pos && p_[content_end - 1] == '\r') --content_end;
        const std::string_view line = p_.substr(pos, content_end - pos);
        if (const auto bad = start_line(line); bad.first != sip_parse_status::ok) return fail(bad.first, bad.second);
        if (line.size() > limits_.max_start_line) return fail(sip_parse_status::malformed, "start line too long");
        if (nl == std::string_view::npos) {
            // only a start line, cut before its line end
            r_.message.header_length = n;
            r_.message.message_length = n;
            return done();
        }

        // header lines
        pos = nl + 1;
        std::size_t lines = 0;
        bool blank_seen = false;
        std::size_t header_end = n;
        pending_ = {};
        while (pos < n) {
            const std::size_t lf = p_.find('\n', pos);
            const bool terminated = lf != std::string_view::npos;
            const std::size_t end = terminated ? lf : n;
            const std::size_t next = terminated ? lf + 1 : n;
            std::size_t cend = end;
            if (cend > pos && p_[cend - 1] == '\r') --cend;
            if (cend == pos) {
                if (terminated) {
                    blank_seen = true;
                    header_end = next;
                }
                break; // else: a lone CR cut before its LF
            }
            if (++lines > limits_.max_header_lines) return fail(sip_parse_status::malformed, "too many header lines");
            if (is_blank(p_[pos])) {
                if (!pending_.active) return fail(sip_parse_status::malformed, "continuation line without a header");
                pending_.value_end = cend; // folded: the value spans the line break
                pos = next;
                continue;
            }
            if (const char* err = flush()) return fail(sip_parse_status::malformed, err);
            std::size_t q = pos;
            while (q < cend && is_token_char(p_[q])) ++q;
            const std::size_t name_end = q;
            while (q < cend && is_blank(p_[q])) ++q;
            if (name_end == pos || q == cend || p_[q] != ':') {
                if (!terminated) break; // a header name cut by the end of the payload
                return fail(sip_parse_status::malformed, "invalid header line");
            }
            pending_ = {true, p_.substr(pos, name_end - pos), q + 1, cend};
            pos = next;
        }
        if (const char* err = flush()) return fail(sip_parse_status::malformed, err);

        auto& m = r_.message;
        m.header_length = header_end;
        if (!blank_seen) {
            m.message_length = n;
        } else if (m.has_content_length) {
            const std::size_t room = n - header_end;
            m.complete = m.content_length <= room;
            m.message_length = m.complete ? header_end + static_cast<std::size_t>(m.content_length) : n;
        } else {
            m.complete = true; // no Content-Length: the body is the rest of the payload
            m.message_length = n;
        }
        return done();
    }

private:
    struct pending_header {
        bool active = false;
        std::string_view name;
        std::size_t value_begin = 0, value_end = 0;
    };

    std::string_view p_;
    const sip_parse_limits& limits_;
    sip_parse_result r_{};
    pending_header pending_{};
    bool have_from_ = false, have_to_ = false, have_call_id_ = false, have_cseq_ = false, have_ua_ = false;
    bool have_top_via_ = false;

    constexpr std::string_view cap(std::string_view s, sip_field field) noexcept {
        if (s.size() > limits_.max_field_length) {
            r_.message.truncated_fields |= bit(field);
            return s.substr(0, limits_.max_field_length);
        }
        return s;
    }

    constexpr sip_parse_result fail(sip_parse_status status, std::string_view error) noexcept {
        r_.status = status;
        r_.error = error;
        if (status == sip_parse_status::malformed) {
            // the boundary of a broken message is unknown: consume the rest
            r_.message.message_length = p_.size();
            r_.message.complete = false;
        }
        return r_;
    }
    constexpr sip_parse_result done() noexcept {
        r_.status = sip_parse_status::ok;
        r_.error = {};
        return r_;
    }

    // Request-Line or Status-Line, without its line end.
    constexpr std::pair<sip_parse_status, std::string_view> start_line(std::string_view line) noexcept {
        auto& m = r_.message;
        if (istarts_with(line, "sip/")) {
            if (!istarts_with(line, "sip/2.0") || (line.size() > 7 && line[7] != ' '))
                return {sip_parse_status::malformed, "unsupported SIP version"};
            // SIP/2.0 SP 3DIGIT [SP Reason-Phrase]; a missing reason phrase is tolerated
            if (line.size() < 11 || !is_digit(line[8]) || !is_digit(line[9]) || !is_digit(line[10]))
                return {sip_parse_status::malformed, "invalid status code"};
            if (line.size() > 11 && !is_blank(line[11])) return {sip_parse_status::malformed, "invalid status code"};
            const auto code = static_cast<std::uint16_t>((line[8] - '0') * 100 + (line[9] - '0') * 10 + (line[10] - '0'));
            if (code < 100 || code > 699) return {sip_parse_status::malformed, "status code out of range"};
            m.is_request = false;
            m.status = code;
            return {sip_parse_status::ok, {}};
        }
        // Method SP Request-URI SP SIP-Version. The version decides whether
        // this is SIP at all (HTTP, RTSP, SSDP share the shape); after that a
        // bad method or URI makes a malformed SIP request, not a non-SIP one.
        std::string_view rest = line;
        while (!rest.empty() && is_blank(rest.back())) rest.remove_suffix(1);
        const std::size_t last_ws = rest.find_last_of(" \t");
        if (last_ws == std::string_view::npos) return {sip_parse_status::not_sip, "not a SIP start line"};
        const std::string_view version = rest.substr(last_ws + 1);
        if (!iequals(version, "sip/2.0")) {
            if (istarts_with(version, "sip/")) return {sip_parse_status::malformed, "unsupported SIP version"};
            return {sip_parse_status::not_sip, "not a SIP start line"};
        }
        m.is_request = true;
        std::size_t i = 0;
        while (i < last_ws && is_token_char(rest[i])) ++i;
        if (i == 0 || rest[i] != ' ') {
            // keep the raw bytes before the first blank for the caller's curiosity
            const std::size_t sp = rest.find_first_of(" \t");
            m.method_token = cap(rest.substr(0, sp), sip_field::method_token);
            return {sip_parse_status::malformed, "invalid method"};
        }
        const std::string_view token = rest.substr(0, i);
        m.method_token = cap(token, sip_field::method_token);
        // a token cut to max_field_length is no known method
        m.method = token.size() > limits_.max_field_length ? sip_method::unknown : parse_sip_method(token);
        const std::string_view uri = i < last_ws ? rest.substr(i + 1, last_ws - i - 1) : std::string_view{};
        m.request_uri = cap(uri, sip_field::request_uri);
        if (uri.empty()) return {sip_parse_status::malformed, "empty Request-URI"};
        if (uri.find_first_of(" \t") != std::string_view::npos)
            return {sip_parse_status::malformed, "white space in Request-URI"};
        return {sip_parse_status::ok, {}};
    }

    // Interprets the header collected so far; returns an error or nullptr.
    constexpr const char* flush() noexcept {
        if (!pending_.active) return nullptr;
        pending_.active = false;
        auto& m = r_.message;
        const std::string_view value = p_.substr(pending_.value_begin, pending_.value_end - pending_.value_begin);
        switch (classify_header(pending_.name)) {
        case header_kind::from:
            if (!have_from_) {
                have_from_ = true;
                m.from_uri = cap(party_uri(value), sip_field::from);
            }
            break;
        case header_kind::to:
            if (!have_to_) {
                have_to_ = true;
                m.to_uri = cap(party_uri(value), sip_field::to);
            }
            break;
        case header_kind::call_id:
            if (!have_call_id_) {
                have_call_id_ = true;
                m.call_id = cap(trim_lws(value), sip_field::call_id);
            }
            break;
        case header_kind::user_agent:
            if (!have_ua_) {
                have_ua_ = true;
                m.user_agent = cap(trim_lws(value), sip_field::user_agent);
            }
            break;
        case header_kind::cseq:
            if (!have_cseq_) {
                have_cseq_ = true;
                const std::string_view v = trim_lws(value);
                m.cseq = cap(v, sip_field::cseq);
                parse_cseq(v, m.cseq_number, m.cseq_method);
            }
            break;
        case header_kind::via:
            m.via_count += for_each_list_element(value, [&](std::string_view element) {
                if (have_top_via_) return;
                have_top_via_ = true;
                const host_port hp = via_sent_by(element);
                m.top_via_host = cap(hp.host, sip_field::via_host);
                m.top_via_port = hp.port;
            });
            break;
        case header_kind::content_length: {
            std::uint64_t length = 0;
            if (!parse_length(value, length)) return "invalid Content-Length";
            if (m.has_content_length && m.content_length != length) return "conflicting Content-Length headers";
            m.has_content_length = true;
            m.content_length = length;
            break;
        }
        case header_kind::other:
            break;
        }
        return nullptr;
    }
};

} // namespace detail::sip_parse

// Parses the SIP message at the start of `payload` (see the top of this file).
inline sip_parse_result parse_sip_message(std::string_view payload, const sip_parse_limits& limits = {}) noexcept {
    return detail::sip_parse::parser(payload, limits).run();
}

SIPDETECT_NAMESPACE_END
