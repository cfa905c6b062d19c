// End to end: the sipdetect program on every capture and log in
// ../shared/data and on the bundled demo, checked against the ground truth
// in ../shared/data/README.md.
#include "catch.hpp"

#include "ipfix_writer.hpp"
#include "sipdetect/readers.hpp"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <sys/wait.h>
#include <unistd.h>
#include <utility>
#include <vector>

namespace {

struct run_result {
    int exit_code = -1;
    std::vector<nlohmann::json> events;
};

std::string quoted(const std::string& s) {
    std::string out = "'";
    for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return out + "'";
}

// Runs the program with `args` and `redirection`; returns its exit status and what it wrote to the pipe.
std::pair<int, std::string> run_program(const std::string& args, const char* redirection) {
    const std::string command = quoted(SIPDETECT_CLI) + " --no-progress " + args + " " + redirection;
    std::FILE* pipe = ::popen(command.c_str(), "r");
    REQUIRE(pipe != nullptr);
    std::string out;
    char buf[65536];
    for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, pipe)) > 0;) out.append(buf, n);
    const int status = ::pclose(pipe);
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

run_result run_cli(const std::string& args) {
    const auto [status, out] = run_program("--json " + args, "2>/dev/null");
    run_result r;
    r.exit_code = status;
    std::size_t at = 0;
    while (at < out.size()) {
        const std::size_t nl = out.find('\n', at);
        const std::string line = out.substr(at, nl - at);
        at = nl == std::string::npos ? out.size() : nl + 1;
        if (!line.empty()) r.events.push_back(nlohmann::json::parse(line)); // throws on a malformed line
    }
    return r;
}

// What the program writes to stderr, its events discarded.
std::string cli_stderr(const std::string& args) {
    const auto [status, err] = run_program(args, "2>&1 >/dev/null");
    REQUIRE(status == 0);
    return err;
}

run_result run_on(const std::filesystem::path& file, const std::string& options = "--closed-season 0") {
    return run_cli(options + " " + quoted(file.string()));
}

// The last event (the end) of each (detector, source, submethod).
std::map<std::string, nlohmann::json> finals(const run_result& r) {
    std::map<std::string, nlohmann::json> out;
    for (const auto& e : r.events)
        out[e["detector"].get<std::string>() + " " + e["source"].get<std::string>() + " " + e["submethod"].get<std::string>()] = e;
    return out;
}

std::set<std::string> keys_of(const std::map<std::string, nlohmann::json>& m) {
    std::set<std::string> out;
    for (const auto& [k, v] : m) out.insert(k);
    return out;
}

} // namespace

TEST_CASE("SIP-212: horizontal REGISTER and INVITE scans, and not a proxy") {
    SIPDETECT_REQUIRE_SHARED_FILE(file, "initconf-sip-attacks/SIP-212.32.250.134.pcap");
    const auto r = run_on(file);
    CHECK(r.exit_code == 0);
    const auto f = finals(r);
    CHECK(keys_of(f) == std::set<std::string>{"sipscan 206.55.185.163 invite", "sipscan 206.55.185.163 register"});
    const auto& reg = f.at("sipscan 206.55.185.163 register");
    CHECK(reg["event"] == "end");
    CHECK(reg["kind"] == "horizontal");
    CHECK(reg["hosts"] == 20);
    CHECK(reg["requests"] == 892);
    const auto& inv = f.at("sipscan 206.55.185.163 invite");
    CHECK(inv["kind"] == "horizontal");
    CHECK(inv["hosts"] == 19);
    CHECK(inv["requests"] == 655);
}

TEST_CASE("SIP-Bruteforce: a slow vertical REGISTER scan over 8.5 hours") {
    SIPDETECT_REQUIRE_SHARED_FILE(file, "initconf-sip-attacks/SIP-Bruteforce-Single-IP.pcap");
    const auto r = run_on(file);
    CHECK(r.exit_code == 0);
    const auto f = finals(r);
    REQUIRE(keys_of(f) == std::set<std::string>{"sipscan 199.105.226.32 register"});
    const auto& e = f.begin()->second;
    CHECK(e["event"] == "end");
    CHECK(e["kind"] == "vertical");
    CHECK(e["hosts"] == 2);
    CHECK(e["users"] == 45);
    CHECK(e["targets"] == 90);
    // 1,626 REGISTERs: tshark shows 1,623 because it decodes three of them as PacketCable.
    CHECK(e["requests"] == 1626);
    CHECK(e["first_seen"] == "2018-03-14T08:31:48.967915Z"); // tshark: frame.time_epoch of the first REGISTER
    std::size_t starts = 0;
    for (const auto& ev : r.events) starts += ev["event"] == "start" ? 1u : 0u;
    CHECK(starts == 1); // one scan, not one per pause
}

TEST_CASE("ipfixprobe session: its records as an IPFIX file give the events of the CSV, exactly") {
    SIPDETECT_REQUIRE_SHARED_FILE(csv, "ipfixprobe/sip.unirec.csv");
    std::vector<sipdetect_cli::input_record> records;
    {
        auto reader = sipdetect_cli::open_reader(csv);
        for (sipdetect_cli::input_record r; reader->next(r);) records.push_back(r);
    }
    REQUIRE(records.size() == 40);
    const auto ipfix = std::filesystem::temp_directory_path() / ("sipdetect_e2e_" + std::to_string(::getpid()) + ".ipfix");
    {
        const std::string bytes = ipfix_writer::ipfixprobe_file(records);
        std::ofstream out(ipfix, std::ios::binary);
        out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    }
    for (const char* threshold : {"4", "5"}) {
        INFO("threshold " << threshold);
        const auto a = run_on(csv, std::string("--threshold ") + threshold);
        const auto b = run_on(ipfix, std::string("--threshold ") + threshold);
        CHECK(b.exit_code == 0);
        REQUIRE_FALSE(a.events.empty());
        CHECK(a.events == b.events); // every field of every event, times included
    }
    const std::string stats = cli_stderr("--stats " + quoted(ipfix.string()));
    CHECK(stats.find("input: 40 records, 0 packets, 40 SIP messages, 0 not SIP, 0 malformed, 0 ICMP skipped, "
                     "0 records or lines without a SIP message\n") != std::string::npos);
    CHECK(stats.find("ipfix: 3 messages, 1 templates, 0 data sets without a template, 0 sets of reserved ids\n") !=
          std::string::npos);
    CHECK(cli_stderr("--stats " + quoted(csv.string())).find("ipfix:") == std::string::npos);
    std::filesystem::remove(ipfix);
}

TEST_CASE("ipfixprobe session: the capture and its CSV give the same events, at each threshold") {
    SIPDETECT_REQUIRE_SHARED_FILE(pcap, "ipfixprobe/sip.pcap");
    SIPDETECT_REQUIRE_SHARED_FILE(csv, "ipfixprobe/sip.unirec.csv");
    for (const char* threshold : {"4", "5", "9", "10"}) {
        INFO("threshold " << threshold);
        const auto a = run_on(pcap, std::string("--threshold ") + threshold);
        const auto b = run_on(csv, std::string("--threshold ") + threshold);
        CHECK(a.exit_code == 0);
        CHECK(b.exit_code == 0);
        const auto fa = finals(a);
        const auto fb = finals(b);
        CHECK(keys_of(fa) == keys_of(fb));
        for (const auto& [key, e] : fa) {
            if (!fb.count(key)) continue;
            for (const char* field : {"event", "kind", "hosts", "users", "targets", "requests", "successful_targets", "sample"})
                CHECK(e[field] == fb.at(key)[field]);
        }
        const std::string t = threshold;
        if (t == "4") {
            REQUIRE(keys_of(fa) == std::set<std::string>{"sipscan 147.32.77.113 invite", "sipscan 147.32.77.113 register"});
            const auto& inv = fa.at("sipscan 147.32.77.113 invite");
            CHECK(inv["kind"] == "horizontal");
            CHECK(inv["targets"] == 9);
            CHECK(inv["hosts"] == 3);
            const auto& reg = fa.at("sipscan 147.32.77.113 register");
            CHECK(reg["kind"] == "vertical");
            CHECK(reg["users"] == 4);
            std::map<std::string, std::string> answers;
            for (const auto& t2 : reg["sample"]) answers[t2["user"].get<std::string>()] = t2["answer"].get<std::string>();
            // Four users probed; the first is counted but not in the sample (README "Events").
            CHECK(reg["successful_targets"] == 1);
            REQUIRE(answers.size() == 3);
            CHECK(answers["6001"] == "2xx");
            for (const auto& [user, answer] : answers) {
                CHECK((user == "3241636936" || user == "6000" || user == "6001" || user == "6002"));
                if (user != "6001") CHECK(answer == "error");
            }
        } else if (t == "10") {
            CHECK(fa.empty());
        } else {
            CHECK(keys_of(fa) == std::set<std::string>{"sipscan 147.32.77.113 invite"});
        }
    }
}

TEST_CASE("ipfixprobe session: its Ethernet and raw IP halves and 802.11 frames in one pcapng give its events") {
    SIPDETECT_REQUIRE_SHARED_FILE(pcap, "ipfixprobe/sip.pcap");
    if (std::system("command -v mergecap >/dev/null 2>&1 && command -v editcap >/dev/null 2>&1") != 0) {
        if (in_ci()) FAIL("mergecap/editcap missing in CI: cmake/install-debian-deps.sh installs them");
        WARN("SKIPPED: mergecap/editcap not found (Debian package wireshark-common)");
        return;
    }
    const auto dir = std::filesystem::temp_directory_path() / ("sipdetect_e2e_pcapng_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    const auto ethernet = dir / "ethernet.pcap", raw = dir / "raw.pcap", wifi = dir / "wifi.pcap",
               merged = dir / "merged.pcapng";
    {
        // Two 802.11 frames (LINKTYPE 105), which the program does not decode.
        std::string bytes("\xd4\xc3\xb2\xa1\x02\x00\x04\x00\0\0\0\0\0\0\0\0\xff\xff\0\0\x69\0\0\0", 24);
        for (int i = 0; i < 2; ++i) bytes += std::string("\x00\x10\x5e\x5a\0\0\0\0\x1e\0\0\0\x1e\0\0\0", 16) + std::string(30, '\0');
        std::ofstream(wifi, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    }
    // Packets 1-29 stay Ethernet, 30-50 lose their Ethernet header and become raw IP.
    const std::string command = "editcap -r " + quoted(pcap.string()) + " " + quoted(ethernet.string()) +
                                " 1-29 && editcap -T rawip -C 14 -r " + quoted(pcap.string()) + " " +
                                quoted(raw.string()) + " 30-50 && mergecap -w " + quoted(merged.string()) + " " +
                                quoted(ethernet.string()) + " " + quoted(raw.string()) + " " + quoted(wifi.string());
    INFO(command);
    REQUIRE(std::system(command.c_str()) == 0);
    for (const char* threshold : {"4", "5"}) {
        INFO("threshold " << threshold);
        const auto whole = run_on(pcap, std::string("--threshold ") + threshold);
        const auto mixed = run_on(merged, std::string("--threshold ") + threshold);
        CHECK(mixed.exit_code == 0);
        REQUIRE_FALSE(whole.events.empty());
        CHECK(mixed.events == whole.events); // every field of every event, times included
    }
    const std::string stats = cli_stderr("--stats " + quoted(merged.string()));
    CHECK(stats.find("input: 40 records, 52 packets, 40 SIP messages") != std::string::npos);
    CHECK(stats.find("pcapng: 2 packets skipped: their interface's link type is not decoded\n") != std::string::npos);
    CHECK(cli_stderr("--stats " + quoted(pcap.string())).find("pcapng:") == std::string::npos);
    std::filesystem::remove_all(dir);
}

TEST_CASE("lab sipvicious scan: four scans, the relaying proxy is not the scanner") {
    SIPDETECT_REQUIRE_SHARED_FILE(file, "lab/live-sipvicious-scan.pcap");
    const auto r = run_on(file);
    CHECK(r.exit_code == 0);
    const auto f = finals(r);
    REQUIRE(keys_of(f) == std::set<std::string>{"sipscan 127.0.0.1 invite", "sipscan 127.0.0.1 register",
                                                "sipscan 127.0.0.66 invite", "sipscan 127.0.0.66 options"});
    CHECK(f.at("sipscan 127.0.0.66 options")["kind"] == "horizontal");
    CHECK(f.at("sipscan 127.0.0.66 options")["hosts"] == 20);
    CHECK(f.at("sipscan 127.0.0.66 invite")["kind"] == "horizontal");
    CHECK(f.at("sipscan 127.0.0.66 invite")["hosts"] == 20);
    const auto& reg = f.at("sipscan 127.0.0.1 register");
    CHECK(reg["kind"] == "vertical");
    CHECK(reg["hosts"] == 1);
    CHECK(reg["users"].get<int>() >= 110); // 100-199, 12 names and the random probes
    CHECK(reg["sample"][0]["host"] == "127.0.0.20");
    const auto& inv = f.at("sipscan 127.0.0.1 invite");
    CHECK(inv["kind"] == "vertical");
    CHECK(inv["users"].get<int>() >= 21);
    CHECK(inv["sample"][0]["host"] == "127.0.0.10"); // probing through the proxy
}

TEST_CASE("lab svmap sweep: horizontal OPTIONS over 254 hosts, REGISTER over 50, vertical REGISTER of 42 users") {
    SIPDETECT_REQUIRE_SHARED_FILE(file, "lab/live-svmap-horizontal.pcap");
    const auto r = run_on(file);
    CHECK(r.exit_code == 0);
    const auto f = finals(r);
    REQUIRE(keys_of(f) == std::set<std::string>{"sipscan 127.0.0.1 register", "sipscan 127.0.0.88 options",
                                                "sipscan 127.0.0.88 register"});
    CHECK(f.at("sipscan 127.0.0.88 options")["hosts"] == 254);
    CHECK(f.at("sipscan 127.0.0.88 options")["kind"] == "horizontal");
    CHECK(f.at("sipscan 127.0.0.88 register")["hosts"] == 50);
    CHECK(f.at("sipscan 127.0.0.88 register")["kind"] == "horizontal");
    CHECK(f.at("sipscan 127.0.0.1 register")["users"] == 42);
    CHECK(f.at("sipscan 127.0.0.1 register")["kind"] == "vertical");
}

TEST_CASE("lab kamailio: proxies .10 and .20, no scan") {
    SIPDETECT_REQUIRE_SHARED_FILE(file, "lab/live-proxy-kamailio.pcap");
    const auto r = run_on(file);
    CHECK(r.exit_code == 0);
    const auto f = finals(r);
    CHECK(keys_of(f) == std::set<std::string>{"sipproxy 127.0.0.10 general", "sipproxy 127.0.0.20 general"});
    for (const auto& [k, e] : f) {
        CHECK(e["event"] == "new_proxy");
        CHECK(e["answers_judged"] == true);
    }
    CHECK(f.at("sipproxy 127.0.0.10 general")["max_via"] == 2);
    CHECK(f.at("sipproxy 127.0.0.20 general")["max_via"] == 3);
    CHECK(f.at("sipproxy 127.0.0.20 general")["peers"] == nlohmann::json::array({"127.0.0.40"}));
    // During a ClosedSeason they are learned silently, and --learned-proxies lists them.
    CHECK(run_on(file, "--closed-season 1").events.empty());
    const std::string in_training = cli_stderr("--closed-season 1 --learned-proxies " + quoted(file.string()));
    CHECK(in_training.find(" sipproxy learned_proxy 127.0.0.10 first_seen=2026-11-21T22:43:18.158796Z ") !=
          std::string::npos);
    const std::size_t second_proxy = in_training.find(" sipproxy learned_proxy 127.0.0.20 ");
    const std::size_t season_hint = in_training.find("2 proxies were learned silently");
    REQUIRE(second_proxy != std::string::npos);
    REQUIRE(season_hint != std::string::npos);
    CHECK(second_proxy < season_hint);
    CHECK(in_training.find("learned_in_training=false") == std::string::npos);
    const std::string after = cli_stderr("--closed-season 0 --learned-proxies " + quoted(file.string()));
    CHECK(after.find(" sipproxy learned_proxy 127.0.0.10 ") != std::string::npos);
    CHECK(after.find("learned_in_training=true") == std::string::npos);
    // With --json the baseline lines are JSON objects too, told from events by "baseline".
    const std::string as_json = cli_stderr("--json --closed-season 1 --learned-proxies " + quoted(file.string()));
    std::vector<nlohmann::json> baseline;
    std::istringstream lines(as_json);
    for (std::string line; std::getline(lines, line);)
        if (!line.empty() && line.front() == '{') baseline.push_back(nlohmann::json::parse(line));
    REQUIRE(baseline.size() == 2);
    CHECK(baseline[0]["baseline"] == "learned_proxy");
    CHECK(baseline[0]["source"] == "127.0.0.10");
    CHECK(baseline[0]["first_seen"] == "2026-11-21T22:43:18.158796Z");
    CHECK(baseline[0]["learned_in_training"] == true);
    CHECK(baseline[1]["source"] == "127.0.0.20");
}

TEST_CASE("the bundled demo shows a horizontal scan, a vertical scan and a new proxy") {
    const auto r = run_on(std::filesystem::path(SIPDETECT_SOURCE_DIR) / "examples/data/demo.pcap");
    CHECK(r.exit_code == 0);
    const auto f = finals(r);
    CHECK(keys_of(f) == std::set<std::string>{"sipproxy 127.0.0.10 general", "sipscan 127.0.0.1 register",
                                              "sipscan 127.0.0.66 options"});
    CHECK(f.at("sipscan 127.0.0.66 options")["kind"] == "horizontal");
    CHECK(f.at("sipscan 127.0.0.66 options")["hosts"] == 30);
    CHECK(f.at("sipscan 127.0.0.1 register")["kind"] == "vertical");
    CHECK(f.at("sipscan 127.0.0.1 register")["users"] == 31);
}

TEST_CASE("legitimate, malformed and sub-threshold captures: zero events and a clean exit") {
    for (const char* name :
         {"initconf-sip-attacks/BadUserAgent-sipvicious.pcap", "initconf-sip-attacks/SIP-3700-unauthorized-401.pcap",
          "lab/live-register-flood.pcap", "ndpi/sip_hello.pcapng", "sipnab/DTMFsipinfo.pcap",
          "sipnab/b2bua-asterisk.pcapng", "sipnab/c07-sip-r2.cap", "sipnab/metasploit-sip-invite-spoof.pcap",
          "sipnab/sip-auth-failure.pcapng", "sipnab/sip-over-tcp.pcap", "sipnab/sip-proxy.pcap",
          "sipnab/sip-register.pcap", "sipnab/sip-routing-error.pcapng", "sipnab/sip-sdp-example.pcap",
          "suricata-verify/public-cloudshark-sip-s0.pcap", "suricata-verify/sip-body-large.pcap",
          "suricata-verify/sip-options-method.pcap", "suricata-verify/sip-pattern-matching.pcap",
          "suricata-verify/sip-sdp.pcap", "suricata-verify/sip-tcp-pattern-matching.pcap",
          "suricata-verify/sip-tcp.pcap", "suricata-verify/sip_compact_form.pcap",
          "suricata-verify/sip_header_multi_val.pcap", "zeek/invalid-content-length.pcap", "zeek/junk.sip.log",
          "zeek/sip-junk-before-request.pcap", "zeek/sip-long-request-response-paths.pcap", "zeek/wireshark.pcap",
          "zeek/wireshark.sip.log"}) {
        INFO(name);
        SIPDETECT_REQUIRE_SHARED_FILE(file, name);
        const auto r = run_on(file);
        CHECK(r.exit_code == 0);
        CHECK(r.events.empty());
    }
}

TEST_CASE("every file in ../shared/data is covered by a test above") {
    const auto dir = shared_data_dir();
    if (!std::filesystem::exists(dir)) {
        if (in_ci()) FAIL("missing " << dir);
        WARN("SKIPPED: " << dir << " not found");
        return;
    }
    const std::set<std::string> covered{
        "initconf-sip-attacks/SIP-212.32.250.134.pcap", "initconf-sip-attacks/SIP-Bruteforce-Single-IP.pcap",
        "ipfixprobe/sip.pcap", "ipfixprobe/sip.unirec.csv", "lab/live-sipvicious-scan.pcap",
        "lab/live-svmap-horizontal.pcap", "lab/live-proxy-kamailio.pcap",
        // Zeek's notice logs are context, not SIP input: the program refuses them by name (see below).
        "initconf-sip-attacks/sip-attacks.BadUserAgent-sipvicious.notice.log",
        "initconf-sip-attacks/sip-attacks.SIP-3700-unauthorized-401.notice.log", "README.md", "SHA256SUMS.txt"};
    std::size_t uncovered = 0;
    for (const auto& entry : std::filesystem::recursive_directory_iterator(dir)) {
        if (!entry.is_regular_file()) continue;
        const std::string rel = std::filesystem::relative(entry.path(), dir).generic_string();
        if (covered.count(rel)) continue;
        // The zero-event list above must name it.
        const auto r = run_on(entry.path());
        INFO(rel);
        CHECK(r.exit_code == 0);
        CHECK(r.events.empty());
        ++uncovered;
    }
    CHECK(uncovered == 29);
}

TEST_CASE("a Zeek notice log is refused with a message that names it, exit status 1") {
    SIPDETECT_REQUIRE_SHARED_FILE(file, "initconf-sip-attacks/sip-attacks.BadUserAgent-sipvicious.notice.log");
    const auto r = run_on(file);
    CHECK(r.exit_code == 1);
    CHECK(r.events.empty());
}
