// The sipdetect program's outputs: every format on the demo capture and the
// lab captures, checked against the --json events of the same run and by the
// format's own rules; --output appending; --syslog over UDP, TCP and a unix
// socket to receivers of our own, the RFC 5424 frames parsed back.
#include "catch.hpp"

#include "output_checks.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include <sys/wait.h>
#include <unistd.h>

namespace {

using namespace output_checks;

std::string quoted(const std::string& s) {
    std::string out = "'";
    for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return out + "'";
}

std::string read_file(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> out;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) out.push_back(line);
    return out;
}

class scratch_dir {
public:
    explicit scratch_dir(const std::string& name)
        : path_(std::filesystem::temp_directory_path() / ("sipdetect_outputs_program_" + std::to_string(::getpid()) + "_" + name)) {
        std::filesystem::remove_all(path_);
        std::filesystem::create_directories(path_);
    }
    ~scratch_dir() { std::filesystem::remove_all(path_); }
    scratch_dir(const scratch_dir&) = delete;
    scratch_dir& operator=(const scratch_dir&) = delete;
    std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

private:
    std::filesystem::path path_;
};

struct program_run {
    int status = -1;
    std::string out, err;
};

program_run run_program(const std::string& args) {
    const scratch_dir dir("stderr");
    const auto err = dir / "err";
    const std::string command = quoted(SIPDETECT_CLI) + " --no-progress " + args + " 2>" + quoted(err.string());
    std::FILE* pipe = ::popen(command.c_str(), "r");
    REQUIRE(pipe != nullptr);
    program_run r;
    std::array<char, 65536> buf{};
    for (std::size_t n; (n = std::fread(buf.data(), 1, buf.size(), pipe)) > 0;) r.out.append(buf.data(), n);
    const int status = ::pclose(pipe);
    r.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    r.err = read_file(err);
    return r;
}

struct capture {
    std::filesystem::path path;
    std::string options;
};

std::filesystem::path demo() { return std::filesystem::path(SIPDETECT_SOURCE_DIR) / "examples" / "data" / "demo.pcap"; }

// The demo, and the lab and ipfixprobe captures when ../shared is there (a visible skip otherwise, a failure in CI).
std::vector<capture> captures() {
    const auto lab = std::filesystem::path(SIPDETECT_SOURCE_DIR) / "tests" / "data" / "lab";
    std::vector<capture> all{{demo(), "--closed-season 0"},
                             {lab / "campaign-horizontal.pcap", "--closed-season 0"}, // ours: campaign events
                             {lab / "campaign-vertical.pcap", "--closed-season 0"}};
    const std::vector<std::pair<std::string, std::string>> shared = {
        {"lab/live-sipvicious-scan.pcap", "--closed-season 0"},
        {"lab/live-svmap-horizontal.pcap", "--closed-season 0"},
        {"lab/live-proxy-kamailio.pcap", "--closed-season 0"},
        {"lab/live-register-flood.pcap", "--closed-season 0"},
        {"ipfixprobe/sip.pcap", "--closed-season 0 --threshold 4"},
        {"initconf-sip-attacks/SIP-212.32.250.134.pcap", "--closed-season 0"}};
    for (const auto& [relative, options] : shared) {
        const auto path = shared_data_dir() / relative;
        if (std::filesystem::exists(path)) all.push_back({path, options});
        else if (in_ci()) FAIL("missing shared data file in CI: " << path.string());
        else WARN("SKIPPED: shared data file not found: " << path.string());
    }
    return all;
}

std::vector<std::string> events_of(const capture& c, const std::string& format_options) {
    const program_run r = run_program(c.options + " " + format_options + " " + quoted(c.path.string()));
    REQUIRE(r.status == 0);
    return lines_of(r.out);
}

// A JSON event's source: a campaign's is the first of its sample.
nlohmann::json source_of(const nlohmann::json& event) {
    return event.contains("source") ? event["source"] : event["source_sample"][0];
}

// The address an IDEA Source or a CEF line gives for a JSON event's source.
std::string idea_source(const nlohmann::json& alert) {
    const auto& s = alert["Source"][0];
    return s.contains("IP4") ? s["IP4"][0].get<std::string>() : s["IP6"][0].get<std::string>();
}

// What two runs on one input always agree on. Distinct counts (hosts, users,
// targets) are exact only as long as their fingerprints do not collide, and
// the fingerprint seed is drawn anew by each run: a scan of hundreds of
// hosts may, rarely, count one less in one run than in another.
nlohmann::json stable_part(const nlohmann::json& event) {
    nlohmann::json out;
    for (const char* key : {"detector", "event", "id", "submethod", "first_seen", "last_seen", "requests"})
        out[key] = event[key];
    out["source"] = source_of(event);
    return out;
}

// The leading fields of a text line: time, detector, event, #id, source, submethod.
std::string stable_text(const std::string& line) {
    std::size_t at = 0;
    for (int field = 0; field < 6 && at != std::string::npos; ++field) at = line.find(' ', at + 1);
    return line.substr(0, at);
}

// An IDEA line of one run against the JSON event of another run of the same input.
void check_idea_line(const std::string& line, const nlohmann::json& event) {
    INFO(line);
    const auto alert = nlohmann::json::parse(line);
    const auto violations = idea_violations(alert);
    for (const std::string& v : violations) UNSCOPED_INFO(v);
    CHECK(violations.empty());
    const auto& own = alert["_sipdetect"]; // the event this alert was made from
    CHECK(stable_part(own) == stable_part(event));
    CHECK(idea_source(alert) == source_of(own));
    CHECK(alert["Category"][0] == (own["detector"] == "sipproxy" ? "Anomaly.Traffic" : "Recon.Scanning"));
    CHECK(alert["EventTime"] == own["first_seen"]);
    CHECK(alert["CeaseTime"] == own["last_seen"]);
    CHECK(alert["DetectTime"] == (own["detector"] == "sipproxy" ? own["detected_at"] : own["last_seen"]));
    CHECK(alert["ConnCount"] == own["requests"]);
}

void check_cef_line(const std::string& line, const nlohmann::json& event) {
    INFO(line);
    const cef_message m = parse_cef(line);
    CHECK(m.header[0] == "0");
    CHECK(m.header[4].starts_with(event["detector"].get<std::string>() + ":"));
    CHECK(m.get("externalId") == std::to_string(event["id"].get<std::uint64_t>()));
    CHECK(m.get("act") == event["event"]);
    CHECK((m.count("src") == 1 ? m.get("src") : m.get("c6a2")) == source_of(event));
    CHECK(m.get("cs1") == event["submethod"]);
    CHECK(m.get("cnt") == std::to_string(event["requests"].get<std::uint64_t>()));
}

} // namespace

TEST_CASE("sipdetect --format: every event of the demo and lab captures in text, json, idea and cef") {
    std::size_t checked = 0;
    for (const capture& c : captures()) {
        INFO(c.path.string());
        const std::vector<std::string> json = events_of(c, "--json");
        const std::vector<std::string> json_again = events_of(c, "--format json");
        REQUIRE(json_again.size() == json.size());
        for (std::size_t i = 0; i < json.size(); ++i)
            CHECK(stable_part(nlohmann::json::parse(json_again[i])) == stable_part(nlohmann::json::parse(json[i])));
        const std::vector<std::string> text = events_of(c, "--format text");
        const std::vector<std::string> text_default = events_of(c, "");
        REQUIRE(text.size() == json.size());
        REQUIRE(text_default.size() == json.size());
        for (std::size_t i = 0; i < json.size(); ++i) CHECK(stable_text(text[i]) == stable_text(text_default[i]));
        const std::vector<std::string> idea = events_of(c, "--format idea");
        const std::vector<std::string> cef = events_of(c, "--format cef");
        REQUIRE(idea.size() == json.size());
        REQUIRE(cef.size() == json.size());
        for (std::size_t i = 0; i < json.size(); ++i) {
            const auto event = nlohmann::json::parse(json[i]);
            check_idea_line(idea[i], event);
            check_cef_line(cef[i], event);
        }
        checked += json.size();
    }
    CHECK(checked > 0);
}

TEST_CASE("sipdetect --format: campaign events in every format") {
    const capture c{std::filesystem::path(SIPDETECT_SOURCE_DIR) / "tests" / "data" / "lab" / "campaign-horizontal.pcap",
                    "--closed-season 0"};
    std::size_t campaigns = 0;
    for (const std::string& line : events_of(c, "--json"))
        if (nlohmann::json::parse(line)["detector"] == "sipcampaign") ++campaigns;
    CHECK(campaigns >= 2); // its start and its end
    std::size_t idea = 0, cef = 0;
    for (const std::string& line : events_of(c, "--format idea"))
        if (nlohmann::json::parse(line)["_sipdetect"]["detector"] == "sipcampaign") ++idea;
    for (const std::string& line : events_of(c, "--format cef"))
        if (parse_cef(line).header[4].starts_with("sipcampaign:")) ++cef;
    CHECK(idea == campaigns);
    CHECK(cef == campaigns);
}

TEST_CASE("sipdetect --output appends the events to the file and nothing to stdout") {
    const scratch_dir dir("output");
    const auto file = dir / "events.cef";
    const std::vector<std::string> cef = events_of({demo(), "--closed-season 0"}, "--format cef");
    REQUIRE_FALSE(cef.empty());
    for (int run = 0; run < 2; ++run) {
        const program_run r = run_program("--closed-season 0 --format cef --output " + quoted(file.string()) + " " +
                                          quoted(demo().string()));
        CHECK(r.status == 0);
        CHECK(r.out.empty());
    }
    const std::vector<std::string> written = lines_of(read_file(file));
    REQUIRE(written.size() == 2 * cef.size());
    for (std::size_t i = 0; i < written.size(); ++i) {
        const cef_message w = parse_cef(written[i]), expected = parse_cef(cef[i % cef.size()]);
        CHECK(w.header == expected.header);
        for (const char* key : {"externalId", "act", "src", "start", "end", "cnt"}) CHECK(w.get(key) == expected.get(key));
    }
}

TEST_CASE("sipdetect refuses output options it cannot use") {
    for (const char* args : {"--format xml", "--format", "--syslog udp:127.0.0.1", "--syslog file:/x",
                             "--syslog-facility local9", "--idea-node 'not a name'", "--output ''"}) {
        INFO(args);
        const program_run r = run_program(std::string(args) + " " + quoted(demo().string()));
        CHECK(r.status == 2);
        CHECK(r.err.find("Try 'sipdetect --help'") != std::string::npos);
    }
    const program_run r = run_program("--output /nonexistent-dir/events.log " + quoted(demo().string()));
    CHECK(r.status == 1);
    CHECK(r.err.find("--output /nonexistent-dir/events.log: No such file or directory") != std::string::npos);
}

namespace {

// Runs the demo and lab captures through --syslog to `receiver` and, in the
// same run, through --output: every message's MSG is the file's line.
void check_syslog(syslog_receiver::kind kind, const std::string& format, const std::string& facility_option,
                  unsigned facility) {
    const scratch_dir dir("syslog");
    for (const capture& c : captures()) {
        INFO(c.path.string() << " " << format);
        syslog_receiver receiver(kind, dir / "log.sock");
        const std::vector<std::string> json = events_of(c, "--json");
        const auto file = dir / "events";
        std::filesystem::remove(file);
        const program_run r = run_program(c.options + " --format " + format + " --syslog " + receiver.target() + " " +
                                          facility_option + " --output " + quoted(file.string()) + " " +
                                          quoted(c.path.string()));
        CHECK(r.status == 0);
        CHECK(r.out.empty());
        CHECK(r.err.find("could not be sent") == std::string::npos);
        const std::vector<std::string> messages = receiver.stop();
        REQUIRE(messages.size() == json.size());
        const std::vector<std::string> same_format = lines_of(read_file(file));
        REQUIRE(same_format.size() == json.size());
        for (std::size_t i = 0; i < messages.size(); ++i) {
            const auto event = nlohmann::json::parse(json[i]);
            const syslog_message m = parse_rfc5424(messages[i]);
            const unsigned severity = event["event"] == "start" ? 4 : 5;
            CHECK(m.pri == facility * 8 + severity);
            CHECK(idea_timestamp(m.timestamp));
            CHECK(m.hostname != "");
            CHECK(m.app == "sipdetect");
            CHECK(std::all_of(m.procid.begin(), m.procid.end(), ::isdigit));
            CHECK(m.msgid == event["detector"]);
            CHECK(m.structured_data == "-");
            CHECK(m.bom);
            CHECK(valid_utf8(m.msg));
            CHECK(m.msg == same_format[i]);
            if (format == "idea") check_idea_line(m.msg, event);
            else if (format == "cef") check_cef_line(m.msg, event);
        }
    }
}

} // namespace

TEST_CASE("sipdetect --syslog udp: one RFC 5424 datagram per event, every format") {
    for (const char* format : {"json", "text", "idea", "cef"}) check_syslog(syslog_receiver::kind::udp, format, "", 16);
}

TEST_CASE("sipdetect --syslog tcp: octet-counted RFC 5424 frames, one per event") {
    check_syslog(syslog_receiver::kind::tcp, "json", "--syslog-facility local3", 19);
    check_syslog(syslog_receiver::kind::tcp, "cef", "--syslog-facility daemon", 3);
}

TEST_CASE("sipdetect --syslog unix:PATH: one datagram per event on a local socket") {
    check_syslog(syslog_receiver::kind::unix_datagram, "idea", "", 16);
}

TEST_CASE("sipdetect --syslog tcp to a receiver that is not there: events counted as lost, the run completes") {
    std::string target;
    {
        syslog_receiver closed(syslog_receiver::kind::tcp); // a free port, closed again at the end of the block
        target = closed.target();
    }
    const std::vector<std::string> json = events_of({demo(), "--closed-season 0"}, "--json");
    const program_run r = run_program("--closed-season 0 --stats --syslog " + target + " " + quoted(demo().string()));
    CHECK(r.status == 0);
    CHECK(r.out.empty()); // --syslog without --output: nothing on stdout
    const std::string n = std::to_string(json.size());
    CHECK(r.err.find("sipdetect: " + n + " of " + n + " events could not be sent to syslog " + target) != std::string::npos);
    CHECK(r.err.find("syslog " + target + ": 0 sent, " + n + " lost, 0 connections") != std::string::npos);
}

TEST_CASE("the README's format samples are what the program writes for the demo") {
    const std::string readme = read_file(std::filesystem::path(SIPDETECT_SOURCE_DIR) / "examples" / "sipdetect" / "README.md");
    const capture c{demo(), "--closed-season 0"};
    const std::vector<std::string> text = events_of(c, "");
    const std::vector<std::string> json = events_of(c, "--json");
    const std::vector<std::string> cef = events_of(c, "--format cef");
    const auto shown = [&](const std::vector<std::string>& lines) {
        return std::any_of(lines.begin(), lines.end(), [&](const std::string& l) { return readme.find("\n" + l + "\n") != std::string::npos; });
    };
    CHECK(shown(text));
    CHECK(shown(json));
    CHECK(shown(cef));
    // The IDEA sample: valid, and the demo's proxy alert but for the ID and CreateTime, which change each run.
    const std::size_t begin = readme.find("```json\n{\n  \"Format\": \"IDEA0\"");
    REQUIRE(begin != std::string::npos);
    const std::size_t body = readme.find('\n', begin) + 1;
    const auto sample = nlohmann::json::parse(readme.substr(body, readme.find("```", body) - body));
    CHECK(idea_violations(sample).empty());
    const std::vector<std::string> idea = events_of(c, "--format idea");
    REQUIRE_FALSE(idea.empty());
    auto written = nlohmann::json::parse(idea.back());
    written["ID"] = sample["ID"];
    written["CreateTime"] = sample["CreateTime"];
    CHECK(written == sample);
}
