// sipdetect::to_json: every event is one valid JSON object whose fields read
// back exactly (checked with an independent parser, nlohmann::json), however
// hostile the strings that came off the network.
#include "catch.hpp"

#include <sipdetect/json.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <random>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

using namespace sipdetect;
using namespace std::string_literals;
using nlohmann::json;

namespace {

// The schema as written in json.hpp, in order.
const std::vector<std::string> scan_keys{
    "detector", "event", "id", "source", "submethod", "kind", "hosts", "users", "targets", "counts_saturated",
    "requests", "successful_targets", "failed_targets", "first_seen", "last_seen", "tool", "user_agents", "sample"};
const std::vector<std::string> scan_target_keys{"host", "port", "user", "answer", "status"};
const std::vector<std::string> proxy_keys{
    "detector", "event",   "id",       "source",         "submethod", "uris", "counts_saturated", "first_seen", "last_seen",
    "detected_at", "requests", "successes", "answers_judged", "min_via",   "max_via", "uri_sample", "peers",
    "user_agents"};

// What a string reads back as: the same bytes, except that each byte that
// does not start a well-formed UTF-8 sequence becomes U+FFFD. Written apart
// from json.hpp's validator on purpose (decode, then refuse overlong forms,
// surrogates and code points above U+10FFFF).
std::string expected_text(std::string_view s) {
    std::string out;
    for (std::size_t i = 0; i < s.size();) {
        const auto lead = static_cast<unsigned char>(s[i]);
        std::size_t n = 0;
        char32_t cp = 0, min = 0;
        if (lead < 0x80) { n = 1; cp = lead; }
        else if ((lead & 0xe0) == 0xc0) { n = 2; cp = lead & 0x1fu; min = 0x80; }
        else if ((lead & 0xf0) == 0xe0) { n = 3; cp = lead & 0x0fu; min = 0x800; }
        else if ((lead & 0xf8) == 0xf0) { n = 4; cp = lead & 0x07u; min = 0x10000; }
        bool ok = n > 0 && i + n <= s.size();
        for (std::size_t k = 1; ok && k < n; ++k) {
            const auto c = static_cast<unsigned char>(s[i + k]);
            ok = (c & 0xc0) == 0x80;
            cp = cp << 6 | (c & 0x3fu);
        }
        ok = ok && cp >= min && !(cp >= 0xd800 && cp <= 0xdfff) && cp <= 0x10ffff;
        if (ok) {
            out.append(s.substr(i, n));
            i += n;
        } else {
            out += "\xef\xbf\xbd";
            ++i;
        }
    }
    return out;
}

// Parses one line strictly: it must be exactly one JSON object (nlohmann
// refuses trailing data and ill-formed UTF-8), with no raw line break inside.
// Also returns, in order and duplicates included, the keys of the top-level
// object and the keys of the objects inside its arrays (the scan sample).
json parse_line(const std::string& line, std::vector<std::string>* top_keys = nullptr,
                std::vector<std::string>* nested_keys = nullptr) {
    INFO("line starts: " << line.substr(0, 200));
    REQUIRE(line.find('\n') == std::string::npos);
    REQUIRE(line.find('\r') == std::string::npos);
    REQUIRE(json::accept(line));
    std::vector<std::string> top, nested;
    const json::parser_callback_t collect = [&](int depth, json::parse_event_t event, json& parsed) {
        if (event == json::parse_event_t::key) {
            if (depth == 1) top.push_back(parsed.get<std::string>());
            else if (depth == 3) nested.push_back(parsed.get<std::string>());
            else FAIL("unexpected key at depth " << depth);
        }
        return true;
    };
    json j = json::parse(line, collect);
    REQUIRE(j.is_object());
    if (top_keys) *top_keys = top;
    if (nested_keys) *nested_keys = nested;
    return j;
}

json expected_strings(const std::vector<std::string>& v) {
    json a = json::array();
    for (const auto& s : v) a.push_back(expected_text(s));
    return a;
}

std::string_view answer_name(const scan_target& t) {
    if (t.answered_success) return "2xx";
    if (t.answered_failure) return "error";
    return "none";
}

void check_scan(const scan_event& e, const std::string& line) {
    std::vector<std::string> keys, nested;
    const json j = parse_line(line, &keys, &nested);
    CHECK(keys == scan_keys);
    std::vector<std::string> expected_nested;
    for (std::size_t k = 0; k < e.sample.size(); ++k)
        expected_nested.insert(expected_nested.end(), scan_target_keys.begin(), scan_target_keys.end());
    CHECK(nested == expected_nested);
    CHECK(j.at("detector") == "sipscan");
    CHECK(j.at("event") == std::string(to_string(e.phase)));
    CHECK(j.at("id").get<std::uint64_t>() == e.id);
    CHECK(j.at("id").is_number_unsigned());
    CHECK(j.at("source") == e.source.to_string());
    CHECK(j.at("submethod") == std::string(to_string(e.submethod)));
    CHECK(j.at("kind") == std::string(to_string(e.kind)));
    CHECK(j.at("hosts").get<std::uint64_t>() == e.hosts);
    CHECK(j.at("users").get<std::uint64_t>() == e.users);
    CHECK(j.at("targets").get<std::uint64_t>() == e.targets);
    CHECK(j.at("counts_saturated").is_boolean());
    CHECK(j.at("counts_saturated").get<bool>() == e.counts_saturated);
    CHECK(j.at("requests").get<std::uint64_t>() == e.requests);
    CHECK(j.at("successful_targets").get<std::uint64_t>() == e.successful_targets);
    CHECK(j.at("failed_targets").get<std::uint64_t>() == e.failed_targets);
    CHECK(j.at("first_seen") == format_rfc3339(e.first_seen));
    CHECK(j.at("last_seen") == format_rfc3339(e.last_seen));
    CHECK(j.at("tool") == expected_text(e.tool));
    CHECK(j.at("user_agents") == expected_strings(e.user_agents));
    const json& sample = j.at("sample");
    REQUIRE(sample.is_array());
    REQUIRE(sample.size() == e.sample.size());
    for (std::size_t k = 0; k < e.sample.size(); ++k) {
        const scan_target& t = e.sample[k];
        const json& o = sample[k];
        REQUIRE(o.is_object());
        CHECK(o.at("host") == t.host.to_string());
        CHECK(o.at("port").get<std::uint64_t>() == t.port);
        CHECK(o.at("user") == expected_text(t.user));
        CHECK(o.at("answer") == std::string(answer_name(t)));
        CHECK(o.at("status").get<std::uint64_t>() == t.status);
    }
}

void check_proxy(const proxy_event& e, const std::string& line) {
    std::vector<std::string> keys, nested;
    const json j = parse_line(line, &keys, &nested);
    CHECK(keys == proxy_keys);
    CHECK(nested.empty());
    CHECK(j.at("detector") == "sipproxy");
    CHECK(j.at("event") == "new_proxy");
    CHECK(j.at("id").get<std::uint64_t>() == e.id);
    CHECK(j.at("source") == e.source.to_string());
    CHECK(j.at("submethod") == "general");
    CHECK(j.at("uris").get<std::uint64_t>() == e.uris);
    CHECK(j.at("first_seen") == format_rfc3339(e.first_seen));
    CHECK(j.at("last_seen") == format_rfc3339(e.last_seen));
    CHECK(j.at("detected_at") == format_rfc3339(e.detected_at));
    CHECK(j.at("requests").get<std::uint64_t>() == e.requests);
    CHECK(j.at("successes").get<std::uint64_t>() == e.successes);
    CHECK(j.at("answers_judged").is_boolean());
    CHECK(j.at("answers_judged").get<bool>() == e.answers_judged);
    CHECK(j.at("min_via").get<std::uint64_t>() == e.min_via);
    CHECK(j.at("max_via").get<std::uint64_t>() == e.max_via);
    CHECK(j.at("uri_sample") == expected_strings(e.uri_sample));
    json peers = json::array();
    for (const auto& a : e.peers) peers.push_back(a.to_string());
    CHECK(j.at("peers") == peers);
    CHECK(j.at("user_agents") == expected_strings(e.user_agents));
}

// Strings an attacker puts in From, To and User-Agent.
std::vector<std::string> hostile_strings() {
    std::vector<std::string> v{
        "",
        "plain",
        "quote\" backslash\\ slash/ both\\\"",
        "\\u0000 not an escape, \\\\u0041",
        "nul\0inside"s,
        std::string(1, '\0'),
        "\x01\x02\x08\x0b\x0c\x1b[31mred\x1b[0m\x1f\x7f",
        "line\nbreak\rreturn\ttab",
        "\"}, {\"injected\": true, \"x\": \"",
        "\xff\xfe\xfd",
        "overlong \xc0\x80 \xc1\xbf \xe0\x80\x80 \xf0\x80\x80\x80",
        "surrogates \xed\xa0\x80 \xed\xbf\xbf",
        "above max \xf4\x90\x80\x80 \xf5\x80\x80\x80",
        "truncated \xe2\x82 \xf0\x9f\x98",
        "at the end \xe2\x82",
        "lone continuation \x80\xbf",
        "valid \xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xef\xbf\xbd \xe2\x80\xa8 \xc2\x85",
    };
    std::string big;
    while (big.size() < 64 * 1024) big += "\"\\\0\x1f\x7f\xff\xc3\xa9\xe2\x80\xa8\xf0\x9f\x98\x80 <>&'"s;
    big.resize(64 * 1024); // cuts through a sequence at the end
    v.push_back(big);
    std::mt19937 rng(3261);
    std::uniform_int_distribution<int> byte(0, 255);
    std::string random_big(64 * 1024, '\0');
    for (char& c : random_big) c = static_cast<char>(byte(rng));
    v.push_back(random_big);
    return v;
}

scan_event hostile_scan(const std::string& s, std::uint64_t id) {
    scan_event e;
    e.phase = scan_phase::update;
    e.id = id;
    e.source = ip_address::parse("2001:db8::bad");
    e.submethod = scan_submethod::register_;
    e.kind = scan_kind::vertical;
    e.hosts = 1;
    e.users = std::numeric_limits<std::uint32_t>::max();
    e.targets = 256;
    e.counts_saturated = true;
    e.requests = std::numeric_limits<std::uint64_t>::max();
    e.successful_targets = 7;
    e.failed_targets = 249;
    e.first_seen = record_time_from_micros(1471336040000000);
    e.last_seen = record_time_from_micros(1471336048605282);
    e.tool = s;
    e.user_agents = {s, "friendly-scanner", s + s};
    e.sample = {{ip_address::parse("10.0.0.1"), 5060, s, true, true, 200},
                {ip_address::parse("::1"), 0, "", false, true, 699},
                {ip_address::parse("192.0.2.255"), 65535, s.substr(0, 32), false, false, 0}};
    return e;
}

proxy_event hostile_proxy(const std::string& s, std::uint64_t id) {
    proxy_event e;
    e.id = id;
    e.source = ip_address::parse("127.0.0.10");
    e.uris = 10;
    e.uri_sample = {"sip:" + s + "@example.net", s, ""};
    e.first_seen = record_time_from_micros(-1); // 1969
    e.detected_at = record_time_from_micros(1471336048605282);
    e.last_seen = record_time_from_micros(1471336048605283);
    e.peers = {ip_address::parse("127.0.0.20"), ip_address::parse("2001:db8::1"), ip_address::parse("::")};
    e.min_via = 1;
    e.max_via = std::numeric_limits<unsigned>::max();
    e.user_agents = {s};
    e.requests = 40;
    e.successes = 30;
    e.answers_judged = true;
    return e;
}

} // namespace

TEST_CASE("json: a typical scan event, exactly") {
    scan_event e;
    e.id = 1;
    e.source = ip_address::parse("147.32.77.113");
    e.submethod = scan_submethod::invite;
    e.hosts = 3;
    e.users = 1;
    e.targets = 9;
    e.requests = 9;
    e.first_seen = record_time_from_micros(1471336040000000);
    e.last_seen = record_time_from_micros(1471336048605282);
    e.tool = "sipvicious";
    e.user_agents = {"friendly-scanner"};
    e.sample = {{ip_address::parse("147.32.77.1"), 5060, "100", false, true, 404}};
    const std::string line = to_json(e);
    CHECK(line ==
          R"({"detector":"sipscan","event":"start","id":1,"source":"147.32.77.113","submethod":"invite",)"
          R"("kind":"horizontal","hosts":3,"users":1,"targets":9,"counts_saturated":false,"requests":9,)"
          R"("successful_targets":0,"failed_targets":0,"first_seen":"2016-08-16T08:27:20.000000Z",)"
          R"("last_seen":"2016-08-16T08:27:28.605282Z","tool":"sipvicious","user_agents":["friendly-scanner"],)"
          R"("sample":[{"host":"147.32.77.1","port":5060,"user":"100","answer":"error","status":404}]})");
    check_scan(e, line);
}

TEST_CASE("json: a learned proxy is a baseline line, not an event") {
    known_proxy p;
    p.address = ip_address::parse("2001:db8::10");
    p.first_seen = record_time_from_micros(1471336040000000);
    p.last_seen = record_time_from_micros(1471336048605282);
    p.learned_at = record_time_from_micros(1471336048000001);
    p.learned_in_training = true;
    const std::string line = to_json(p);
    CHECK(line == R"({"detector":"sipproxy","baseline":"learned_proxy","source":"2001:db8::10",)"
                  R"("first_seen":"2016-08-16T08:27:20.000000Z","last_seen":"2016-08-16T08:27:28.605282Z",)"
                  R"("learned_at":"2016-08-16T08:27:28.000001Z","learned_in_training":true})");
    const json j = json::parse(line);
    CHECK_FALSE(j.contains("event"));
    p.learned_in_training = false;
    CHECK(json::parse(to_json(p))["learned_in_training"] == false);
}

TEST_CASE("json: hostile strings in scan events read back field by field") {
    std::uint64_t id = 1;
    for (const std::string& s : hostile_strings()) {
        INFO("hostile string #" << id << " of " << s.size() << " bytes");
        const scan_event e = hostile_scan(s, id++);
        check_scan(e, to_json(e));
    }
}

TEST_CASE("json: hostile strings in proxy events read back field by field") {
    std::uint64_t id = 1;
    for (const std::string& s : hostile_strings()) {
        INFO("hostile string #" << id << " of " << s.size() << " bytes");
        const proxy_event e = hostile_proxy(s, id++);
        check_proxy(e, to_json(e));
    }
}

TEST_CASE("json: empty and default events are complete objects") {
    const scan_event s{};
    check_scan(s, to_json(s));
    const proxy_event p{};
    check_proxy(p, to_json(p));
    const json j = json::parse(to_json(p));
    CHECK(j.at("peers").is_array());
    CHECK(j.at("peers").empty());
    CHECK(j.at("uri_sample").empty());
    CHECK(j.at("first_seen") == "1970-01-01T00:00:00.000000Z");
}

TEST_CASE("json: times outside RFC 3339's years are clamped") {
    scan_event e;
    e.first_seen = record_time::min();
    e.last_seen = record_time::max();
    const json j = parse_line(to_json(e));
    CHECK(j.at("first_seen") == "0000-01-01T00:00:00.000000Z");
    CHECK(j.at("last_seen") == "9999-12-31T23:59:59.999999Z");
}

TEST_CASE("json: the escapes are the expected ones") {
    scan_event e;
    e.tool = "a\"b\\c\n\r\t\x01\x7f\xff\0z"s;
    const json j = json::parse(to_json(e));
    CHECK(j.at("tool") == "a\"b\\c\n\r\t\x01\x7f\xef\xbf\xbd\0z"s);
    CHECK(to_json(e).find(R"("tool":"a\"b\\c\n\r\t\u0001\u007f\ufffd\u0000z")") != std::string::npos);
}

TEST_CASE("json: a stream of events is one valid object per line") {
    std::ostringstream stream;
    std::size_t written = 0;
    std::uint64_t id = 1;
    for (const std::string& s : hostile_strings()) {
        stream << to_json(hostile_scan(s, id)) << '\n';
        stream << to_json(hostile_proxy(s, id)) << '\n';
        written += 2;
        ++id;
    }
    std::istringstream in(stream.str());
    std::string line;
    std::size_t lines = 0;
    while (std::getline(in, line)) {
        INFO("line " << lines + 1);
        const json j = parse_line(line);
        CHECK((j.at("detector") == "sipscan" || j.at("detector") == "sipproxy"));
        ++lines;
    }
    CHECK(lines == written);
}

TEST_CASE("json: a campaign event has every field of its schema, in order, reading back exactly") {
    campaign_event e;
    e.phase = scan_phase::start;
    e.id = 9;
    e.submethod = scan_submethod::register_;
    e.kind = scan_kind::vertical;
    e.sources = 31;
    e.source_sample = {ip_address::parse("127.0.1.1"), ip_address::parse("2001:db8::5")};
    e.hosts = 1;
    e.users = 55;
    e.targets = 55;
    e.requests = 70;
    e.tool = "";
    e.fingerprint = "register; User-Agent \"\xff\x01\"; From user mirrors the called user; From host mirrors the target";
    const json j = json::parse(to_json(e));
    std::vector<std::string> keys;
    for (const auto& [k, v] : j.items()) keys.push_back(k);
    std::vector<std::string> expected{"detector", "event", "id", "submethod", "kind", "sources", "source_sample", "hosts",
                                      "users", "targets", "requests", "first_seen", "last_seen", "tool", "fingerprint"};
    std::sort(expected.begin(), expected.end());
    std::sort(keys.begin(), keys.end());
    CHECK(keys == expected);
    CHECK(j["detector"] == "sipcampaign");
    CHECK(j["event"] == "start");
    CHECK(j["kind"] == "vertical");
    CHECK(j["submethod"] == "register");
    CHECK(j["sources"] == 31);
    CHECK(j["source_sample"] == json::array({"127.0.1.1", "2001:db8::5"}));
    CHECK(j["users"] == 55);
    CHECK(j["requests"] == 70);
    CHECK(j["fingerprint"].get<std::string>() == expected_text(e.fingerprint));
    CHECK(to_json(e).find('\n') == std::string::npos);
}
