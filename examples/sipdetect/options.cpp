// sipdetect command-line program: parsing the command line.
#include "options.hpp"

#include "option_values.hpp"

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
            o.raised_max_distinct = set_threshold(arg, value(), o.scan);
        } else if (arg == "--submethods") {
            parse_submethods(arg, value(), o.scan);
        } else if (arg == "--scan-filter") {
            o.scan.destination_filter = parse_cidrs(arg, value());
        } else if (arg == "--max-tracked") {
            set_max_tracked(arg, value(), o.scan, o.proxy);
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
            o.proxy.filter_mode = parse_proxy_filter_mode(arg, value());
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

} // namespace sipdetect_cli
