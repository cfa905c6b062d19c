// sipdetect command-line program: parsing the command line.
#include "options.hpp"

#include <sipdetect/fmt.hpp>
#include <sipdetect/version.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

namespace sipdetect_cli {
namespace {

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
  --report FILE.html        also write a self-contained HTML page of the run:
                            summary, timeline, scans, targets, proxies

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

SIPCAMPAIGN (distributed low-rate scans):
  --campaign-threshold N    distinct targets that sources sharing a probe
                            fingerprint, each below --threshold, must probe
                            together to make a campaign (default 20)
  --campaign-window DUR     within this long: a number with s, min or h
                            (default 1h)
  --no-campaigns            no campaign detection
  The submethods, --scan-filter and --max-tracked of SIPSCAN apply too, and a
  source reaching --threshold on its own is a scanner, no campaign member.

State:
  --state FILE              load the detectors from FILE if it exists, save
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

// "90s", "30min", "1h", "1.5h": the number and its unit.
sipdetect::record_duration parse_duration(std::string_view option, std::string_view text) {
    double value = 0;
    const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    const std::string_view unit(ptr, static_cast<std::size_t>(text.data() + text.size() - ptr));
    double seconds_per_unit = 0;
    if (unit == "s") seconds_per_unit = 1;
    else if (unit == "min") seconds_per_unit = 60;
    else if (unit == "h") seconds_per_unit = 3600;
    const double seconds = value * seconds_per_unit;
    if (text.empty() || ec != std::errc{} || seconds_per_unit == 0 || !std::isfinite(seconds) || seconds <= 0 ||
        seconds > 1e9)
        throw usage_error{fmt::format("{} expects a positive duration with s, min or h (e.g. 30min), not \"{}\"",
                                      option, text)};
    return sipdetect::record_duration{static_cast<std::int64_t>(seconds * 1e6)};
}

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

// The campaign detector follows SIPSCAN's settings: its members are the
// sources SIPSCAN leaves below its threshold, of the same submethods, to
// the same responders.
void finish_campaign_config(options& o) {
    o.campaign.scan_threshold = o.scan.threshold;
    o.campaign.register_scan = o.campaigns && o.scan.register_scan;
    o.campaign.options_scan = o.campaigns && o.scan.options_scan;
    o.campaign.invite_scan = o.campaigns && o.scan.invite_scan;
    o.campaign.destination_filter = o.scan.destination_filter;
    check_config("--campaign-threshold / --threshold", o.campaign);
}

} // namespace

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
            o.campaign.max_tracked = n;
            o.proxy.max_candidates = n;
            o.proxy.max_proxies = std::min(sipdetect::proxy_config{}.max_proxies, n);
            check_config(arg, o.scan);
            check_config(arg, o.proxy);
            check_config(arg, o.campaign);
        } else if (arg == "--campaign-threshold") {
            o.campaign.campaign_threshold = parse_integer<std::uint32_t>(arg, value());
            check_config(arg, o.campaign);
        } else if (arg == "--campaign-window") {
            o.campaign.campaign_window = parse_duration(arg, value());
            check_config(arg, o.campaign);
        } else if (arg == "--no-campaigns") {
            o.campaigns = false;
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
        } else if (arg == "--report") {
            o.report = std::string(value());
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
    finish_campaign_config(o);
    return o;
}

} // namespace sipdetect_cli
