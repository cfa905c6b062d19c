// End to end: the sipdetect program on every capture and log in
// ../shared/data and on the bundled demo, checked against the ground truth
// in ../shared/data/README.md.
#include "catch.hpp"

#include "cli_runner.hpp"
#include "ipfix_writer.hpp"
#include "sipdetect/readers.hpp"

#include <sipdetect/detail/flat_table.hpp>
#include <sipdetect/scan_detector.hpp>

#include <nlohmann/json.hpp>

#include <cstdio>
#include <cstdlib>
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <system_error>
#include <string>
#include <sys/wait.h>
#include <unistd.h>
#include <utility>
#include <vector>

namespace {

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

// One Zeek sip.log (TSV) request line: seconds, source, destination, method and From user.
struct zeek_request {
    std::string ts, from_host, to_host, method, from_user;
};

void write_zeek_log(const std::filesystem::path& path, const std::vector<zeek_request>& requests) {
    std::ofstream out(path);
    out << "#separator \\x09\n#path\tsip\n#fields\tts\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tmethod\turi\t"
           "request_from\trequest_to\n";
    for (const zeek_request& r : requests)
        out << r.ts << '\t' << r.from_host << "\t5060\t" << r.to_host << "\t5060\t" << r.method << "\tsip:100@"
            << r.to_host << "\tsip:" << r.from_user << "@example.com\tsip:100@" << r.to_host << '\n';
}

// One detector at a cap of one source: C is evicted by A, A scans (3 hosts,
// an active scan from the poll after its third request) and crosses the
// proxy minimum of 2 From URIs, so B, arriving while A is active and awaiting
// its verdict, is refused by both detectors; FOO is no method.
const std::vector<zeek_request> capped_run{
    {"1700000999.0", "10.0.0.3", "10.0.1.1", "OPTIONS", "c"},
    {"1700001000.0", "10.0.0.1", "10.0.1.1", "OPTIONS", "a1"},
    {"1700001000.1", "10.0.0.1", "10.0.1.2", "OPTIONS", "a2"},
    {"1700001001.0", "10.0.0.1", "10.0.1.3", "OPTIONS", "a1"},
    {"1700001001.5", "10.0.0.2", "10.0.1.1", "OPTIONS", "b"},
    {"1700001001.6", "10.0.0.1", "10.0.1.4", "FOO", "a1"},
};
const std::string capped_options = "--max-tracked 1 --threshold 2 --proxy-min-uris 2 --closed-season 0 ";

// Usage errors: the exit status and what the program says.
std::pair<int, std::string> usage(const std::string& args) { return run_program(args, "2>&1 >/dev/null"); }

} // namespace

TEST_CASE("the --stats output names every drop and refusal of both detectors") {
    scratch_file log("capped.log");
    write_zeek_log(log.path(), capped_run);
    const std::string err = cli_stderr("--stats " + capped_options + log.arg());
    INFO(err);
    CHECK(err.find("input: 6 records, 0 packets, 6 SIP messages, 0 not SIP, 0 malformed, 0 ICMP skipped, "
                   "0 records or lines without a SIP message\n") != std::string::npos);
    CHECK(err.find("input skipped: 0 frames not IP, 0 IP fragments, 0 other transports, 0 truncated packets, "
                   "0 empty payloads; 0 SIP fields cut, 0 bad timestamps read as the epoch\n") != std::string::npos);
    // B's refused request counts toward nothing; the flush at the end ends A's scan and forgets the sources.
    CHECK(err.find("sipscan: 6 records, 4 requests counted, 0 responses matched, 0 relayed ignored, 0 filtered; "
                   "dropped: 0 malformed, 0 late, 0 future; sources: 0 tracked, 1 evicted (0 with progress), "
                   "1 rejected, 0 expired; 1 scans started, 1 ended; ") != std::string::npos);
    CHECK(err.find("sipproxy: 6 records, 0 filtered; dropped: 1 malformed, 0 late, 0 future; candidates: ") !=
          std::string::npos);
    CHECK(err.find(" now, 1 evicted, 1 rejected, 0 expired; proxies: ") != std::string::npos);
    CHECK(err.find("out of time order") == std::string::npos);
    CHECK(err.find("were dropped") == std::string::npos);
}

TEST_CASE("records older than a saved state's newest minus max_lateness are dropped, counted and announced") {
    scratch_file log("capped.log"), old_log("two-hours-earlier.log"), state("state");
    write_zeek_log(log.path(), capped_run);
    write_zeek_log(old_log.path(), {{"1699993801.0", "10.0.0.5", "10.0.1.1", "OPTIONS", "d"},
                                    {"1699993801.5", "10.0.0.5", "10.0.1.2", "OPTIONS", "d"},
                                    {"1699993802.0", "10.0.0.5", "10.0.1.3", "OPTIONS", "d"}});
    const std::string with_state = capped_options + "--state " + state.arg() + " ";
    CHECK(cli_stderr(with_state + log.arg()).find("were dropped") == std::string::npos);
    const std::string notice = "sipdetect: records older than the newest record time minus 1 h (max_lateness) were "
                               "dropped, not analysed: 3 by sipscan, 3 by sipproxy\n";
    // A's scan and its proxy verdict stay pending in the state.
    const std::string saved = "sipdetect: " + state.path().string() +
                              ": saved; open scans: 1, pending proxy verdicts: 1, open campaigns: 0 (the next run with --state continues "
                              "them; --flush closes and reports them)\n";
    CHECK(cli_stderr(with_state + old_log.arg()) == saved + notice);
    // The counters saved in the state add up across runs; the notice speaks of this run.
    const std::string again = cli_stderr("--stats " + with_state + old_log.arg());
    INFO(again);
    CHECK(again.find(notice) != std::string::npos);
    CHECK(again.find("sipscan: 12 records, ") != std::string::npos);
    CHECK(again.find("; dropped: 0 malformed, 6 late, 0 future; sources: ") != std::string::npos);
    CHECK(again.find("sipproxy: 12 records, 0 filtered; dropped: 1 malformed, 6 late, 0 future; ") !=
          std::string::npos);
}

TEST_CASE("records beyond the reorder window are analysed where they come, or dropped when too late, and said so") {
    // Requests 10 ms apart, then two that belong far back: one two hours
    // before the first (late for the detectors), one a second after it.
    const std::size_t window = sipdetect_cli::time_ordered_stream::window_for(1);
    std::vector<zeek_request> requests;
    for (std::size_t i = 0; i < window + 5000; ++i)
        requests.push_back({std::to_string(1700000000 + i / 100) + "." + std::to_string(i % 100 + 100).substr(1),
                            "10.0.0.9", "10.0.1.1", "OPTIONS", "e"});
    requests.push_back({"1699992800.0", "10.0.0.9", "10.0.1.1", "OPTIONS", "e"});
    requests.push_back({"1700000001.0", "10.0.0.9", "10.0.1.1", "OPTIONS", "e"});
    scratch_file log("disordered.log");
    write_zeek_log(log.path(), requests);
    const std::string err = cli_stderr("--stats " + log.arg());
    INFO(err);
    CHECK(err.find("sipdetect: 2 records came more than " + std::to_string(window) +
                   " records (the reorder window) out of time order in their file: they were analysed where they "
                   "came, after later records; records less out of order were put in time order first\n") !=
          std::string::npos);
    CHECK(err.find("sipdetect: records older than the newest record time minus 1 h (max_lateness) were dropped, not "
                   "analysed: 1 by sipscan, 1 by sipproxy\n") != std::string::npos);
    CHECK(err.find("sipscan: " + std::to_string(window + 5002) + " records, ") != std::string::npos);
    CHECK(err.find("; dropped: 0 malformed, 1 late, 0 future; sources: ") != std::string::npos);
}

TEST_CASE("option limits are the library's, and a raised max_distinct is announced") {
    scratch_file log("capped.log");
    write_zeek_log(log.path(), capped_run);
    const std::uint32_t max_distinct = sipdetect::scan_config{}.max_distinct;
    const std::string above = std::to_string(max_distinct + 1);
    CHECK(cli_stderr("--threshold " + above + " " + log.arg()) ==
          "sipdetect: --threshold " + above + " is above max_distinct " + std::to_string(max_distinct) +
              ", where the distinct targets of a source stop being counted: max_distinct raised to " + above +
              " (more memory per scanning source)\n");
    CHECK(cli_stderr("--threshold " + std::to_string(max_distinct) + " " + log.arg()).empty());
    // The last --threshold decides.
    CHECK(cli_stderr("--threshold " + above + " --threshold 5 " + log.arg()).empty());

    const std::string most = std::to_string(sipdetect::detail::max_table_entries);
    CHECK(usage("--max-tracked " + most + " " + log.arg()).first == 0);
    CHECK(usage("--max-tracked " + std::to_string(sipdetect::detail::max_table_entries + 1) + " " + log.arg()) ==
          std::pair<int, std::string>{2, "sipdetect: --max-tracked: scan_config.max_tracked must be between 1 and " + most +
                                             "\nTry 'sipdetect --help'.\n"});
    const auto [status, text] = usage("--threshold 2000000 " + log.arg());
    CHECK(status == 2);
    CHECK(text.find("sipdetect: --threshold 2000000 (which raises max_distinct to it): scan_config.max_distinct must be "
                    "between 1 and 1048576") == 0);
    CHECK(usage("--proxy-min-uris 1 " + log.arg()) ==
          std::pair<int, std::string>{2, "sipdetect: --proxy-min-uris: proxy_config.min_uris must be between 2 and 1048576\n"
                                         "Try 'sipdetect --help'.\n"});
    CHECK(usage("--time-to-death 0 " + log.arg()).first == 2);
    CHECK(usage("--threshold -1 " + log.arg()).second.find("--threshold expects a whole number, not \"-1\"") !=
          std::string::npos);
}

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
    const std::vector<nlohmann::json> baseline = json_lines(as_json, true);
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

// What an analyst reads off a run: every event's detector, phase, source, submethod and kind, in order.
std::vector<std::string> event_summary(const run_result& r) {
    std::vector<std::string> out;
    for (const auto& e : r.events)
        out.push_back(e["detector"].get<std::string>() + " " + e.value("event", std::string()) + " " +
                      e["source"].get<std::string>() + " " + e["submethod"].get<std::string>() + " " +
                      e.value("kind", std::string()));
    return out;
}

// ipfixprobe's IPFIX export of each capture, collected by ipfixcol2, and the capture it was made from.
const std::vector<std::pair<std::string, std::string>> ipfix_exports{
    {"ipfix/BadUserAgent-sipvicious.ipfix", "initconf-sip-attacks/BadUserAgent-sipvicious.pcap"},
    {"ipfix/SIP-212.32.250.134.ipfix", "initconf-sip-attacks/SIP-212.32.250.134.pcap"},
    {"ipfix/SIP-3700-unauthorized-401.ipfix", "initconf-sip-attacks/SIP-3700-unauthorized-401.pcap"},
    {"ipfix/SIP-Bruteforce-Single-IP.ipfix", "initconf-sip-attacks/SIP-Bruteforce-Single-IP.pcap"},
    {"ipfix/live-proxy-kamailio.ipfix", "lab/live-proxy-kamailio.pcap"},
    {"ipfix/live-register-flood.ipfix", "lab/live-register-flood.pcap"},
    {"ipfix/live-sipvicious-scan.ipfix", "lab/live-sipvicious-scan.pcap"},
    {"ipfix/live-svmap-horizontal.ipfix", "lab/live-svmap-horizontal.pcap"},
    {"ipfix/sip.ipfix", "ipfixprobe/sip.pcap"},
};

TEST_CASE("each real IPFIX export gives the scans and proxies of its capture") {
    std::size_t with_events = 0;
    for (const auto& [exported, capture] : ipfix_exports) {
        SIPDETECT_REQUIRE_SHARED_FILE(ipfix, exported);
        SIPDETECT_REQUIRE_SHARED_FILE(pcap, capture);
        for (const std::string options : {"--closed-season 0", "--closed-season 0 --threshold 4"}) {
            INFO(exported << " " << options);
            const run_result from_ipfix = run_on(ipfix, options);
            const run_result from_pcap = run_on(pcap, options);
            CHECK(from_ipfix.exit_code == 0);
            CHECK(from_pcap.exit_code == 0);
            CHECK(event_summary(from_ipfix) == event_summary(from_pcap));
            if (!from_ipfix.events.empty()) ++with_events;
        }
    }
    CHECK(with_events >= 9); // the lab scans and proxies, SIP-212, the brute force, sip.pcap at threshold 4
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
        "initconf-sip-attacks/sip-attacks.SIP-3700-unauthorized-401.notice.log", "README.md", "SHA256SUMS.txt",
        "ipfix/README.md"};
    std::size_t uncovered = 0;
    for (const auto& entry : std::filesystem::recursive_directory_iterator(dir)) {
        if (!entry.is_regular_file()) continue;
        const std::string rel = std::filesystem::relative(entry.path(), dir).generic_string();
        if (covered.count(rel)) continue;
        if (std::any_of(ipfix_exports.begin(), ipfix_exports.end(), [&](const auto& e) { return e.first == rel; }))
            continue;
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

TEST_CASE("live options: what the command line refuses, and root without --user") {
    CHECK(usage("--checkpoint 5 x.pcap") == std::pair<int, std::string>{2, "sipdetect: --checkpoint needs --state\n"
                                                                           "Try 'sipdetect --help'.\n"});
    CHECK(usage("--bpf udp x.pcap").second.find("--bpf and --promiscuous apply to -i") != std::string::npos);
    CHECK(usage("--promiscuous x.pcap").first == 2);
    CHECK(usage("-i lo x.pcap").second.find("files and live inputs (-i, --ipfix-listen, --follow) cannot be read in one run") !=
          std::string::npos);
    CHECK(usage("-i lo --status-interval 1.5").second.find("--status-interval expects a whole number, not \"1.5\"") !=
          std::string::npos);
    CHECK(usage("--interface").second.find("--interface needs a value") != std::string::npos);
    if (::geteuid() == 0) {
        // Refused before the capture is opened: the interface need not exist.
        const auto [status, text] = usage("-i no-such-interface0");
        CHECK(status == 2);
        CHECK(text.find("refusing to read live input as root: give --user NAME") != std::string::npos);
        const auto [opened, why] = usage("-i no-such-interface0 --allow-root");
        CHECK(opened == 1);
        CHECK(why.starts_with("sipdetect: no-such-interface0: No such device exists"));
    }
}
TEST_CASE("lab scanners whose From follows the target are scanners, not proxies") {
    // Ours: tests/data/lab/make-scanner-not-proxy.sh made them.
    const auto lab = std::filesystem::path(SIPDETECT_SOURCE_DIR) / "tests/data/lab";
    const auto v6 = finals(run_on(lab / "svmap-ipv6-options.pcap"));
    REQUIRE(keys_of(v6) == std::set<std::string>{"sipscan fd00:5ec::66 options"});
    CHECK(v6.at("sipscan fd00:5ec::66 options")["kind"] == "horizontal");
    CHECK(v6.at("sipscan fd00:5ec::66 options")["hosts"] == 30);
    CHECK(v6.at("sipscan fd00:5ec::66 options")["successful_targets"] == 30);
    CHECK(v6.at("sipscan fd00:5ec::66 options")["tool"] == "sipvicious");
    const auto v4 = finals(run_on(lab / "sipp-from-follows-target.pcap"));
    REQUIRE(keys_of(v4) == std::set<std::string>{"sipscan 127.0.0.77 options", "sipscan 127.0.0.78 options"});
    CHECK(v4.at("sipscan 127.0.0.77 options")["kind"] == "horizontal");
    CHECK(v4.at("sipscan 127.0.0.77 options")["hosts"] == 30);
    CHECK(v4.at("sipscan 127.0.0.78 options")["kind"] == "vertical");
    CHECK(v4.at("sipscan 127.0.0.78 options")["users"] == 30);
    // With SIPSCAN's threshold out of reach nothing holds them as scanners:
    // the From rule alone keeps them from being proxies.
    for (const char* name : {"svmap-ipv6-options.pcap", "sipp-from-follows-target.pcap"}) {
        INFO(name);
        const auto r = run_on(lab / name, "--closed-season 0 --threshold 1000");
        CHECK(r.exit_code == 0);
        CHECK(r.events.empty());
    }
}

TEST_CASE("with --flush a --state run ends as a run without --state does, and the saved state's pending work is counted") {
    scratch_file log("capped.log"), state("state"), second_state("second-state"), fresh("fresh-state"),
        fresh_for_stats("fresh-state-stats");
    write_zeek_log(log.path(), capped_run);
    const run_result plain = run_cli(capped_options + log.arg());
    // A's scan start and end; A crossed the proxy minimum too, but it is a scanner, so not a proxy.
    REQUIRE(plain.events.size() == 2);
    // --state alone: A's scan stays open and its proxy verdict pending, and stderr says so.
    const auto [kept_status, kept_err] = run_program(capped_options + "--state " + state.arg() + " " + log.arg(),
                                                     "2>&1 >/dev/null");
    CHECK(kept_status == 0);
    CHECK(kept_err == "sipdetect: " + state.path().string() +
                          ": saved; open scans: 1, pending proxy verdicts: 1, open campaigns: 0 (the next run with --state continues them; "
                          "--flush closes and reports them)\n");
    // Only A's scan start was due; its end waits for the next run.
    CHECK(run_cli(capped_options + "--state " + second_state.arg() + " " + log.arg()).events.size() == 1);
    // --flush: the events of the run without --state, and nothing left pending.
    const run_result flushed = run_cli(capped_options + "--flush --state " + fresh.arg() + " " + log.arg());
    CHECK(flushed.events == plain.events);
    const std::string stats =
        cli_stderr(capped_options + "--stats --flush --state " + fresh_for_stats.arg() + " " + log.arg());
    CHECK(stats.find("sipdetect: " + fresh_for_stats.path().string() + ": saved; open scans: 0, pending proxy verdicts: 0, open campaigns: 0\n") !=
          std::string::npos);
    CHECK(stats.find("left pending: open scans: 0, pending proxy verdicts: 0, open campaigns: 0\n") != std::string::npos);
    CHECK(usage("--flush " + log.arg()) ==
          std::pair<int, std::string>{2, "sipdetect: --flush needs --state: without it every run ends its stream\n"
                                         "Try 'sipdetect --help'.\n"});
}

// ---------------------------------------------------------------------------
// SIPCAMPAIGN on our own lab captures (tests/data/lab/make-campaign-captures.sh).

namespace {

std::filesystem::path campaign_capture(const char* name) {
    return std::filesystem::path(SIPDETECT_SOURCE_DIR) / "tests/data/lab" / name;
}

std::vector<nlohmann::json> of_detector(const run_result& r, const std::string& detector) {
    std::vector<nlohmann::json> out;
    for (const auto& e : r.events)
        if (e["detector"] == detector) out.push_back(e);
    return out;
}

} // namespace

TEST_CASE("lab campaign, horizontal: 34 svmap sources of 1 to 3 probes each are one OPTIONS campaign over 50 hosts") {
    const auto r = run_on(campaign_capture("campaign-horizontal.pcap"));
    CHECK(r.exit_code == 0);
    CHECK(of_detector(r, "sipscan").empty()); // no member is a scanner of its own
    CHECK(of_detector(r, "sipproxy").empty());
    const auto campaigns = of_detector(r, "sipcampaign");
    REQUIRE(campaigns.size() >= 2);
    CHECK(campaigns.front()["event"] == "start");
    CHECK(campaigns.back()["event"] == "end");
    for (const auto& e : campaigns) CHECK(e["id"] == campaigns.front()["id"]);
    const auto& end = campaigns.back();
    CHECK(end["submethod"] == "options");
    CHECK(end["kind"] == "horizontal");
    CHECK(end["sources"] == 34);
    CHECK(end["hosts"] == 50);
    CHECK(end["targets"] == 50);
    CHECK(end["users"] == 1);
    CHECK(end["tool"] == "sipvicious");
    CHECK(end["source_sample"].size() == 10);
    CHECK(end["source_sample"][0] == "127.0.1.1");
    CHECK(end["fingerprint"].get<std::string>().find("User-Agent \"friendly-scanner\"") != std::string::npos);
}

TEST_CASE("lab campaign, vertical: 32 SIPp sources of 1 to 3 REGISTER probes are one campaign over 60 extensions") {
    const auto r = run_on(campaign_capture("campaign-vertical.pcap"));
    CHECK(r.exit_code == 0);
    CHECK(of_detector(r, "sipscan").empty());
    const auto campaigns = of_detector(r, "sipcampaign");
    REQUIRE(campaigns.size() >= 2);
    for (const auto& e : campaigns) CHECK(e["id"] == campaigns.front()["id"]);
    const auto& end = campaigns.back();
    CHECK(end["event"] == "end");
    CHECK(end["submethod"] == "register");
    CHECK(end["kind"] == "vertical");
    CHECK(end["sources"] == 32);
    CHECK(end["hosts"] == 1);
    CHECK(end["users"] == 60);
    CHECK(end["tool"] == "sippts");
    CHECK(end["fingerprint"] ==
          "register; User-Agent \"pplsip\"; From user mirrors the called user; From host mirrors the target");
}

TEST_CASE("lab campaign, legitimate: 36 phones of one User-Agent and a trunk monitor make no campaign and no scan") {
    scratch_file capture("campaign-legit.pcap");
    REQUIRE(std::system(("gzip -dc " + quoted(campaign_capture("campaign-legit.pcap.gz").string()) + " > " +
                         capture.arg())
                            .c_str()) == 0);
    const auto r = run_on(capture.path());
    CHECK(r.exit_code == 0);
    CHECK(of_detector(r, "sipcampaign").empty());
    CHECK(of_detector(r, "sipscan").empty());
    // The proxy and the registrar relay for the 36 phones: SIPPROXY's finding, not a campaign.
    CHECK(of_detector(r, "sipproxy").size() == 2);
    // Every phone's registration and call was answered 2xx: none of them is a member.
    const std::string stats = cli_stderr("--stats " + capture.arg());
    CHECK(stats.find("0 campaigns started") != std::string::npos);
    CHECK(stats.find(" 72 answered,") != std::string::npos);
}

TEST_CASE("campaign options: --no-campaigns, --campaign-threshold and --campaign-window decide") {
    const auto file = quoted(campaign_capture("campaign-horizontal.pcap").string());
    CHECK(of_detector(run_cli("--no-campaigns " + file), "sipcampaign").empty());
    CHECK(of_detector(run_cli("--campaign-threshold 51 " + file), "sipcampaign").empty());
    CHECK(!of_detector(run_cli("--campaign-threshold 50 " + file), "sipcampaign").empty());
    // Probes 4 s apart: a 10 s window never holds the five sources a campaign needs.
    CHECK(of_detector(run_cli("--campaign-window 10s " + file), "sipcampaign").empty());
    CHECK(!of_detector(run_cli("--campaign-window 5min " + file), "sipcampaign").empty());
    // A --threshold of 2 makes every source of two or more probes a scanner of its own, and no member.
    const auto low = run_cli("--threshold 2 " + file);
    CHECK(of_detector(low, "sipcampaign").empty());
    CHECK(!of_detector(low, "sipscan").empty());
    CHECK(usage("--campaign-window 10 " + file).first == 2);
    CHECK(usage("--campaign-threshold 1 " + file).first == 2);
    CHECK(cli_stderr("--stats " + file).find("sipcampaign: ") != std::string::npos);
}

// The splits fall outside the second in which a campaign starts: the
// program polls once per second of record time, and a start is reported
// with the counts of the poll that reports it.
TEST_CASE("campaign state: a capture split with --state between the pieces gives the events of one --state run") {
    if (std::system("command -v editcap >/dev/null 2>&1") != 0) {
        if (in_ci()) FAIL("editcap missing in CI: cmake/install-debian-deps.sh installs it");
        WARN("SKIPPED: editcap not found (Debian package wireshark-common)");
        return;
    }
    for (const char* name : {"campaign-horizontal.pcap", "campaign-vertical.pcap"}) {
        const std::string file = quoted(campaign_capture(name).string());
        scratch_file whole_state("whole.state");
        const auto whole = run_cli("--state " + whole_state.arg() + " " + file);
        REQUIRE(!of_detector(whole, "sipcampaign").empty());
        for (const int split : {20, 60, 100}) {
            INFO(name << " split after packet " << split);
            scratch_file first("first.pcap"), second("second.pcap"), state("split.state");
            REQUIRE(std::system(("editcap -r " + file + " " + first.arg() + " 1-" + std::to_string(split) +
                                 " && editcap " + file + " " + second.arg() + " 1-" + std::to_string(split))
                                    .c_str()) == 0);
            auto pieces = run_cli("--state " + state.arg() + " " + first.arg());
            const auto rest = run_cli("--state " + state.arg() + " " + second.arg());
            pieces.events.insert(pieces.events.end(), rest.events.begin(), rest.events.end());
            CHECK(pieces.events == whole.events);
        }
    }
}

TEST_CASE("lab campaigns: each capture's IPFIX export (real ipfixprobe and ipfixcol2) gives its events") {
    auto summary = [](const run_result& r) {
        std::vector<std::string> out;
        for (const auto& e : r.events)
            out.push_back(e["detector"].get<std::string>() + " " + e["event"].get<std::string>() + " " +
                          e.value("source", std::string()) + " " + e["submethod"].get<std::string>() + " " +
                          e.value("kind", std::string()) + " " + e.value("sources", nlohmann::json(0)).dump() + " " +
                          e.value("targets", nlohmann::json(0)).dump());
        return out;
    };
    scratch_file legit_pcap("legit.pcap"), legit_ipfix("legit.ipfix");
    REQUIRE(std::system(("gzip -dc " + quoted(campaign_capture("campaign-legit.pcap.gz").string()) + " > " +
                         legit_pcap.arg() + " && gzip -dc " +
                         quoted(campaign_capture("campaign-legit.ipfix.gz").string()) + " > " + legit_ipfix.arg())
                            .c_str()) == 0);
    const std::vector<std::pair<std::filesystem::path, std::filesystem::path>> pairs{
        {campaign_capture("campaign-horizontal.ipfix"), campaign_capture("campaign-horizontal.pcap")},
        {campaign_capture("campaign-vertical.ipfix"), campaign_capture("campaign-vertical.pcap")},
        {legit_ipfix.path(), legit_pcap.path()}};
    for (const auto& [ipfix, pcap] : pairs) {
        INFO(ipfix);
        const auto from_ipfix = run_on(ipfix);
        const auto from_pcap = run_on(pcap);
        CHECK(from_ipfix.exit_code == 0);
        CHECK(summary(from_ipfix) == summary(from_pcap));
        CHECK(!from_pcap.events.empty());
    }
}
