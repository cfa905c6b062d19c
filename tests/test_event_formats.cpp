// The event formats (text, json, idea, cef) on hostile strings, checked by
// readers written from each format's rules (output_checks.hpp); the --output
// file's reopen(); the syslog sink's reconnects and losses.
#include "catch.hpp"

#include "output_checks.hpp"

#include "sipdetect/event_formats.hpp"
#include "sipdetect/event_output.hpp"
#include "sipdetect/output_file.hpp"
#include "sipdetect/syslog_sink.hpp"

#include <sipdetect/json.hpp>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <unistd.h>

namespace {

using namespace output_checks;
using sipdetect_cli::event_format;
using sipdetect_cli::event_formatter;

// Strings a scanner controls: every character each format must escape, line
// breaks, a control byte, invalid UTF-8 (a lone continuation byte, a cut
// sequence, an overlong '/') and a would-be injected key.
const std::string hostile_agent = "evil|agent=1 \\path\\ a\\=b\nnext line\r cs1=injected \x01 \x80 \xc3 \xc0\xaf end";
const std::string replacement = "\xef\xbf\xbd";

sipdetect::scan_event hostile_scan() {
    sipdetect::scan_event e;
    e.phase = sipdetect::scan_phase::start;
    e.id = 7;
    e.source = sipdetect::ip_address::parse("2001:db8::66");
    e.submethod = sipdetect::scan_submethod::invite;
    e.kind = sipdetect::scan_kind::vertical;
    e.hosts = 1;
    e.users = 25;
    e.targets = 25;
    e.requests = 40;
    e.failed_targets = 25;
    e.first_seen = sipdetect::record_time{std::chrono::microseconds{1'700'000'000'000'000}};
    e.last_seen = e.first_seen + std::chrono::seconds{3};
    e.user_agents = {hostile_agent, "second | agent"};
    e.tool = "tool=x|y\\z";
    e.sample = {{sipdetect::ip_address::parse("192.0.2.5"), 5060, "us|er=\n\xff", false, true, 404},
                {sipdetect::ip_address::parse("192.0.2.5"), 5061, "200", true, false, 200}};
    return e;
}

sipdetect::proxy_event hostile_proxy() {
    sipdetect::proxy_event e;
    e.id = 3;
    e.source = sipdetect::ip_address::parse("198.51.100.10");
    e.uris = 12;
    e.uri_sample = {"sip:a=b|c@example.org", "sip:\xfe\n@x"};
    e.first_seen = sipdetect::record_time{std::chrono::microseconds{1'600'000'000'000'000}};
    e.detected_at = e.first_seen + std::chrono::minutes{5};
    e.last_seen = e.detected_at;
    e.peers = {sipdetect::ip_address::parse("198.51.100.20"), sipdetect::ip_address::parse("2001:db8::20")};
    e.user_agents = {hostile_agent};
    e.requests = 90;
    e.successes = 80;
    e.answers_judged = true;
    return e;
}

// What the CEF writer must make of a hostile string: control bytes and invalid UTF-8 become U+FFFD, the rest stays.
std::string cef_expected(std::string_view s) {
    std::string out;
    for (std::size_t i = 0; i < s.size(); ++i) {
        const auto c = static_cast<unsigned char>(s[i]);
        if (c == '\n' || c == '\r' || (c >= 0x20 && c < 0x7f)) out += static_cast<char>(c);
        else if (c == 0xc3 && i + 1 < s.size() && (static_cast<unsigned char>(s[i + 1]) & 0xc0) == 0x80) {
            out += s.substr(i, 2);
            ++i;
        } else out += replacement;
    }
    return out;
}

template <class Event> std::string line_of(event_format f, const Event& e) {
    event_formatter format(f);
    return format(e).line;
}

} // namespace

TEST_CASE("every format keeps a hostile event on one valid UTF-8 line") {
    for (const event_format f : {event_format::text, event_format::json, event_format::idea, event_format::cef}) {
        for (const std::string& line : {line_of(f, hostile_scan()), line_of(f, hostile_proxy())}) {
            INFO(line);
            CHECK(line.find('\n') == std::string::npos);
            CHECK(line.find('\r') == std::string::npos);
            CHECK(valid_utf8(line));
            CHECK(std::none_of(line.begin(), line.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20; }));
        }
    }
}

TEST_CASE("json: hostile strings come back as sent, invalid UTF-8 as U+FFFD") {
    const auto j = nlohmann::json::parse(line_of(event_format::json, hostile_scan()));
    const std::string agent = j["user_agents"][0].get<std::string>();
    CHECK(agent.starts_with("evil|agent=1 \\path\\ a\\=b\nnext line\r cs1=injected \x01 "));
    CHECK(agent.ends_with(replacement + " " + replacement + " " + replacement + replacement + " end"));
    CHECK(j["tool"] == "tool=x|y\\z");
    CHECK(j["sample"][0]["user"] == "us|er=\n" + replacement);
}

TEST_CASE("idea: a scan and a proxy are valid IDEA0 with the event's facts") {
    const auto scan = nlohmann::json::parse(line_of(event_format::idea, hostile_scan()));
    CHECK(idea_violations(scan).empty());
    for (const std::string& v : idea_violations(scan)) UNSCOPED_INFO(v);
    CHECK(scan["Category"] == nlohmann::json::array({"Recon.Scanning"}));
    CHECK(scan["Source"][0]["IP6"] == nlohmann::json::array({"2001:db8::66"}));
    CHECK(scan["Target"][0]["IP4"] == nlohmann::json::array({"192.0.2.5"}));
    CHECK(scan["Target"][0]["Port"] == nlohmann::json::array({5060, 5061}));
    CHECK(scan["ConnCount"] == 40);
    CHECK(scan["EventTime"] == "2023-11-14T22:13:20.000000Z");
    CHECK(scan["CeaseTime"] == "2023-11-14T22:13:23.000000Z");
    CHECK(scan["DetectTime"] == scan["CeaseTime"]);
    CHECK(scan["Node"][0]["Name"] == "local.sipdetect");
    CHECK(scan["_sipdetect"] == nlohmann::json::parse(sipdetect::to_json(hostile_scan())));
    CHECK(scan["Note"].get<std::string>().find("evil|agent=1 \\path\\ a\\=b\nnext line") != std::string::npos);

    const auto proxy = nlohmann::json::parse(line_of(event_format::idea, hostile_proxy()));
    CHECK(idea_violations(proxy).empty());
    CHECK(proxy["Category"] == nlohmann::json::array({"Anomaly.Traffic"}));
    CHECK(proxy["Source"][0]["IP4"] == nlohmann::json::array({"198.51.100.10"}));
    CHECK(proxy["Target"][0]["IP4"] == nlohmann::json::array({"198.51.100.20"}));
    CHECK(proxy["Target"][0]["IP6"] == nlohmann::json::array({"2001:db8::20"}));
    CHECK(proxy["DetectTime"] == "2020-09-13T12:31:40.000000Z");
}

TEST_CASE("idea: each alert has its own random version 4 UUID, and the node name is ours to set") {
    event_formatter format(event_format::idea, "org.example.voip-sensor_1");
    std::set<std::string> ids;
    for (int i = 0; i < 200; ++i) {
        const auto alert = nlohmann::json::parse(format(hostile_scan()).line);
        REQUIRE(idea_violations(alert).empty());
        ids.insert(alert["ID"].get<std::string>());
        CHECK(alert["Node"][0]["Name"] == "org.example.voip-sensor_1");
    }
    CHECK(ids.size() == 200);
    CHECK(sipdetect_cli::valid_idea_node_name("cz.cesnet.sipdetect"));
    for (const char* bad : {"", ".a", "a.", "a..b", "1a", "a b", "a.1b", "a/b"}) CHECK_FALSE(sipdetect_cli::valid_idea_node_name(bad));
}

TEST_CASE("idea_violations catches what breaks IDEA0") {
    auto good = nlohmann::json::parse(line_of(event_format::idea, hostile_scan()));
    REQUIRE(idea_violations(good).empty());
    const auto broken = [&](auto change) {
        auto m = good;
        change(m);
        return idea_violations(m).size();
    };
    CHECK(broken([](auto& m) { m["Format"] = "IDEA1"; }) == 1);
    CHECK(broken([](auto& m) { m.erase("DetectTime"); }) == 1);
    CHECK(broken([](auto& m) { m["ID"] = "not-a-uuid"; }) == 1);
    CHECK(broken([](auto& m) { m["Category"] = {"Recon.Scan"}; }) == 1);
    CHECK(broken([](auto& m) { m["ConnCount"] = -1; }) == 1);
    CHECK(broken([](auto& m) { m["Source"][0]["IP4"] = {"2001:db8::1"}; }) == 1);
    CHECK(broken([](auto& m) { m["Target"][0]["Port"] = {70000}; }) == 1);
    CHECK(broken([](auto& m) { m["Node"][0]["Name"] = "has space"; }) == 1);
    CHECK(broken([](auto& m) { m["EventTime"] = "yesterday"; }) == 1);
    CHECK(broken([](auto& m) { m["Private"] = 1; }) == 1);
}

TEST_CASE("cef: hostile strings are escaped by the header and extension rules and parse back whole") {
    const std::string line = line_of(event_format::cef, hostile_scan());
    INFO(line);
    const cef_message m = parse_cef(line);
    CHECK(m.header == std::vector<std::string>{"0", "sipdetect", "sipdetect", SIPDETECT_VERSION_STRING, "sipscan:invite",
                                               "SIP INVITE scan start", "6"});
    CHECK(m.get("cs4") == cef_expected(hostile_agent) + "\n" + "second | agent");
    CHECK(m.get("cs3") == "tool=x|y\\z");
    CHECK(m.count("cs1") == 1); // the agent's "cs1=injected" stayed inside its value
    CHECK(m.get("cs1") == "invite");
    CHECK(m.get("cs5").find("\"us|er=\\n\\xff\"") != std::string::npos); // the sample in the text format's escaping
    CHECK(m.get("c6a2") == "2001:db8::66");
    CHECK(m.count("src") == 0);
    CHECK(m.get("dst") == "192.0.2.5");
    CHECK(m.get("start") == "1700000000000");
    CHECK(m.get("end") == "1700000003000");
    CHECK(m.get("rt") == "1700000003000");
    CHECK(m.get("cnt") == "40");
    CHECK(m.get("externalId") == "7");
    CHECK(m.get("act") == "start");

    const cef_message p = parse_cef(line_of(event_format::cef, hostile_proxy()));
    CHECK(p.header[4] == "sipproxy:new_proxy");
    CHECK(p.get("src") == "198.51.100.10");
    CHECK(p.get("cs5") == "sip:a=b|c@example.org\nsip:" + replacement + "\n@x");
    CHECK(p.get("cs4") == cef_expected(hostile_agent));
    CHECK(p.get("cn1") == "12");
}

TEST_CASE("the test's CEF parser refuses what breaks CEF") {
    CHECK_NOTHROW(parse_cef("CEF:0|a\\|b|p|1|s|n|5|k=v\\=w x=a b"));
    CHECK(parse_cef("CEF:0|a\\|b|p|1|s|n|5|k=v\\=w x=a b").header[1] == "a|b");
    CHECK(parse_cef("CEF:0|a\\|b|p|1|s|n|5|k=v\\=w x=a b").get("x") == "a b");
    CHECK_THROWS(parse_cef("CEF:0|a|b|p|1|s|n|5|k=v=w"));  // an unescaped = in a value
    CHECK_THROWS(parse_cef("CEF:0|a|b|p|1|s|n"));          // fewer than 8 header fields
    CHECK_THROWS(parse_cef("CEF:0|a|b|p|1|s|n|11|k=v"));   // severity out of range
    CHECK_THROWS(parse_cef("CEF:0|a|b|p|1|s|n|5|k=a\nb")); // a raw line break
    CHECK_THROWS(parse_cef("CEF:0|a|b|p|1|s|n|5|k=a\\tb")); // an unknown escape
}

TEST_CASE("rfc5424_message: PRI, version, header fields and the BOM before MSG") {
    const sipdetect_cli::formatted_event e{"line with ünïcode", "sipscan", sipdetect_cli::syslog_severity::warning};
    const auto now = std::chrono::system_clock::time_point{std::chrono::seconds{1'700'000'000}} + std::chrono::microseconds{12};
    const syslog_message m = parse_rfc5424(sipdetect_cli::rfc5424_message(e, 19, "sensor-1", now));
    CHECK(m.pri == 19 * 8 + 4);
    CHECK(m.timestamp == "2023-11-14T22:13:20.000012Z");
    CHECK(m.hostname == "sensor-1");
    CHECK(m.app == "sipdetect");
    CHECK(m.procid == std::to_string(::getpid()));
    CHECK(m.msgid == "sipscan");
    CHECK(m.structured_data == "-");
    CHECK(m.bom);
    CHECK(m.msg == "line with ünïcode");
}

TEST_CASE("syslog targets and facilities parse, and refuse what they do not know") {
    using sipdetect_cli::parse_syslog_target;
    using kind = sipdetect_cli::syslog_target::transport;
    CHECK(parse_syslog_target("unix")->path == "/dev/log");
    CHECK(parse_syslog_target("unix:/run/x.sock")->path == "/run/x.sock");
    CHECK(parse_syslog_target("udp:127.0.0.1:514")->kind == kind::udp);
    CHECK(parse_syslog_target("tcp:[::1]:6514")->host == "::1");
    CHECK(parse_syslog_target("tcp:logs.example.org:601")->port == "601");
    for (const char* bad : {"", "unix:", "udp:127.0.0.1", "udp:127.0.0.1:0", "udp:127.0.0.1:65536", "tcp::514",
                            "tcp:::1:514", "tcp:[::1]514", "sctp:1.2.3.4:5", "udp:h:5x"})
        CHECK_FALSE(parse_syslog_target(bad));
    CHECK(sipdetect_cli::parse_syslog_facility("local0") == 16u);
    CHECK(sipdetect_cli::parse_syslog_facility("local7") == 23u);
    CHECK(sipdetect_cli::parse_syslog_facility("daemon") == 3u);
    CHECK(sipdetect_cli::parse_syslog_facility("5") == 5u);
    CHECK_FALSE(sipdetect_cli::parse_syslog_facility("24"));
    CHECK_FALSE(sipdetect_cli::parse_syslog_facility("local8"));
}

namespace {

std::string read_file(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

std::filesystem::path scratch_dir(const std::string& name) {
    const auto dir = std::filesystem::temp_directory_path() / ("sipdetect_outputs_" + std::to_string(::getpid()) + "_" + name);
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    return dir;
}

} // namespace

TEST_CASE("output file: reopen() after a rename (logrotate) writes to a new file at the path") {
    const auto dir = scratch_dir("reopen");
    const auto log = dir / "events.log";
    sipdetect_cli::output_options options;
    options.format = event_format::json;
    options.file = log.string();
    {
        sipdetect_cli::event_printer print(options);
        print(std::vector<sipdetect::scan_event>{hostile_scan()});
        std::filesystem::rename(log, dir / "events.log.1");
        print(std::vector<sipdetect::proxy_event>{hostile_proxy()}); // still the open, renamed file
        CHECK_FALSE(print.reopen());
        print(std::vector<sipdetect::scan_event>{hostile_scan(), hostile_scan()});

        // A reopen that fails keeps the file open before, and says why.
        std::filesystem::rename(log, dir / "events.log.2");
        std::filesystem::permissions(dir, std::filesystem::perms::owner_read | std::filesystem::perms::owner_exec);
        const bool root = ::geteuid() == 0; // root writes into a read-only directory all the same
        const auto failure = print.reopen();
        CHECK(failure.has_value() != root);
        std::filesystem::permissions(dir, std::filesystem::perms::owner_all);
        print(std::vector<sipdetect::proxy_event>{hostile_proxy()});
        CHECK_FALSE(print.loss_notice());
    }
    const std::string first = read_file(dir / "events.log.1");
    CHECK(std::count(first.begin(), first.end(), '\n') == 2);
    CHECK(nlohmann::json::parse(first.substr(0, first.find('\n')))["detector"] == "sipscan");
    const std::string second = read_file(dir / "events.log.2");
    if (::geteuid() == 0) {
        CHECK(std::count(second.begin(), second.end(), '\n') == 2);
        CHECK(read_file(log).find("sipproxy") != std::string::npos); // the reopened file at the path got the last one
    } else {
        CHECK(std::count(second.begin(), second.end(), '\n') == 3); // the last event went to the file kept open
    }
    std::filesystem::remove_all(dir);
}

TEST_CASE("output file: appends to what the file holds, and an unopenable path is an error naming it") {
    const auto dir = scratch_dir("append");
    const auto log = dir / "events.log";
    { std::ofstream(log) << "kept\n"; }
    sipdetect_cli::output_options options;
    options.file = log.string();
    {
        sipdetect_cli::event_printer print(options);
        print(std::vector<sipdetect::scan_event>{hostile_scan()});
    }
    const std::string text = read_file(log);
    CHECK(text.starts_with("kept\n"));
    CHECK(std::count(text.begin(), text.end(), '\n') == 2);
    options.file = (dir / "missing" / "events.log").string();
    try {
        sipdetect_cli::event_printer print(options);
        FAIL("an output in a missing directory was accepted");
    } catch (const sipdetect_cli::output_error& e) {
        CHECK(std::string(e.what()).find("missing/events.log") != std::string::npos);
    }
    std::filesystem::remove_all(dir);
}

TEST_CASE("syslog over TCP: a receiver that drops the connection gets the next event on a new one") {
    syslog_receiver receiver(syslog_receiver::kind::tcp);
    const auto target = sipdetect_cli::parse_syslog_target(receiver.target());
    REQUIRE(target);
    sipdetect_cli::syslog_sink sink(*target, 16);
    sink.send({"one", "sipscan", sipdetect_cli::syslog_severity::warning});
    receiver.drop_connections();
    sink.send({"two", "sipproxy", sipdetect_cli::syslog_severity::notice});
    sink.send({"three", "sipproxy", sipdetect_cli::syslog_severity::notice});
    const std::vector<std::string> got = receiver.stop();
    std::vector<std::string> messages;
    for (const std::string& m : got) messages.push_back(parse_rfc5424(m).msg);
    CHECK(messages == std::vector<std::string>{"one", "two", "three"});
    CHECK(receiver.connections() == 2);
    CHECK(sink.counters().connects == 2);
    CHECK(sink.counters().sent == 3);
    CHECK(sink.counters().lost == 0);
}

TEST_CASE("syslog over TCP: a receiver that is gone loses events, counted, and is retried only after a backoff") {
    auto receiver = std::make_unique<syslog_receiver>(syslog_receiver::kind::tcp);
    const auto target = sipdetect_cli::parse_syslog_target(receiver->target());
    REQUIRE(target);
    sipdetect_cli::syslog_sink sink(*target, 16);
    const sipdetect_cli::formatted_event e{"one", "sipscan", sipdetect_cli::syslog_severity::notice};
    sink.send(e);
    REQUIRE(receiver->stop().size() == 1);
    receiver.reset(); // the listener is closed too: connecting is refused

    sink.send(e); // finds the connection closed, tries once, fails
    sink.send(e); // within the backoff: not tried
    sink.send(e);
    CHECK(sink.counters().sent == 1);
    CHECK(sink.counters().lost == 3);
    CHECK(sink.counters().connects == 1);
    CHECK(sink.counters().connect_failures == 1);
}

TEST_CASE("syslog over UDP: a message too large for a datagram is lost alone, the next one goes out") {
    syslog_receiver receiver(syslog_receiver::kind::udp);
    const auto target = sipdetect_cli::parse_syslog_target(receiver.target());
    REQUIRE(target);
    sipdetect_cli::syslog_sink sink(*target, 16);
    sink.send({std::string(70000, 'x'), "sipscan", sipdetect_cli::syslog_severity::notice});
    sink.send({"small", "sipscan", sipdetect_cli::syslog_severity::notice});
    const std::vector<std::string> got = receiver.stop();
    REQUIRE(got.size() == 1);
    CHECK(parse_rfc5424(got[0]).msg == "small");
    CHECK(sink.counters().lost == 1);
    CHECK(sink.counters().sent == 1);
    CHECK(sink.counters().connect_failures == 0);
}
