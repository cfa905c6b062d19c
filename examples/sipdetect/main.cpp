// sipdetect: find SIP scanners and SIP proxies in captures, Zeek logs and
// ipfixprobe records (CSV or IPFIX). See `sipdetect --help`.
#include "input_record.hpp"
#include "readers.hpp"

#include <sipdetect/fmt.hpp>
#include <sipdetect/sipdetect.hpp>

#include <fmt/core.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
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
  --stats                   print reader and detector counters to stderr at the end
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
};

template <class T> T parse_integer(std::string_view option, std::string_view text, T min, T max) {
    T value{};
    const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (text.empty() || ec != std::errc{} || ptr != text.data() + text.size() || value < min || value > max)
        throw usage_error{fmt::format("{} expects a whole number from {} to {}, not \"{}\"", option, min, max, text)};
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
            o.scan.threshold = parse_integer<std::uint32_t>(arg, value(), 1, 1u << 20);
            o.scan.max_distinct = std::max(o.scan.max_distinct, o.scan.threshold);
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
            const auto n = parse_integer<std::size_t>(arg, value(), 1, std::size_t{1} << 32);
            o.scan.max_tracked = n;
            o.proxy.max_candidates = n;
            o.proxy.max_proxies = std::min(o.proxy.max_proxies, n);
        } else if (arg == "--proxy-min-uris") {
            o.proxy.min_uris = parse_integer<std::uint32_t>(arg, value(), 2, 1u << 20);
        } else if (arg == "--closed-season") {
            o.proxy.closed_season = sipdetect::days(parse_days(arg, value()));
        } else if (arg == "--time-to-death") {
            const double d = parse_days(arg, value());
            if (d <= 0) throw usage_error{"--time-to-death must be more than 0 days"};
            o.proxy.time_to_death = sipdetect::days(d);
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
    try {
        o.scan.validate();
        o.proxy.validate();
    } catch (const sipdetect::config_error& e) {
        throw usage_error{e.what()};
    }
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

} // namespace

int main(int argc, char** argv) {
    options opt;
    try {
        opt = parse_options(argc, argv);
    } catch (const usage_error& e) {
        fmt::print(stderr, "sipdetect: {}\nTry 'sipdetect --help'.\n", e.message);
        return 2;
    }

    scan_type scans(opt.scan);
    proxy_type proxies(opt.proxy);
    int status = 0;
    if (opt.state) {
        try {
            sipdetect::load_report report;
            if (sipdetect::load_state_file_reporting(*opt.state, &report, scans, proxies) && !report.config_differences.empty())
                fmt::print(stderr, "sipdetect: {}: saved with other settings for: {}; the command line's apply\n",
                           *opt.state, fmt::join(report.config_differences, ", "));
        } catch (const sipdetect::state_error& e) {
            fmt::print(stderr, "sipdetect: {}\n", e.what());
            return 1;
        }
    }

    progress_line progress(opt.progress);
    std::optional<sipdetect_cli::time_ordered_stream> stream;
    std::optional<std::string> input_failure;
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
        stream.emplace(std::vector<std::filesystem::path>(opt.inputs.begin(), opt.inputs.end()));
    } catch (const sipdetect_cli::input_exception& e) {
        input_failure = e.what();
    }

    printer print(opt.json);
    // Poll once per second of record time, as a live collector polls once a second.
    std::int64_t polled_second = std::numeric_limits<std::int64_t>::min();
    std::uint64_t analysed = 0;
    input_record record;
    while (stream && stream->next(record)) {
        scans.feed(record);
        proxies.feed(record);
        ++analysed;
        const std::int64_t second = sipdetect::micros_of(record.time) / 1'000'000;
        if (second != polled_second) {
            polled_second = second;
            print(scans.poll());
            print(proxies.poll());
        }
        progress.update("analysing: {} records", analysed);
    }
    sipdetect_cli::reader_counters totals;
    if (stream) {
        totals = stream->counters();
        if (stream->failure()) input_failure = stream->failure();
        if (stream->out_of_order() > 0)
            fmt::print(stderr,
                       "sipdetect: {} records came more than {} records out of time order in their file; they "
                       "were analysed in the order they came\n",
                       stream->out_of_order(), stream->window());
    }
    progress.clear();
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

    if (opt.stats) {
        const auto s = scans.stats();
        const auto p = proxies.stats();
        fmt::print(stderr,
                   "input: {} records, {} packets, {} SIP messages, {} not SIP, {} malformed, {} ICMP skipped, "
                   "{} records or lines without a SIP message\n"
                   "sipscan: {} records, {} requests counted, {} relayed ignored, {} filtered, {} tracked, {} evicted, "
                   "{} expired, {} scans\n"
                   "sipproxy: {} records, {} candidates, {} proxies, {} learned in training, {} judged scanner-like, "
                   "{} evicted\n",
                   totals.records, totals.packets, totals.sip_messages, totals.not_sip, totals.malformed,
                   totals.icmp_skipped, totals.skipped_records, s.records, s.requests, s.relayed_ignored, s.filtered, s.tracked, s.evicted,
                   s.expired, s.events_started, p.records, p.candidates, p.proxies, p.learned_in_training,
                   p.judged_scanner_like, p.candidates_evicted + p.proxies_evicted);
        if (totals.ipfix_messages > 0)
            fmt::print(stderr, "ipfix: {} messages, {} templates, {} data sets without a template, {} sets of reserved ids\n",
                       totals.ipfix_messages, totals.ipfix_templates, totals.sets_without_template,
                       totals.reserved_sets);
        if (totals.unsupported_link_packets > 0)
            fmt::print(stderr, "pcapng: {} packets skipped: their interface's link type is not decoded\n",
                       totals.unsupported_link_packets);
    }
    if (opt.learned_proxies)
        for (const sipdetect::known_proxy& p : proxies.learned_proxies())
            fmt::print(stderr, "{}\n", opt.json ? sipdetect::to_json(p) : fmt::format("{}", p));
    if (analysed > 0 && proxies.watermark() < proxies.season_end() && proxies.stats().learned_in_training > 0)
        fmt::print(stderr,
                   "sipdetect: sipproxy is still in its ClosedSeason (until {}); {} proxies were learned silently "
                   "(--closed-season 0 reports them, --learned-proxies lists them)\n",
                   sipdetect::format_rfc3339(proxies.season_end()), proxies.stats().learned_in_training);
    if (input_failure) {
        fmt::print(stderr, "sipdetect: {}\n", *input_failure);
        status = 1;
    }
    return status;
}
