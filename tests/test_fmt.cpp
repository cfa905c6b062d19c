// <sipdetect/fmt.hpp>: exact text forms, and hostile strings that stay one safe line.
#include "catch.hpp"

#include <sipdetect/fmt.hpp>

#include <cstdint>
#include <random>
#include <string>
#include <string_view>
#include <vector>

using namespace sipdetect;
using namespace std::string_literals;

namespace {

record_time at_micros(std::int64_t us) { return record_time_from_micros(us); }

// 2016-08-16T08:27:28.605282Z
constexpr std::int64_t t_detect = 1471336048605282;
// 2016-08-16T08:27:20.000000Z
constexpr std::int64_t t_first = 1471336040000000;

scan_event sample_scan() {
    scan_event e;
    e.phase = scan_phase::start;
    e.id = 1;
    e.source = ip_address::parse("147.32.77.113");
    e.submethod = scan_submethod::invite;
    e.kind = scan_kind::horizontal;
    e.hosts = 3;
    e.users = 1;
    e.targets = 9;
    e.requests = 9;
    e.successful_targets = 1;
    e.failed_targets = 1;
    e.first_seen = at_micros(t_first);
    e.last_seen = at_micros(t_detect);
    e.tool = "sipvicious";
    e.user_agents = {"friendly-scanner"};
    e.sample = {{ip_address::parse("147.32.77.1"), 5060, "100", false, true, 404},
                {ip_address::parse("2001:db8::7"), 5061, "alice", true, false, 200},
                {ip_address::parse("147.32.77.2"), 5060, "101", false, false, 0}};
    return e;
}

proxy_event sample_proxy() {
    proxy_event e;
    e.id = 1;
    e.source = ip_address::parse("127.0.0.10");
    e.uris = 10;
    e.uri_sample = {"sip:alice@example.net", "sip:bob@example.net"};
    e.first_seen = at_micros(t_first);
    e.detected_at = at_micros(t_detect);
    e.last_seen = at_micros(t_detect + 1);
    e.peers = {ip_address::parse("127.0.0.20"), ip_address::parse("2001:db8::1")};
    e.min_via = 1;
    e.max_via = 2;
    e.user_agents = {"Asterisk PBX 18"};
    e.requests = 40;
    e.successes = 30;
    e.answers_judged = true;
    return e;
}

// The inverse of the escaping: turns a quoted text form back into bytes.
std::string unescape_quoted(std::string_view q) {
    REQUIRE(q.size() >= 2);
    REQUIRE(q.front() == '"');
    REQUIRE(q.back() == '"');
    q = q.substr(1, q.size() - 2);
    const auto hex = [](char c) -> unsigned {
        if (c >= '0' && c <= '9') return static_cast<unsigned>(c - '0');
        if (c >= 'a' && c <= 'f') return static_cast<unsigned>(c - 'a' + 10);
        FAIL("bad hex digit " << c);
        return 0;
    };
    std::string out;
    for (std::size_t i = 0; i < q.size(); ++i) {
        if (q[i] == '"') FAIL("unescaped quote inside a quoted string");
        if (q[i] != '\\') {
            out += q[i];
            continue;
        }
        REQUIRE(i + 1 < q.size());
        const char k = q[++i];
        if (k == '\\' || k == '"') out += k;
        else if (k == 'n') out += '\n';
        else if (k == 'r') out += '\r';
        else if (k == 't') out += '\t';
        else if (k == 'x') {
            REQUIRE(i + 2 < q.size());
            out += static_cast<char>(hex(q[i + 1]) << 4 | hex(q[i + 2]));
            i += 2;
        } else if (k == 'u') {
            REQUIRE(i + 4 < q.size());
            const unsigned cp = hex(q[i + 1]) << 12 | hex(q[i + 2]) << 8 | hex(q[i + 3]) << 4 | hex(q[i + 4]);
            i += 4;
            if (cp < 0x800) {
                out += static_cast<char>(0xc0 | cp >> 6);
                out += static_cast<char>(0x80 | (cp & 0x3f));
            } else {
                out += static_cast<char>(0xe0 | cp >> 12);
                out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
                out += static_cast<char>(0x80 | (cp & 0x3f));
            }
        } else {
            FAIL("unknown escape \\" << k);
        }
    }
    return out;
}

// The text form of one user agent, as it appears in a scan event line.
std::string quoted_user_agent(const std::string& ua) {
    scan_event e;
    e.user_agents = {ua};
    const std::string line = fmt::format("{}", e);
    const std::string_view key = " user_agents=[";
    const auto start = line.find(key);
    REQUIRE(start != std::string::npos);
    const auto end = line.rfind("] sample=");
    REQUIRE(end != std::string::npos);
    return line.substr(start + key.size(), end - start - key.size());
}

// A line that no terminal or log viewer will break, reorder or recolour:
// printable ASCII and valid UTF-8 without C1 controls, separators or bidi
// marks. Returns the offset of the first offending byte, or npos.
std::size_t first_unsafe_byte(std::string_view line) {
    for (std::size_t i = 0; i < line.size();) {
        const auto c = static_cast<unsigned char>(line[i]);
        if (c < 0x20 || c == 0x7f) return i;
        if (c < 0x80) {
            ++i;
            continue;
        }
        const std::size_t n = detail::utf8_sequence(line, i);
        if (n == 0 || detail::fmt_unsafe_code_point(detail::fmt_decode_utf8(line.data() + i, n))) return i;
        i += n;
    }
    return std::string_view::npos;
}

void check_safe_line(std::string_view line) {
    const std::size_t at = first_unsafe_byte(line);
    INFO("unsafe byte at offset " << at << " of the line");
    CHECK(at == std::string_view::npos);
}

} // namespace

TEST_CASE("fmt: a scan event is one line with every field") {
    CHECK(fmt::format("{}", sample_scan()) ==
          "2016-08-16T08:27:28.605282Z sipscan start #1 147.32.77.113 invite horizontal hosts=3 users=1 targets=9 "
          "requests=9 tool=sipvicious successful_targets=1 failed_targets=1 counts_saturated=false "
          "first_seen=2016-08-16T08:27:20.000000Z user_agents=[\"friendly-scanner\"] "
          "sample=[147.32.77.1:5060 \"100\" 404, [2001:db8::7]:5061 \"alice\" 200, 147.32.77.2:5060 \"101\" -]");
}

TEST_CASE("fmt: an end event without tool, agents or sample") {
    scan_event e = sample_scan();
    e.phase = scan_phase::end;
    e.id = 42;
    e.submethod = scan_submethod::register_;
    e.kind = scan_kind::mixed;
    e.counts_saturated = true;
    e.tool.clear();
    e.user_agents.clear();
    e.sample.clear();
    CHECK(fmt::format("{}", e) ==
          "2016-08-16T08:27:28.605282Z sipscan end #42 147.32.77.113 register mixed hosts=3 users=1 targets=9 "
          "requests=9 tool=- successful_targets=1 failed_targets=1 counts_saturated=true "
          "first_seen=2016-08-16T08:27:20.000000Z user_agents=[] sample=[]");
}

TEST_CASE("fmt: a proxy event is one line with every field") {
    CHECK(fmt::format("{}", sample_proxy()) ==
          "2016-08-16T08:27:28.605282Z sipproxy new_proxy #1 127.0.0.10 general uris=10 counts_saturated=false "
          "requests=40 successes=30 "
          "answers_judged=true min_via=1 max_via=2 first_seen=2016-08-16T08:27:20.000000Z "
          "last_seen=2016-08-16T08:27:28.605283Z peers=[127.0.0.20, 2001:db8::1] user_agents=[\"Asterisk PBX 18\"] "
          "uri_sample=[\"sip:alice@example.net\", \"sip:bob@example.net\"]");
    proxy_event empty;
    empty.source = ip_address::parse("2001:db8::5");
    CHECK(fmt::format("{}", empty) ==
          "1970-01-01T00:00:00.000000Z sipproxy new_proxy #0 2001:db8::5 general uris=0 counts_saturated=false "
          "requests=0 successes=0 "
          "answers_judged=false min_via=0 max_via=0 first_seen=1970-01-01T00:00:00.000000Z "
          "last_seen=1970-01-01T00:00:00.000000Z peers=[] user_agents=[] uri_sample=[]");
}

TEST_CASE("fmt: a learned proxy is one line led by the time it was learned") {
    known_proxy p;
    p.address = ip_address::parse("127.0.0.10");
    p.first_seen = record_time_from_micros(1471336040000000);
    p.last_seen = record_time_from_micros(1471336048605282);
    p.learned_at = record_time_from_micros(1471336048000001);
    CHECK(fmt::format("{}", p) ==
          "2016-08-16T08:27:28.000001Z sipproxy learned_proxy 127.0.0.10 first_seen=2016-08-16T08:27:20.000000Z "
          "last_seen=2016-08-16T08:27:28.605282Z learned_in_training=false");
    p.learned_in_training = true;
    CHECK(fmt::format("{}", p).ends_with(" learned_in_training=true"));
}

TEST_CASE("fmt: addresses, prefixes and prefix sets take the string spec") {
    CHECK(fmt::format("{}", ip_address::parse("147.32.77.113")) == "147.32.77.113");
    CHECK(fmt::format("{}", ip_address::parse("::ffff:10.0.0.1")) == "10.0.0.1");
    CHECK(fmt::format("{}", ip_address::parse("2001:0db8:0:0:0:0:0:1")) == "2001:db8::1");
    CHECK(fmt::format("[{:>16}]", ip_address::parse("147.32.77.113")) == "[   147.32.77.113]");
    CHECK(fmt::format("[{:<8}]", ip_address::parse("::1")) == "[::1     ]");
    CHECK(fmt::format("{}", ip_prefix::parse("10.0.0.0/8")) == "10.0.0.0/8");
    CHECK(fmt::format("{:^14}", ip_prefix::parse("2001:db8::/32")) == "2001:db8::/32 ");
    const auto set = prefix_set::parse("10.0.0.0/8, 2001:db8::/32 192.0.2.1");
    CHECK(fmt::format("{}", set) == "10.0.0.0/8,2001:db8::/32,192.0.2.1/32");
    CHECK(prefix_set::parse(fmt::format("{}", set)) == set);
    CHECK(fmt::format("{}", prefix_set{}).empty());
}

TEST_CASE("fmt: enumerations print their schema names") {
    CHECK(fmt::format("{} {} {}", scan_phase::update, scan_submethod::options, scan_kind::vertical) ==
          "update options vertical");
    CHECK(fmt::format("{}", sip_method::register_) == "REGISTER");
    CHECK(fmt::format("{}", proxy_filter_mode::exclude_internal) == "exclude_internal");
    CHECK(fmt::format("{:>8}", scan_phase::end) == "     end");
}

TEST_CASE("fmt: configs print every parameter and hide a custom hash seed") {
    scan_config s;
    s.register_scan = true;
    s.options_scan = false;
    s.invite_scan = true;
    s.threshold = 20;
    s.destination_filter = prefix_set::parse("10.0.0.0/8,2001:db8::/32");
    s.event_idle_timeout = std::chrono::hours(1);
    s.update_interval = std::chrono::milliseconds(1500);
    s.source_idle_timeout = std::chrono::microseconds(250);
    s.max_tracked = 1'000'000;
    s.max_distinct = 256;
    s.evidence_targets = 20;
    s.max_user_agents = 4;
    s.ignore_relayed = false;
    s.max_success_share = 0.5;
    s.max_lateness = std::chrono::minutes(30);
    s.max_clock_skew = std::chrono::hours(2);
    s.hash_seed = std::nullopt;
    CHECK(fmt::format("{}", s) ==
          "scan_config register_scan=true options_scan=false invite_scan=true threshold=20 "
          "destination_filter=10.0.0.0/8,2001:db8::/32 event_idle_timeout=3600s update_interval=1.5s "
          "source_idle_timeout=0.00025s max_tracked=1000000 max_distinct=256 evidence_targets=20 max_user_agents=4 "
          "ignore_relayed=false max_success_share=0.5 max_lateness=1800s max_clock_skew=7200s hash_seed=random");
    s.hash_seed = 0x0123456789abcdefu;
    const std::string secret = fmt::format("{}", s);
    CHECK(secret.find("hash_seed=custom") != std::string::npos);
    CHECK(secret.find("81985529216486895") == std::string::npos);
    CHECK(secret.find("123456789abcdef") == std::string::npos);

    proxy_config p;
    p.min_uris = 10;
    p.closed_season = days(7);
    p.time_to_death = days(0.5);
    p.filter = prefix_set{};
    p.filter_mode = proxy_filter_mode::exclude_devices;
    p.min_success_share = 0.2;
    p.answer_grace = std::chrono::seconds(32);
    p.candidate_idle_timeout = -std::chrono::milliseconds(2500);
    p.max_candidates = 1'000'000;
    p.max_proxies = 100'000;
    p.uri_samples = 8;
    p.peer_samples = 8;
    p.max_user_agents = 4;
    p.max_lateness = std::chrono::seconds(90);
    p.max_clock_skew = record_duration::zero();
    p.hash_seed = std::nullopt;
    CHECK(fmt::format("{}", p) ==
          "proxy_config min_uris=10 max_distinct=256 closed_season=604800s time_to_death=43200s filter=- filter_mode=exclude_devices "
          "min_success_share=0.2 answer_grace=32s candidate_idle_timeout=-2.5s max_candidates=1000000 "
          "max_proxies=100000 uri_samples=8 peer_samples=8 max_user_agents=4 max_lateness=90s max_clock_skew=0s "
          "hash_seed=random");
    p.hash_seed = 1;
    CHECK(fmt::format("{}", p).ends_with(" hash_seed=custom"));
    p.closed_season = record_duration::max();
    p.time_to_death = record_duration::min();
    CHECK(fmt::format("{}", p).find(" closed_season=9223372036854.775807s time_to_death=-9223372036854.775808s ") !=
          std::string::npos);
}

TEST_CASE("fmt: event types refuse a format spec") {
    CHECK_THROWS_AS(fmt::format(fmt::runtime("{:x}"), sample_scan()), fmt::format_error);
    CHECK_THROWS_AS(fmt::format(fmt::runtime("{:>80}"), sample_proxy()), fmt::format_error);
    CHECK_THROWS_AS(fmt::format(fmt::runtime("{:s}"), scan_config{}), fmt::format_error);
    CHECK_THROWS_AS(fmt::format(fmt::runtime("{:d}"), ip_address{}), fmt::format_error);
}

TEST_CASE("fmt: hostile strings are escaped, exactly") {
    struct hostile {
        std::string in, out;
    };
    const std::vector<hostile> cases{
        {"plain ascii 1.0", R"("plain ascii 1.0")"},
        {"a\"b\\c", R"("a\"b\\c")"},
        {"x\ny\rz\tw", R"("x\ny\rz\tw")"},
        {"nul\0byte"s, R"("nul\x00byte")"},
        {"\x1b[2J\x1b]0;pwned\x07", R"("\x1b[2J\x1b]0;pwned\x07")"},
        {"del\x7f", R"("del\x7f")"},
        {"\x01\x1f", R"("\x01\x1f")"},
        {"\xff\xfe", R"("\xff\xfe")"},
        {"overlong \xc0\xaf \xe0\x80\xaf", R"("overlong \xc0\xaf \xe0\x80\xaf")"},
        {"surrogate \xed\xa0\x80", R"("surrogate \xed\xa0\x80")"},
        {"too big \xf4\x90\x80\x80", R"("too big \xf4\x90\x80\x80")"},
        {"cut \xe2\x82", R"("cut \xe2\x82")"},
        {"cut at end \xf0\x9f\x98", R"("cut at end \xf0\x9f\x98")"},
        {"lone continuation \x80 \xbf", R"("lone continuation \x80 \xbf")"},
        {"valid \xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xe4\xb8\xad", "\"valid \xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xe4\xb8\xad\""},
        {"NEL\xc2\x85", R"("NEL\u0085")"},
        {"C1 \xc2\x80 \xc2\x9f, not \xc2\xa0", "\"C1 \\u0080 \\u009f, not \xc2\xa0\""},
        {"line\xe2\x80\xa8para\xe2\x80\xa9", R"("line\u2028para\u2029")"},
        {"bidi \xe2\x80\xae""evil\xe2\x81\xa6", R"("bidi \u202eevil\u2066")"},
        {"zero\xe2\x80\x8bwidth \xe2\x80\x8f \xef\xbb\xbf \xd8\x9c", R"("zero\u200bwidth \u200f \ufeff \u061c")"},
    };
    for (const auto& c : cases) {
        INFO("input bytes: " << c.out);
        const std::string q = quoted_user_agent(c.in);
        CHECK(q == c.out);
        CHECK(unescape_quoted(q) == c.in);
    }
}

TEST_CASE("fmt: users, URIs and the tool are escaped too") {
    scan_event e = sample_scan();
    e.sample = {{ip_address::parse("10.0.0.1"), 5060, "a\"\n\xff", false, false, 0}};
    e.tool = "two words\n";
    const std::string line = fmt::format("{}", e);
    CHECK(line.find(R"( tool=two\x20words\n )") != std::string::npos);
    CHECK(line.ends_with(R"(sample=[10.0.0.1:5060 "a\"\n\xff" -])"));
    check_safe_line(line);

    proxy_event p = sample_proxy();
    p.uri_sample = {"sip:\"x\"@\r\nInjected: yes", "sip:\xe2\x80\xae@x"};
    p.user_agents = {std::string("\0", 1)};
    const std::string pline = fmt::format("{}", p);
    CHECK(pline.ends_with(R"(user_agents=["\x00"] uri_sample=["sip:\"x\"@\r\nInjected: yes", "sip:\u202e@x"])"));
    check_safe_line(pline);
}

TEST_CASE("fmt: any bytes, 64 KB included, make one safe line that escapes losslessly") {
    std::mt19937 rng(20160816);
    std::uniform_int_distribution<int> byte(0, 255);
    std::vector<std::string> inputs;
    for (int n = 0; n < 2000; ++n) {
        std::string s(static_cast<std::size_t>(n % 40), '\0');
        for (char& ch : s) ch = static_cast<char>(byte(rng));
        inputs.push_back(std::move(s));
    }
    std::string big;
    while (big.size() < 64 * 1024) big += "\"\\\n\r\x00\x1b\x7f\xff\xc3\xa9\xe2\x80\xa8 \xf0\x9f\x98"s;
    big.resize(64 * 1024);
    inputs.push_back(big);
    std::string big_random(64 * 1024, '\0');
    for (char& ch : big_random) ch = static_cast<char>(byte(rng));
    inputs.push_back(big_random);

    for (const auto& in : inputs) {
        scan_event e = sample_scan();
        e.user_agents = {in};
        const std::string line = fmt::format("{}", e);
        check_safe_line(line);
        CHECK(unescape_quoted(quoted_user_agent(in)) == in);
    }
}

TEST_CASE("fmt: a campaign event is one line with every field") {
    campaign_event e;
    e.phase = scan_phase::update;
    e.id = 3;
    e.submethod = scan_submethod::options;
    e.kind = scan_kind::horizontal;
    e.sources = 30;
    e.source_sample = {ip_address::parse("127.0.1.1"), ip_address::parse("::1")};
    e.hosts = 60;
    e.users = 1;
    e.targets = 60;
    e.requests = 75;
    e.first_seen = record_time_from_micros(1471336040000000);
    e.last_seen = record_time_from_micros(1471336048605282);
    e.tool = "sipvicious";
    e.fingerprint = "options; User-Agent \"friendly-scanner\"; From user \"100\"; From host mirrors the target";
    CHECK(fmt::format("{}", e) ==
          "2016-08-16T08:27:28.605282Z sipcampaign update #3 options horizontal sources=30 hosts=60 users=1 targets=60 "
          "requests=75 tool=sipvicious first_seen=2016-08-16T08:27:20.000000Z fingerprint=\"options; User-Agent "
          "\\\"friendly-scanner\\\"; From user \\\"100\\\"; From host mirrors the target\" "
          "source_sample=[127.0.1.1, ::1]");
    e.tool.clear();
    e.source_sample.clear();
    CHECK(fmt::format("{}", e).find("tool=- ") != std::string::npos);
    CHECK(fmt::format("{}", e).ends_with("source_sample=[]"));
}
