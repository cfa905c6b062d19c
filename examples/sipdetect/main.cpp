// sipdetect: find SIP scanners and SIP proxies in captures, Zeek logs and
// ipfixprobe records (CSV or IPFIX). See `sipdetect --help`.
#include "event_output.hpp"
#include "input_record.hpp"
#include "live_inputs.hpp"
#include "live_loop.hpp"
#include "options.hpp"
#include "privileges.hpp"
#include "readers.hpp"
#include "record_feeder.hpp"
#include "report.hpp"

#include <sipdetect/fmt.hpp>
#include <sipdetect/sipdetect.hpp>
#include <sipdetect/state_file.hpp>

// fmt::format, fmt::print and format_string are in format.h (fmt 11: base.h,
// which format.h includes); fmt 11 moved fmt::join to ranges.h.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <sys/resource.h>
#include <unistd.h>

namespace {

using sipdetect_cli::event_printer;
using sipdetect_cli::html_report;
using sipdetect_cli::html_report;
using sipdetect_cli::input_record;
using sipdetect_cli::options;
using sipdetect_cli::usage_error;
using sipdetect_cli::campaign_type;
using sipdetect_cli::detector_set;
using sipdetect_cli::proxy_type;
using sipdetect_cli::scan_type;

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
bool load(const options& opt, scan_type& scans, proxy_type& proxies, campaign_type& campaigns) {
    if (!opt.state) return true;
    try {
        sipdetect::load_report report;
        // A state saved before SIPCAMPAIGN existed holds SIPSCAN and SIPPROXY only: campaigns start fresh.
        if (sipdetect::load_state_file_upgrading(*opt.state, &report, 2, scans, proxies, campaigns) &&
            !report.config_differences.empty())
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

// Run: every record through the detectors, in batches through feed_all,
// polled once per second of record time (record_feeder).
run_summary run(const options& opt, detector_set detectors, event_printer& print, html_report* report) {
    run_summary summary;
    progress_line progress(opt.progress);
    auto stream = open_inputs(opt, summary.input_failure);
    if (!stream) return summary;
    summary.window = stream->window();

    sipdetect_cli::record_feeder feeder(detectors, print, report);
    while (stream->next(feeder.slot())) {
        feeder.commit();
        progress.update("analysing: {} records", feeder.taken());
    }
    feeder.feed_pending();
    progress.clear();
    summary.analysed = feeder.analysed();
    summary.input = stream->counters();
    summary.out_of_order = stream->out_of_order();
    if (stream->failure()) summary.input_failure = stream->failure();
    return summary;
}

// Live run: opens the live inputs, then reads them until a signal stops the
// run or every input has ended (live_loop.hpp).
run_summary run_live(const options& opt, detector_set detectors, event_printer& print, html_report* report) {
    run_summary summary;
    try {
        auto sources = sipdetect_cli::open_live_sources(opt);
        sipdetect_cli::live_hooks hooks;
        hooks.report = report;
        if (opt.output.file)
            hooks.reopen_output = [&print] {
                if (const auto failure = print.reopen()) fmt::print(stderr, "sipdetect: SIGHUP: {}\n", *failure);
            };
        sipdetect_cli::live_result live = sipdetect_cli::run_live(opt, sources, detectors, print, hooks);
        summary.analysed = live.analysed;
        summary.input = live.input;
        summary.input_failure = std::move(live.input_failure);
    } catch (const sipdetect_cli::input_exception& e) {
        summary.input_failure = e.what();
    } catch (const sipdetect_cli::privilege_error& e) {
        summary.input_failure = e.what();
    }
    return summary;
}

// "1 h", "90 min", "2.5 s".
std::string duration_text(sipdetect::record_duration d) {
    using namespace std::chrono;
    if (d % hours(1) == d.zero()) return fmt::format("{} h", duration_cast<hours>(d).count());
    if (d % minutes(1) == d.zero()) return fmt::format("{} min", duration_cast<minutes>(d).count());
    return fmt::format("{} s", duration<double>(d).count());
}

// What a state-keeping run leaves for the next one.
std::string pending_text(const detector_set& detectors) {
    return fmt::format("open scans: {}, pending proxy verdicts: {}, open campaigns: {}", detectors.scans.open_scans(),
                       detectors.proxies.pending_verdicts(), detectors.campaigns.active_campaigns());
}

void print_stats(const sipdetect_cli::reader_counters& in, const sipdetect::scan_stats& s,
                 const sipdetect::proxy_stats& p, const sipdetect::campaign_stats& c, const std::string& pending) {
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
    fmt::print(stderr,
               "sipcampaign: {} records, {} requests counted, {} responses matched, {} relayed ignored, {} filtered; "
               "dropped: {} malformed, {} late, {} future; sources: {} tracked, {} evicted, {} expired; not members: "
               "{} scanners, {} answered, {} inconsistent; groups: {} now, {} evicted, {} rejected, {} expired, "
               "{} members rejected; {} campaigns started, {} ended; {} bytes\n",
               c.records, c.requests, c.responses_matched, c.relayed_ignored, c.filtered, c.malformed_dropped,
               c.late_dropped, c.future_dropped, c.tracked, c.sources_evicted, c.sources_expired, c.scanners_excluded,
               c.answered_excluded, c.inconsistent_excluded, c.groups, c.groups_evicted, c.groups_rejected,
               c.groups_expired, c.members_rejected, c.events_started, c.events_ended, c.memory_bytes);
    fmt::print(stderr, "left pending: {}\n", pending);
    if (in.ipfix_messages > 0)
        fmt::print(stderr, "ipfix: {} messages, {} templates, {} data sets without a template, {} sets of reserved ids\n",
                   in.ipfix_messages, in.ipfix_templates, in.sets_without_template, in.reserved_sets);
    if (in.capture_drops > 0) fmt::print(stderr, "capture: {} packets dropped (libpcap)\n", in.capture_drops);
    if (in.beyond_clock_skew > 0)
        fmt::print(stderr, "live: {} records dated later than the wall clock plus max_clock_skew, not analysed\n",
                   in.beyond_clock_skew);
    if (in.ipfix_connections > 0 || in.ipfix_defective_messages > 0 || in.ipfix_refused > 0 ||
        in.ipfix_templates_expired > 0)
        fmt::print(stderr,
                   "ipfix listener: {} TCP connections, {} peers disconnected for a stream not IPFIX, {} defective "
                   "messages dropped, {} connections or UDP exporters refused, {} UDP templates expired\n",
                   in.ipfix_connections, in.ipfix_peers_disconnected, in.ipfix_defective_messages, in.ipfix_refused,
                   in.ipfix_templates_expired);
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

// Finish: close what is active (or, with --state and no --flush, leave it
// pending in the state), save the state, print counters and notices.
// Returns the exit status.
int finish(const options& opt, detector_set detectors, event_printer& print, const run_summary& summary,
           const drop_baseline& before, html_report* report) {
    auto& [scans, proxies, campaigns] = detectors;
    int status = 0;
    // With --state, what is pending continues in the next run, from the
    // state file, and is not polled here: the next run polls it where one
    // run over the whole stream would.
    if (!opt.state || opt.flush) {
        // The proxies first: their verdicts ask SIPSCAN about scans its flush() ends.
        const std::vector<sipdetect::proxy_event> proxy_events = proxies.flush();
        print(scans.flush());
        print(proxy_events);
        print(campaigns.flush());
    }
    if (opt.state) {
        try {
            sipdetect::save_state_file(*opt.state, scans, proxies, campaigns);
            fmt::print(stderr, "sipdetect: {}: saved; {}{}\n", *opt.state, pending_text(detectors),
                       opt.flush ? "" : " (the next run with --state continues them; --flush closes and reports them)");
        } catch (const sipdetect::state_error& e) {
            fmt::print(stderr, "sipdetect: {}\n", e.what());
            status = 1;
        }
    }
    if (report) {
        try {
            report->checkpoint(proxies);
        } catch (const sipdetect_cli::report_error& e) {
            fmt::print(stderr, "sipdetect: {}\n", e.what());
            status = 1;
        }
    }
    const sipdetect::scan_stats s = scans.stats();
    const sipdetect::proxy_stats p = proxies.stats();
    print_order_notices(opt, summary, before, s, p);
    if (opt.stats) {
        print_stats(summary.input, s, p, campaigns.stats(), pending_text(detectors));
        fmt::print(stderr, "{}\n", print.stats_line());
    }
    if (const auto lost = print.loss_notice()) fmt::print(stderr, "sipdetect: {}\n", *lost);
    const bool json = opt.output.format == sipdetect_cli::event_format::json;
    if (opt.learned_proxies)
        for (const sipdetect::known_proxy& known : proxies.learned_proxies())
            fmt::print(stderr, "{}\n", json ? sipdetect::to_json(known) : fmt::format("{}", known));
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
        opt = sipdetect_cli::parse_options(argc, argv);
    } catch (const usage_error& e) {
        fmt::print(stderr, "sipdetect: {}\nTry 'sipdetect --help'.\n", e.message);
        return 2;
    }
    if (opt.raised_max_distinct) fmt::print(stderr, "sipdetect: {}\n", *opt.raised_max_distinct);
    if (sipdetect_cli::faces_network(opt))
        if (const auto refusal = sipdetect_cli::root_refusal(opt.user.has_value(), opt.allow_root)) {
            fmt::print(stderr, "sipdetect: {}\n", *refusal);
            return 2;
        }

    scan_type scans(opt.scan);
    proxy_type proxies(opt.proxy);
    campaign_type campaigns(opt.campaign);
    if (!load(opt, scans, proxies, campaigns)) return 1;
    // After load(): loading assigns freshly loaded detectors, which carry no link.
    proxies.refuse_scanners_of(scans); // a source SIPSCAN holds as a scanner is not a proxy
    const drop_baseline before{scans.stats().late_dropped, proxies.stats().late_dropped};
    std::optional<html_report> report;
    if (opt.report) report.emplace(*opt.report, opt);
    std::optional<event_printer> opened;
    try {
        opened.emplace(opt.output, report ? &*report : nullptr);
    } catch (const sipdetect_cli::output_error& e) {
        fmt::print(stderr, "sipdetect: {}\n", e.what());
        return 1;
    }
    event_printer& print = *opened;
    const detector_set detectors{scans, proxies, campaigns};
    const run_summary summary = sipdetect_cli::live_mode(opt) ? run_live(opt, detectors, print, report ? &*report : nullptr)
                                                              : run(opt, detectors, print, report ? &*report : nullptr);
    return finish(opt, detectors, print, summary, before, report ? &*report : nullptr);
}
