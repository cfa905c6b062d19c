// sipdetect: find SIP scanners and SIP proxies in captures, Zeek logs and
// ipfixprobe records (CSV or IPFIX). See `sipdetect --help`.
#include "input_record.hpp"
#include "readers.hpp"

#include <sipdetect/fmt.hpp>
#include <sipdetect/sipdetect.hpp>
#include <sipdetect/state_file.hpp>

// fmt::format, fmt::print and format_string are in format.h (fmt 11: base.h,
// which format.h includes); fmt 11 moved fmt::join to ranges.h.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <sys/resource.h>
#include <unistd.h>

namespace {

using sipdetect_cli::input_record;
using scan_type = sipdetect::scan_detector<input_record>;
using proxy_type = sipdetect::proxy_detector<input_record>;

constexpr std::string_view usage_text = R"(usage: sipdetect [options] FILE...

Finds SIP scanners (SIPSCAN) and SIP proxies (SIPPROXY) in pcap, pcapng and
NetMon 2.x captures, Zeek sip.log files (TSV or JSON lines), and ipfixprobe
records as CSV/UniRec text or as IPFIX files (its SIP elements, enterprise 8057).
The format of each FILE is detected from its content; several files
are read as one time-ordered stream. Record time comes from the input.

Output:
  --json                    one JSON object per event per line (default: text)
  --stats                   print reader and detector counters to stderr at the
                            end, every drop among them (with --state the detector
                            counters include the earlier runs)
  --learned-proxies         print the proxies SIPPROXY knows (its baseline) to
                            stderr at the end, one line each (JSON with --json)
  --no-progress             no progress line on stderr (shown only on a terminal)

SIPSCAN:
  --threshold N             distinct targets (host, port, called user) that make
                            a scan (default 20)
  --submethods LIST         enabled submethods, a comma list of register,
                            options, invite (default: all three)
  --scan-filter CIDR[,...]  only responders inside these prefixes count
  --max-tracked N           cap on tracked sources per detector (default 1000000)
  A --threshold above 256, where the library stops counting distinct targets
  of a source (max_distinct), raises max_distinct to it, with a notice: counts
  must be able to reach the threshold, and each scanning source takes more
  memory.

SIPPROXY:
  --proxy-min-uris N        distinct From URIs that make a proxy (default 10)
  --closed-season DAYS      training period, no events (default 7; fractions ok)
  --time-to-death DAYS      forget proxies inactive this long (default 14)
  --proxy-filter CIDR[,...] ranges excluded from proxy detection
  --proxy-filter-mode MODE  devices (ADS 12.2: addresses inside are never
                            reported, the default) or internal (ADS 13.0:
                            traffic with both ends inside is ignored)

State:
  --state FILE              load both detectors from FILE if it exists, save
                            them there atomically at exit; scans still active
                            at the end are kept open in the state instead of
                            being closed

  --help                    this text
  --version                 the version

Notices on stderr: records more than the reorder window out of time order
in their file (analysed where they came), records the detectors dropped as
older than the newest record time minus max_lateness (one hour), a raised
max_distinct, and a ClosedSeason still running.

Exit status: 0 on success, 2 on a usage error, 1 on an unreadable,
truncated or corrupt input or state file. A file that cannot be opened or
recognised stops the run before any record is analysed; a truncated or
corrupt one ends at its defect, and the other files are still read in full.
)";

struct usage_error {
    std::string message;
};

struct options {
    bool json = false;
    bool stats = false;
    bool learned_proxies = false;
    bool progress = true;
    sipdetect::scan_config scan;
    sipdetect::proxy_config proxy;
    std::optional<std::string> state;
    std::vector<std::string> inputs;
    std::optional<std::string> raised_max_distinct; // the notice, when --threshold raised it
};

// A whole number of type T; the detectors' validate() judges the range.
template <class T> T parse_integer(std::string_view option, std::string_view text) {
    T value{};
    const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (text.empty() || ec != std::errc{} || ptr != text.data() + text.size())
        throw usage_error{fmt::format("{} expects a whole number, not \"{}\"", option, text)};
    return value;
}

double parse_days(std::string_view option, std::string_view text) {
    double value = 0;
    const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (text.empty() || ec != std::errc{} || ptr != text.data() + text.size() || !std::isfinite(value) || value < 0 ||
        value > 100000)
        throw usage_error{fmt::format("{} expects a number of days from 0 to 100000, not \"{}\"", option, text)};
    return value;
}

sipdetect::prefix_set parse_cidrs(std::string_view option, std::string_view text) {
    try {
        return sipdetect::prefix_set::parse(text);
    } catch (const sipdetect::parse_error& e) {
        throw usage_error{fmt::format("{}: {}", option, e.what())};
    }
}

// The limits are the library's: a config it refuses is a usage error naming the option.
template <class Config> void check_config(std::string_view option, const Config& config) {
    try {
        config.validate();
    } catch (const sipdetect::config_error& e) {
        throw usage_error{fmt::format("{}: {}", option, e.what())};
    }
}

// Distinct counts stop at max_distinct, so a threshold above it could never
// be reached: raise it to the threshold, and say so.
void fit_max_distinct(options& o) {
    const std::uint32_t library_default = sipdetect::scan_config{}.max_distinct;
    o.scan.max_distinct = std::max(library_default, o.scan.threshold);
    o.raised_max_distinct.reset();
    if (o.scan.max_distinct != library_default)
        o.raised_max_distinct = fmt::format(
            "--threshold {} is above max_distinct {}, where the distinct targets of a source stop being counted: "
            "max_distinct raised to {} (more memory per scanning source)",
            o.scan.threshold, library_default, o.scan.max_distinct);
}

options parse_options(int argc, char** argv) {
    options o;
    o.scan.register_scan = o.scan.options_scan = o.scan.invite_scan = true;
    std::vector<std::string_view> args(argv + 1, argv + argc);
    for (std::size_t i = 0; i < args.size(); ++i) {
        const std::string_view arg = args[i];
        auto value = [&]() -> std::string_view {
            if (i + 1 >= args.size()) throw usage_error{fmt::format("{} needs a value", arg)};
            return args[++i];
        };
        if (arg == "--help" || arg == "-h") {
            std::fwrite(usage_text.data(), 1, usage_text.size(), stdout);
            std::exit(0);
        } else if (arg == "--version") {
            fmt::print("sipdetect {}\n", SIPDETECT_VERSION_STRING);
            std::exit(0);
        } else if (arg == "--json") {
            o.json = true;
        } else if (arg == "--stats") {
            o.stats = true;
        } else if (arg == "--learned-proxies") {
            o.learned_proxies = true;
        } else if (arg == "--no-progress") {
            o.progress = false;
        } else if (arg == "--threshold") {
            o.scan.threshold = parse_integer<std::uint32_t>(arg, value());
            fit_max_distinct(o);
            check_config(o.raised_max_distinct
                             ? fmt::format("--threshold {} (which raises max_distinct to it)", o.scan.threshold)
                             : std::string(arg),
                         o.scan);
        } else if (arg == "--submethods") {
            o.scan.register_scan = o.scan.options_scan = o.scan.invite_scan = false;
            const std::string_view list = value();
            std::size_t at = 0;
            while (at <= list.size()) {
                const std::size_t comma = std::min(list.find(',', at), list.size());
                const std::string_view item = list.substr(at, comma - at);
                if (item == "register") o.scan.register_scan = true;
                else if (item == "options") o.scan.options_scan = true;
                else if (item == "invite") o.scan.invite_scan = true;
                else throw usage_error{fmt::format("--submethods: unknown submethod \"{}\" (use register, options, invite)", item)};
                at = comma + 1;
            }
        } else if (arg == "--scan-filter") {
            o.scan.destination_filter = parse_cidrs(arg, value());
        } else if (arg == "--max-tracked") {
            const auto n = parse_integer<std::size_t>(arg, value());
            o.scan.max_tracked = n;
            o.proxy.max_candidates = n;
            o.proxy.max_proxies = std::min(sipdetect::proxy_config{}.max_proxies, n);
            check_config(arg, o.scan);
            check_config(arg, o.proxy);
        } else if (arg == "--proxy-min-uris") {
            o.proxy.min_uris = parse_integer<std::uint32_t>(arg, value());
            check_config(arg, o.proxy);
        } else if (arg == "--closed-season") {
            o.proxy.closed_season = sipdetect::days(parse_days(arg, value()));
            check_config(arg, o.proxy);
        } else if (arg == "--time-to-death") {
            o.proxy.time_to_death = sipdetect::days(parse_days(arg, value()));
            check_config(arg, o.proxy);
        } else if (arg == "--proxy-filter") {
            o.proxy.filter = parse_cidrs(arg, value());
        } else if (arg == "--proxy-filter-mode") {
            const std::string_view mode = value();
            if (mode == "devices" || mode == "12.2") o.proxy.filter_mode = sipdetect::proxy_filter_mode::exclude_devices;
            else if (mode == "internal" || mode == "13.0") o.proxy.filter_mode = sipdetect::proxy_filter_mode::exclude_internal;
            else throw usage_error{fmt::format("--proxy-filter-mode: \"{}\" is neither devices nor internal", mode)};
        } else if (arg == "--state") {
            o.state = std::string(value());
        } else if (arg == "--") {
            for (++i; i < args.size(); ++i) o.inputs.emplace_back(args[i]);
        } else if (arg.size() > 1 && arg[0] == '-') {
            throw usage_error{fmt::format("unknown option {}", arg)};
        } else {
            o.inputs.emplace_back(arg);
        }
    }
    if (o.inputs.empty()) throw usage_error{"no input file given"};
    return o;
}

// Progress on stderr, only when it is a terminal, at most twice a second.
class progress_line {
public:
    explicit progress_line(bool enabled) : enabled_(enabled && ::isatty(STDERR_FILENO) == 1) {}
    template <class... Args> void update(fmt::format_string<Args...> f, Args&&... args) {
        if (!enabled_) return;
        const auto now = std::chrono::steady_clock::now();
        if (now - last_ < std::chrono::milliseconds(500)) return;
        last_ = now;
        fmt::print(stderr, "\r\033[K{}", fmt::format(f, std::forward<Args>(args)...));
        shown_ = true;
    }
    void clear() {
        if (shown_) fmt::print(stderr, "\r\033[K");
        shown_ = false;
    }

private:
    bool enabled_;
    bool shown_ = false;
    std::chrono::steady_clock::time_point last_{};
};

class printer {
public:
    explicit printer(bool json) : json_(json) {}
    template <class Event> void operator()(const std::vector<Event>& events) {
        for (const Event& e : events) {
            if (json_) fmt::print("{}\n", sipdetect::to_json(e));
            else fmt::print("{}\n", e);
        }
        if (!events.empty()) std::fflush(stdout);
    }

private:
    bool json_;
};

// The detectors' drop counters when the run began (a loaded state brings
// earlier runs' counts), so that notices speak of this run.
struct drop_baseline {
    std::uint64_t scan_late = 0, proxy_late = 0;
};

// What the run read, for finish().
struct run_summary {
    std::uint64_t analysed = 0;
    sipdetect_cli::reader_counters input;
    std::uint64_t out_of_order = 0;
    std::size_t window = 0;
    std::optional<std::string> input_failure;
};

// Load: the detectors from --state, when the file exists. False, after saying why, on a bad state file.
bool load(const options& opt, scan_type& scans, proxy_type& proxies) {
    if (!opt.state) return true;
    try {
        sipdetect::load_report report;
        if (sipdetect::load_state_file_reporting(*opt.state, &report, scans, proxies) && !report.config_differences.empty())
            fmt::print(stderr, "sipdetect: {}: saved with other settings for: {}; the command line's apply\n",
                       *opt.state, fmt::join(report.config_differences, ", "));
    } catch (const sipdetect::state_error& e) {
        fmt::print(stderr, "sipdetect: {}\n", e.what());
        return false;
    }
    return true;
}

// Opens every input as one time-ordered stream; nullopt, with the reason in `failure`, when one cannot be opened.
std::optional<sipdetect_cli::time_ordered_stream> open_inputs(const options& opt, std::optional<std::string>& failure) {
    // Every input stays open while the stream merges them: allow that many
    // files where the hard limit does (a failure shows as an open error).
    if (rlimit files{}; ::getrlimit(RLIMIT_NOFILE, &files) == 0) {
        const rlim_t wanted = static_cast<rlim_t>(opt.inputs.size()) + 64;
        if (files.rlim_cur < wanted) {
            files.rlim_cur = std::min(wanted, files.rlim_max);
            (void)::setrlimit(RLIMIT_NOFILE, &files);
        }
    }
    try {
        return std::optional<sipdetect_cli::time_ordered_stream>(
            std::in_place, std::vector<std::filesystem::path>(opt.inputs.begin(), opt.inputs.end()));
    } catch (const sipdetect_cli::input_exception& e) {
        failure = e.what();
        return std::nullopt;
    }
}

// Run: every record through both detectors, in batches through feed_all.
// Events are polled once per second of record time, as a live collector
// polls once a second: right after the first record of a new second, so a
// batch ends there (and at batch_size records).
run_summary run(const options& opt, scan_type& scans, proxy_type& proxies, printer& print) {
    constexpr std::size_t batch_size = 1024;
    run_summary summary;
    progress_line progress(opt.progress);
    auto stream = open_inputs(opt, summary.input_failure);
    if (!stream) return summary;
    summary.window = stream->window();

    std::vector<input_record> batch(batch_size); // reused: the records keep their strings' capacity
    std::size_t filled = 0;
    const auto feed = [&] {
        sipdetect::feed_all(std::span<const input_record>(batch.data(), filled), scans, proxies);
        summary.analysed += filled;
        filled = 0;
    };
    std::int64_t polled_second = std::numeric_limits<std::int64_t>::min();
    while (stream->next(batch[filled])) {
        const std::int64_t second = sipdetect::micros_of(batch[filled].time) / 1'000'000;
        ++filled;
        if (second != polled_second) {
            feed();
            polled_second = second;
            print(scans.poll());
            print(proxies.poll());
        } else if (filled == batch.size()) {
            feed();
        }
        progress.update("analysing: {} records", summary.analysed + filled);
    }
    feed();
    progress.clear();
    summary.input = stream->counters();
    summary.out_of_order = stream->out_of_order();
    if (stream->failure()) summary.input_failure = stream->failure();
    return summary;
}

// "1 h", "90 min", "2.5 s".
std::string duration_text(sipdetect::record_duration d) {
    using namespace std::chrono;
    if (d % hours(1) == d.zero()) return fmt::format("{} h", duration_cast<hours>(d).count());
    if (d % minutes(1) == d.zero()) return fmt::format("{} min", duration_cast<minutes>(d).count());
    return fmt::format("{} s", duration<double>(d).count());
}

void print_stats(const sipdetect_cli::reader_counters& in, const sipdetect::scan_stats& s,
                 const sipdetect::proxy_stats& p) {
    fmt::print(stderr,
               "input: {} records, {} packets, {} SIP messages, {} not SIP, {} malformed, {} ICMP skipped, "
               "{} records or lines without a SIP message\n"
               "input skipped: {} frames not IP, {} IP fragments, {} other transports, {} truncated packets, "
               "{} empty payloads; {} SIP fields cut, {} bad timestamps read as the epoch\n",
               in.records, in.packets, in.sip_messages, in.not_sip, in.malformed, in.icmp_skipped, in.skipped_records,
               in.non_ip, in.fragments_skipped, in.other_transport, in.truncated_packets, in.empty_payloads,
               in.truncated_fields, in.bad_timestamps);
    fmt::print(stderr,
               "sipscan: {} records, {} requests counted, {} responses matched, {} relayed ignored, {} filtered; "
               "dropped: {} malformed, {} late, {} future; sources: {} tracked, {} evicted ({} with progress), "
               "{} rejected, {} expired; {} scans started, {} ended; {} bytes\n",
               s.records, s.requests, s.responses_matched, s.relayed_ignored, s.filtered, s.malformed_dropped,
               s.late_dropped, s.future_dropped, s.tracked, s.sources_evicted, s.sources_evicted_with_progress,
               s.sources_rejected, s.sources_expired,
               s.events_started, s.events_ended, s.memory_bytes);
    fmt::print(stderr,
               "sipproxy: {} records, {} filtered; dropped: {} malformed, {} late, {} future; candidates: {} now, "
               "{} evicted, {} rejected, {} expired; proxies: {} now, {} learned in training, {} new-proxy events, "
               "{} judged scanner-like, {} evicted, {} expired; {} bytes\n",
               p.records, p.filtered, p.malformed_dropped, p.late_dropped, p.future_dropped, p.candidates,
               p.candidates_evicted, p.candidates_rejected, p.candidates_expired, p.proxies, p.learned_in_training,
               p.new_proxy_events, p.judged_scanner_like, p.proxies_evicted, p.proxies_expired, p.memory_bytes);
    if (in.ipfix_messages > 0)
        fmt::print(stderr, "ipfix: {} messages, {} templates, {} data sets without a template, {} sets of reserved ids\n",
                   in.ipfix_messages, in.ipfix_templates, in.sets_without_template, in.reserved_sets);
    if (in.unsupported_link_packets > 0)
        fmt::print(stderr, "pcapng: {} packets skipped: their interface's link type is not decoded\n",
                   in.unsupported_link_packets);
}

// What happened to records that did not come in time order.
void print_order_notices(const options& opt, const run_summary& summary, const drop_baseline& before,
                         const sipdetect::scan_stats& s, const sipdetect::proxy_stats& p) {
    if (summary.out_of_order > 0)
        fmt::print(stderr,
                   "sipdetect: {} records came more than {} records (the reorder window) out of time order in their "
                   "file: they were analysed where they came, after later records; records less out of order were "
                   "put in time order first\n",
                   summary.out_of_order, summary.window);
    const std::uint64_t scan_late = s.late_dropped - before.scan_late, proxy_late = p.late_dropped - before.proxy_late;
    if (scan_late > 0 || proxy_late > 0)
        fmt::print(stderr,
                   "sipdetect: records older than the newest record time minus {} (max_lateness) were dropped, not "
                   "analysed: {} by sipscan, {} by sipproxy\n",
                   duration_text(opt.scan.max_lateness), scan_late, proxy_late);
}

// Finish: close what is active (or keep it open in the state), save the
// state, print counters and notices. Returns the exit status.
int finish(const options& opt, scan_type& scans, proxy_type& proxies, printer& print, const run_summary& summary,
           const drop_baseline& before) {
    int status = 0;
    if (opt.state) {
        // What is still open continues in the next run, from the state file.
        print(scans.poll());
        print(proxies.poll());
        try {
            sipdetect::save_state_file(*opt.state, scans, proxies);
        } catch (const sipdetect::state_error& e) {
            fmt::print(stderr, "sipdetect: {}\n", e.what());
            status = 1;
        }
    } else {
        print(scans.flush());
        print(proxies.flush());
    }
    const sipdetect::scan_stats s = scans.stats();
    const sipdetect::proxy_stats p = proxies.stats();
    print_order_notices(opt, summary, before, s, p);
    if (opt.stats) print_stats(summary.input, s, p);
    if (opt.learned_proxies)
        for (const sipdetect::known_proxy& known : proxies.learned_proxies())
            fmt::print(stderr, "{}\n", opt.json ? sipdetect::to_json(known) : fmt::format("{}", known));
    if (summary.analysed > 0 && proxies.watermark() < proxies.season_end() && p.learned_in_training > 0)
        fmt::print(stderr,
                   "sipdetect: sipproxy is still in its ClosedSeason (until {}); {} proxies were learned silently "
                   "(--closed-season 0 reports them, --learned-proxies lists them)\n",
                   sipdetect::format_rfc3339(proxies.season_end()), p.learned_in_training);
    if (summary.input_failure) {
        fmt::print(stderr, "sipdetect: {}\n", *summary.input_failure);
        status = 1;
    }
    return status;
}

} // namespace

int main(int argc, char** argv) {
    options opt;
    try {
        opt = parse_options(argc, argv);
    } catch (const usage_error& e) {
        fmt::print(stderr, "sipdetect: {}\nTry 'sipdetect --help'.\n", e.message);
        return 2;
    }
    if (opt.raised_max_distinct) fmt::print(stderr, "sipdetect: {}\n", *opt.raised_max_distinct);

    scan_type scans(opt.scan);
    proxy_type proxies(opt.proxy);
    if (!load(opt, scans, proxies)) return 1;
    const drop_baseline before{scans.stats().late_dropped, proxies.stats().late_dropped};
    printer print(opt.json);
    const run_summary summary = run(opt, scans, proxies, print);
    return finish(opt, scans, proxies, print, summary, before);
}
