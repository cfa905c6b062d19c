// Continuity of --state: a stream cut into files and run piece by piece,
// with --state between the pieces, gives exactly the events of one --state
// run over the whole stream, field by field, and the same --learned-proxies
// baseline; with --flush on the last piece, exactly those of one run
// without --state. Checked with the sipdetect program on every capture in
// ../shared/data and its IPFIX export, cut into real files (editcap for
// captures, whole lines for logs; flow records, which exporters write out of
// time order, at record-time boundaries), and on a synthetic three-week
// season cut where scans and verdicts are pending.
#include "catch.hpp"

#include "cli_runner.hpp"
#include "ipfix_writer.hpp"
#include "sipdetect/readers.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <sstream>
#include <string>
#include <system_error>
#include <vector>

#include <unistd.h>

namespace {

namespace fs = std::filesystem;

// A scratch folder of this process, removed when the object goes.
class scratch_dir {
public:
    explicit scratch_dir(const std::string& name)
        : path_(fs::temp_directory_path() / ("sipdetect_continuity_" + std::to_string(::getpid()) + "_" + name)) {
        fs::remove_all(path_);
        fs::create_directories(path_);
    }
    ~scratch_dir() {
        std::error_code ec;
        fs::remove_all(path_, ec);
    }
    scratch_dir(const scratch_dir&) = delete;
    scratch_dir& operator=(const scratch_dir&) = delete;
    const fs::path& path() const { return path_; }

private:
    fs::path path_;
};

std::string read_all(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_all(const fs::path& p, const std::string& bytes) {
    std::ofstream out(p, std::ios::binary);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    REQUIRE(out.good());
}

// [begin, end) ranges of n items cut at the given fractions, empty ones left out.
std::vector<std::pair<std::size_t, std::size_t>> cut(std::size_t n, const std::vector<double>& fractions) {
    std::vector<std::size_t> at{0};
    for (double f : fractions) at.push_back(static_cast<std::size_t>(static_cast<double>(n) * f));
    at.push_back(n);
    std::vector<std::pair<std::size_t, std::size_t>> out;
    for (std::size_t i = 0; i + 1 < at.size(); ++i)
        if (at[i + 1] > at[i]) out.emplace_back(at[i], at[i + 1]);
    return out;
}

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> out;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) out.push_back(line);
    return out;
}

std::string joined(const std::vector<std::string>& lines) {
    std::string out;
    for (const auto& l : lines) out += l + "\n";
    return out;
}

// A capture cut by packet number with editcap.
std::vector<fs::path> split_capture(const fs::path& file, const std::vector<double>& fractions, const fs::path& dir) {
    const auto [status, text] = run_command("capinfos -T -r -c -M " + quoted(file.string()), "2>/dev/null");
    REQUIRE(status == 0);
    const std::size_t packets = std::stoul(text.substr(text.rfind('\t') + 1));
    std::vector<fs::path> out;
    for (const auto& [begin, end] : cut(packets, fractions)) {
        const fs::path piece = dir / ("piece" + std::to_string(out.size()) + file.extension().string());
        const std::string command = "editcap -r " + quoted(file.string()) + " " + quoted(piece.string()) + " " +
                                    std::to_string(begin + 1) + "-" + std::to_string(end);
        INFO(command);
        REQUIRE(run_command(command, "2>&1").first == 0);
        out.push_back(piece);
    }
    return out;
}

// A Zeek log cut by line, each piece with the header ("#" lines).
std::vector<fs::path> split_zeek_log(const fs::path& file, const std::vector<double>& fractions, const fs::path& dir) {
    std::vector<std::string> header, data, trailer;
    for (const std::string& line : lines_of(read_all(file))) {
        if (!line.empty() && line[0] == '#') (data.empty() ? header : trailer).push_back(line);
        else data.push_back(line);
    }
    std::vector<fs::path> out;
    for (const auto& [begin, end] : cut(data.size(), fractions)) {
        std::vector<std::string> piece = header;
        piece.insert(piece.end(), data.begin() + static_cast<std::ptrdiff_t>(begin),
                     data.begin() + static_cast<std::ptrdiff_t>(end));
        piece.insert(piece.end(), trailer.begin(), trailer.end());
        out.push_back(dir / ("piece" + std::to_string(out.size()) + file.extension().string()));
        write_all(out.back(), joined(piece));
    }
    return out;
}

// Flow records (ipfixprobe CSV or IPFIX): an exporter writes a flow when it
// ends, so its files are not in record-time order, and one run puts them in
// order within its reorder window. They are cut where a stream cut into files
// by time is: at record times. Each piece keeps the file's order; a CSV
// piece keeps the template line that ends the file, an IPFIX piece is
// written anew (ipfix_writer), and so is the whole it is compared with.
struct flow_split {
    std::vector<fs::path> whole, pieces;
};

flow_split split_flow_records(const fs::path& file, const std::vector<double>& fractions, const fs::path& dir) {
    std::vector<sipdetect_cli::input_record> records;
    {
        auto reader = sipdetect_cli::open_reader(file);
        for (sipdetect_cli::input_record r; reader->next(r);) records.push_back(r);
    }
    std::vector<sipdetect::record_time> times;
    for (const auto& r : records) times.push_back(r.time);
    std::sort(times.begin(), times.end());
    std::vector<sipdetect::record_time> bounds;
    for (const auto& [begin, end] : cut(times.size(), fractions))
        if (begin > 0 && (bounds.empty() || times[begin] > bounds.back())) bounds.push_back(times[begin]);
    const auto piece_of = [&](sipdetect::record_time t) {
        return static_cast<std::size_t>(std::upper_bound(bounds.begin(), bounds.end(), t) - bounds.begin());
    };
    flow_split out;
    const std::size_t count = bounds.size() + 1;
    if (file.extension() == ".csv") {
        std::vector<std::string> lines = lines_of(read_all(file));
        REQUIRE(lines.size() == records.size() + 1); // one record a line, then the template
        std::vector<std::vector<std::string>> pieces(count);
        for (std::size_t i = 0; i < records.size(); ++i) pieces[piece_of(records[i].time)].push_back(lines[i]);
        for (auto& piece : pieces) {
            piece.push_back(lines.back());
            out.pieces.push_back(dir / ("piece" + std::to_string(out.pieces.size()) + ".csv"));
            write_all(out.pieces.back(), joined(piece));
        }
        out.whole = {file};
        return out;
    }
    std::vector<std::vector<sipdetect_cli::input_record>> pieces(count);
    for (const auto& r : records) pieces[piece_of(r.time)].push_back(r);
    for (const auto& piece : pieces) {
        out.pieces.push_back(dir / ("piece" + std::to_string(out.pieces.size()) + ".ipfix"));
        write_all(out.pieces.back(), ipfix_writer::ipfixprobe_file(piece));
    }
    out.whole = {dir / "whole.ipfix"};
    write_all(out.whole[0], ipfix_writer::ipfixprobe_file(records));
    return out;
}

flow_split split_file(const fs::path& file, const std::vector<double>& fractions, const fs::path& dir) {
    const std::string ext = file.extension().string();
    if (ext == ".ipfix" || ext == ".csv") return split_flow_records(file, fractions, dir);
    if (ext == ".log") return {{file}, split_zeek_log(file, fractions, dir)};
    return {{file}, split_capture(file, fractions, dir)};
}

// What an analyst gets from a run: the events, and the baseline of learned
// proxies at its end; `pending` is what each piece left pending, as its
// stderr says ("open scans: N, pending proxy verdicts: M, open campaigns: K").
struct outcome {
    std::vector<nlohmann::json> events;
    std::vector<nlohmann::json> learned;
    std::vector<std::string> pending;
};

// The program over `pieces`, one run each, with --state between them when
// `state` is given, --flush on the last piece when asked.
outcome run_pieces(const std::vector<fs::path>& pieces, const std::string& options, const fs::path* state,
                   bool flush_last, const fs::path& dir) {
    outcome o;
    const fs::path err = dir / "stderr";
    if (state) fs::remove(*state);
    for (std::size_t i = 0; i < pieces.size(); ++i) {
        const bool last = i + 1 == pieces.size();
        std::string args = "--json " + options;
        if (state) args += " --state " + quoted(state->string());
        if (last && flush_last) args += " --flush";
        if (last) args += " --learned-proxies";
        const auto [status, out] = run_program(args + " " + quoted(pieces[i].string()), "2>" + quoted(err.string()));
        INFO(args << " " << pieces[i].string() << "\n" << read_all(err));
        REQUIRE(status == 0);
        for (auto& e : json_lines(out)) o.events.push_back(std::move(e));
        const std::string text = read_all(err);
        if (last) o.learned = json_lines(text, true);
        if (const auto at = text.find("open scans: "); at != std::string::npos)
            o.pending.push_back(text.substr(at, text.find_first_of(" (\n", text.find("campaigns: ", at) + 11) - at));
    }
    return o;
}

bool left_something(const std::vector<std::string>& pending) {
    return std::any_of(pending.begin(), pending.end(),
                       [](const std::string& p) { return p != "open scans: 0, pending proxy verdicts: 0, open campaigns: 0"; });
}

// Checks one stream cut into `pieces` against the whole; returns whether a cut left work pending.
bool check_continuity(const std::vector<fs::path>& whole, const std::vector<fs::path>& pieces,
                      const std::string& options, const fs::path& dir) {
    const fs::path state = dir / "state";
    const outcome one_state_run = run_pieces(whole, options, &state, false, dir);
    const outcome split = run_pieces(pieces, options, &state, false, dir);
    CHECK(split.events == one_state_run.events);
    CHECK(split.learned == one_state_run.learned);
    const outcome one_run = run_pieces(whole, options, nullptr, false, dir);
    const outcome split_flushed = run_pieces(pieces, options, &state, true, dir);
    CHECK(split_flushed.events == one_run.events);
    CHECK(split_flushed.learned == one_run.learned);
    const std::vector<std::string> between(split.pending.begin(), split.pending.end() - 1);
    return left_something(between);
}

bool tools_present() {
    if (run_command("command -v editcap && command -v capinfos", ">/dev/null 2>&1").first == 0) return true;
    if (in_ci()) FAIL("editcap/capinfos missing in CI: cmake/install-debian-deps.sh installs them");
    WARN("SKIPPED: editcap/capinfos not found (Debian package wireshark-common)");
    return false;
}

} // namespace

TEST_CASE("every capture in ../shared/data and its IPFIX export: a split --state run gives the events of one run") {
    const fs::path data = shared_data_dir();
    if (!fs::exists(data)) {
        if (in_ci()) FAIL("missing " << data);
        WARN("SKIPPED: " << data << " not found");
        return;
    }
    if (!tools_present()) return;
    std::vector<fs::path> files;
    for (const auto& entry : fs::recursive_directory_iterator(data)) {
        const fs::path& p = entry.path();
        const std::string name = p.filename().string();
        if (!entry.is_regular_file() || name == "README.md" || name == "SHA256SUMS.txt" ||
            name.find(".notice.log") != std::string::npos) // Zeek's notices are context, not SIP input
            continue;
        files.push_back(p);
    }
    std::sort(files.begin(), files.end());
    CHECK(files.size() >= 45); // the captures, the Zeek logs, the CSV and the IPFIX exports
    std::size_t with_events = 0, cuts_with_pending = 0;
    for (const fs::path& file : files) {
        for (const std::vector<double>& fractions : {std::vector<double>{0.25, 0.5, 0.75}, std::vector<double>{1.0 / 3}}) {
            for (const std::string options : {"--closed-season 0", "--threshold 4"}) {
                INFO(fs::relative(file, data).string() << " cut at " << fractions.size() << " points, " << options);
                const scratch_dir dir("shared");
                const flow_split split = split_file(file, fractions, dir.path());
                if (split.pieces.size() < 2) continue; // too short to cut
                cuts_with_pending += check_continuity(split.whole, split.pieces, options, dir.path()) ? 1u : 0u;
                const run_result original = run_cli(options + " " + quoted(file.string()));
                with_events += original.events.empty() ? 0u : 1u;
                // A rewritten whole is the file's records as they were: the events of the file.
                if (split.whole[0] != file) CHECK(run_cli(options + " " + quoted(split.whole[0].string())).events == original.events);
            }
        }
    }
    // The cuts fall inside scans and before verdicts, not only between quiet stretches.
    CHECK(with_events >= 20);
    CHECK(cuts_with_pending >= 10);
}

namespace {

// One SIP transaction of a Zeek sip.log: the request and, when status is not 0, its answer.
struct transaction {
    double ts = 0;
    std::string orig, resp, method, user, from_user, user_agent;
    int status = 0;
};

std::string zeek_log(const std::vector<transaction>& ts) {
    std::string out = "#separator \\x09\n#path\tsip\n#fields\tts\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tmethod\t"
                      "uri\trequest_from\trequest_to\tuser_agent\tstatus_code\n";
    char when[32];
    for (const transaction& t : ts) {
        std::snprintf(when, sizeof when, "%.6f", t.ts);
        out += std::string(when) + "\t" + t.orig + "\t5060\t" + t.resp + "\t5060\t" + t.method + "\tsip:" + t.user + "@" +
               t.resp + "\tsip:" + t.from_user + "@example.net\tsip:" + t.user + "@example.net\t" + t.user_agent + "\t" +
               (t.status ? std::to_string(t.status) : "-") + "\n";
    }
    return out;
}

constexpr double day = 86400, hour = 3600;
constexpr double t0 = 1700000000;

// Three weeks: a proxy every day; a proxy that dies (silent longer than
// TimeToDeath) and returns; two that appear after the ClosedSeason; phones;
// a slow scan over hours and a fast one. Returns the transactions in time
// order and the cut times: inside the slow scan (open at the cut), just after
// a proxy crossed its URI minimum (its verdict inside the answer grace),
// inside the returning proxy's first minutes, and between two records of
// one second of the fast scan.
// "u7", "p12", "10.8.0.3": appended, not "u" + ... (GCC 12's -Wrestrict false positive at -O3, PR 105329).
std::string numbered(std::string prefix, int n) {
    prefix += std::to_string(n);
    return prefix;
}

std::pair<std::vector<transaction>, std::vector<double>> three_weeks() {
    std::vector<transaction> ts;
    const auto relay = [&](double start, const std::string& proxy, int users, double spacing) {
        for (int u = 0; u < users; ++u)
            ts.push_back({start + u * spacing, proxy, "10.9.0.1", "REGISTER", numbered("u", u), numbered("u", u),
                          "kamailio", 200});
    };
    for (int d = 0; d < 21; ++d) {
        relay(t0 + d * day + 9 * hour, "10.1.0.10", 30, 10);                               // every day
        if (d <= 2 || d >= 18) relay(t0 + d * day + 10 * hour, "10.1.0.11", 30, 10);      // dies, returns on day 18
        if (d >= 9) relay(t0 + d * day + 11 * hour, "10.1.0.12", 30, 10);                 // new on day 9
        for (int p = 1; p <= 20; ++p)
            ts.push_back({t0 + d * day + 8 * hour + p, numbered("10.3.0.", p), "10.9.0.1", "REGISTER",
                          numbered("p", p), numbered("p", p), "Yealink", 200});
    }
    relay(t0 + 12 * day + 15 * hour, "10.1.0.13", 12, 1); // new on day 12, one URI a second
    for (int h = 1; h <= 40; ++h)                           // a slow horizontal OPTIONS scan, one probe per 4 min
        ts.push_back({t0 + 5 * day + 14 * hour + h * 240, "10.2.0.66", numbered("10.8.0.", h), "OPTIONS", "100",
                      "100", "friendly-scanner", h % 5 == 0 ? 200 : 404});
    for (int e = 0; e < 30; ++e) // a fast vertical REGISTER scan, two extensions a second
        ts.push_back({t0 + 14 * day + 16 * hour + e * 0.5, "10.2.0.67", "10.9.0.1", "REGISTER", std::to_string(100 + e),
                      std::to_string(100 + e), "friendly-scanner", 404});
    std::sort(ts.begin(), ts.end(), [](const transaction& a, const transaction& b) { return a.ts < b.ts; });
    const std::vector<double> cuts{
        t0 + 5 * day + 14 * hour + 30 * 240 + 1,  // the slow scan open, 30 of its 40 probes sent
        t0 + 12 * day + 15 * hour + 9 + 0.5,      // 10.1.0.13 just crossed 10 URIs: its verdict is pending
        t0 + 14 * day + 16 * hour + 24 * 0.5 + 0.25, // the fast scan open, inside one second
        t0 + 18 * day + 10 * hour + 95,           // the returning proxy crossed, its verdict pending
    };
    return {ts, cuts};
}

} // namespace

TEST_CASE("a synthetic three-week season cut where scans and verdicts are pending: the events of one run") {
    const auto season = three_weeks(); // not a structured binding: clang 14 cannot capture one in a lambda
    const std::vector<transaction>& ts = season.first;
    const std::vector<double>& cuts = season.second;
    const scratch_dir dir("season");
    const fs::path whole = dir.path() / "whole.log";
    write_all(whole, zeek_log(ts));
    std::vector<fs::path> pieces;
    auto from = ts.begin();
    for (std::size_t i = 0; i <= cuts.size(); ++i) {
        const auto to = i < cuts.size() ? std::find_if(from, ts.end(), [&](const transaction& t) { return t.ts >= cuts[i]; })
                                        : ts.end();
        pieces.push_back(dir.path() / ("piece" + std::to_string(i) + ".log"));
        write_all(pieces.back(), zeek_log(std::vector<transaction>(from, to)));
        from = to;
    }
    // Sanity: one run sees what the season holds.
    const run_result one = run_cli("--closed-season 7 " + quoted(whole.string()));
    std::set<std::string> found;
    for (const auto& e : one.events)
        if (e["event"] != "update")
            found.insert(e["detector"].get<std::string>() + " " + e["event"].get<std::string>() + " " +
                     e["source"].get<std::string>());
    CHECK(found == std::set<std::string>{"sipproxy new_proxy 10.1.0.11", "sipproxy new_proxy 10.1.0.12",
                                         "sipproxy new_proxy 10.1.0.13", "sipscan start 10.2.0.66",
                                         "sipscan end 10.2.0.66", "sipscan start 10.2.0.67", "sipscan end 10.2.0.67"});
    for (const std::string options : {"--closed-season 7", "--closed-season 0"}) {
        INFO(options);
        const fs::path state = dir.path() / "state";
        const outcome split = run_pieces(pieces, options, &state, false, dir.path());
        // What each cut left pending, as the program says it.
        REQUIRE(split.pending.size() == 5);
        CHECK(split.pending[0] == "open scans: 1, pending proxy verdicts: 0, open campaigns: 0");
        CHECK(split.pending[1] == "open scans: 0, pending proxy verdicts: 1, open campaigns: 0");
        // The fast scanner's REGISTERs crossed the URI minimum too: its verdict, which SIPSCAN will refuse, waits.
        CHECK(split.pending[2] == "open scans: 1, pending proxy verdicts: 1, open campaigns: 0");
        CHECK(split.pending[3] == "open scans: 0, pending proxy verdicts: 1, open campaigns: 0");
        check_continuity({whole}, pieces, options, dir.path());
    }
}
