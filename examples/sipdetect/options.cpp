// sipdetect command-line program: parsing the command line.
#include "options.hpp"

#include "ipfix_listener.hpp"
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
#include <stdexcept>
#include <string_view>

namespace sipdetect_cli {
namespace {

constexpr std::string_view usage_text = R"(usage: sipdetect [options] FILE...
       sipdetect [options] -i IFACE...
       sipdetect [options] --ipfix-listen udp:ADDR:PORT|tcp:ADDR:PORT...
       sipdetect [options] --follow FILE...
       sipdetect [options] -

Finds SIP scanners (SIPSCAN) and SIP proxies (SIPPROXY) in pcap, pcapng and
NetMon 2.x captures, Zeek sip.log files (TSV or JSON lines), and ipfixprobe
records as CSV/UniRec text or as IPFIX files (its SIP elements, enterprise 8057).
The format of each FILE is detected from its content; several files
are read as one time-ordered stream. Record time comes from the input.

Output:
  --format FORMAT           events as text (the default), json (one JSON object
                            per line), idea (CESNET IDEA0 alerts, one JSON
                            object per line) or cef (ArcSight CEF lines)
  --json                    the same as --format json
  --output FILE             append events to FILE instead of standard output
                            (created mode 0640; the live modes reopen it on
                            SIGHUP, for logrotate)
  --syslog TARGET           send each event as an RFC 5424 syslog message, its
                            MSG the event in the chosen format, to TARGET: unix
                            (/dev/log), unix:PATH, udp:HOST:PORT or tcp:HOST:PORT
                            (octet-counted frames, reconnected after a failure);
                            events that cannot be sent are counted; with
                            --syslog and no --output nothing goes to stdout
  --syslog-facility NAME    local0 (the default) ... local7, user, daemon, ... or 0-23
  --idea-node NAME          the IDEA Node.Name (default local.sipdetect)
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
                            them there atomically at exit; scans and campaigns
                            still open and proxy verdicts still inside their
                            answer grace at the end stay pending in the state,
                            for the next run to finish, and a line on stderr
                            counts them
  --flush                   with --state: end the stream, closing and reporting
                            everything as a run without --state does, then save
                            the state (for the last file of an investigation)

Live (runs until SIGTERM or SIGINT; see "Running it as a service" in the README):
  -i, --interface IFACE     capture SIP live on IFACE with libpcap (repeatable)
  --bpf EXPR                capture filter instead of the default: SIP over UDP
                            and TCP on ports 5060 and 5061, plus ICMP/ICMPv6
                            errors (counted, not analysed)
  --promiscuous             put the interface in promiscuous mode (off by default)
  --checkpoint SECONDS      with --state, save the state atomically this often
                            (default 300; 0: only at exit)
  --status-interval SECONDS a status line on stderr this often (default 60; 0: off)
  --user NAME               drop root for NAME (its uid, gid, no supplementary
                            groups, no capabilities) once the inputs are open
  --allow-root              run a live capture as root without --user
  --ipfix-listen udp:ADDR:PORT, --ipfix-listen tcp:ADDR:PORT
                            collect IPFIX (RFC 7011) from exporters such as
                            ipfixprobe on this address (IPv4, or IPv6 as
                            [ADDR] or bare), repeatable; templates are kept per
                            exporter session and observation domain
  --ipfix-template-timeout SECONDS
                            forget a UDP exporter's template not refreshed for
                            this long (default 1800)
  --follow FILE             read a growing Zeek sip.log (TSV or JSON) like
                            tail -F, from its start, through rotation and
                            truncation (repeatable)
  FILE "-"                  standard input as a stream, any format but NetMon,
                            detected from its first bytes (then the only FILE)
  While the input is idle for a second or more, record time is advanced by the
  wall time it has been idle, so that scans end without traffic. SIGTERM or
  SIGINT: stop, print what is due, save the state, exit 0. SIGHUP: reopen the
  event output.

  --help                    this text
  --version                 the version

Notices on stderr: with --state, what the saved state leaves pending; records more than the reorder window out of time order
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
        } else if (parse_output_option(arg, value, o.output)) {
            // --format, --json, --output, --syslog, --syslog-facility, --idea-node: applied
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
            o.campaign.max_tracked = o.scan.max_tracked;
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
            o.proxy.filter_mode = parse_proxy_filter_mode(arg, value());
        } else if (arg == "--report") {
            o.report = std::string(value());
        } else if (arg == "--state") {
            o.state = std::string(value());
        } else if (arg == "-i" || arg == "--interface") {
            o.interfaces.emplace_back(value());
        } else if (arg == "--bpf") {
            o.bpf = std::string(value());
        } else if (arg == "--promiscuous") {
            o.promiscuous = true;
        } else if (arg == "--checkpoint") {
            o.checkpoint = parse_integer<unsigned>(arg, value());
        } else if (arg == "--status-interval") {
            o.status_interval = parse_integer<unsigned>(arg, value());
        } else if (arg == "--user") {
            o.user = std::string(value());
        } else if (arg == "--allow-root") {
            o.allow_root = true;
        } else if (arg == "--ipfix-listen") {
            const std::string_view where = value();
            try {
                (void)parse_ipfix_listen_address(where);
            } catch (const std::invalid_argument& e) {
                throw usage_error{fmt::format("--ipfix-listen: {}", e.what())};
            }
            o.ipfix_listen.emplace_back(where);
        } else if (arg == "--ipfix-template-timeout") {
            o.ipfix_template_timeout = parse_integer<unsigned>(arg, value());
            if (o.ipfix_template_timeout == 0) throw usage_error{"--ipfix-template-timeout must be at least 1 second"};
        } else if (arg == "--follow") {
            o.follow.emplace_back(value());
        } else if (arg == "--flush") {
            o.flush = true;
        } else if (arg == "--") {
            for (++i; i < args.size(); ++i) o.inputs.emplace_back(args[i]);
        } else if (arg.size() > 1 && arg[0] == '-') {
            throw usage_error{fmt::format("unknown option {}", arg)};
        } else {
            o.inputs.emplace_back(arg);
        }
    }
    const bool live_inputs = !o.interfaces.empty() || !o.ipfix_listen.empty() || !o.follow.empty();
    if (o.inputs.empty() && !live_inputs) throw usage_error{"no input file given"};
    if (std::find(o.inputs.begin(), o.inputs.end(), "-") != o.inputs.end() && !o.standard_input())
        throw usage_error{"standard input (-) cannot be read with other files"};
    if (!o.inputs.empty() && !o.standard_input() && live_inputs)
        throw usage_error{"files and live inputs (-i, --ipfix-listen, --follow) cannot be read in one run"};
    if (o.checkpoint && !o.state) throw usage_error{"--checkpoint needs --state"};
    if ((o.bpf || o.promiscuous) && o.interfaces.empty()) throw usage_error{"--bpf and --promiscuous apply to -i"};
    if (o.flush && !o.state) throw usage_error{"--flush needs --state: without it every run ends its stream"};
    follow_scan_settings("--campaign-threshold / --threshold", o.campaign, o.scan, o.campaigns);
    return o;
}

} // namespace sipdetect_cli
