// sipdetect ipfixcol2 output plugin: SIPSCAN and SIPPROXY on the records the
// collector receives, events written as the sipdetect program writes them.
//
// Entry points: ipfixcol2's plugin API (include/ipfixcol2/plugins.h). The
// records of every exporter and observation domain go into one pair of
// detectors, whose lateness rules absorb their interleaved times.
#include "event_output.hpp"
#include "input_record.hpp"
#include "options.hpp"
#include "plugin_config.hpp"
#include "record_decoder.hpp"
#include "reorder_buffer.hpp"

#include <sipdetect/feed_all.hpp>
#include <sipdetect/proxy_detector.hpp>
#include <sipdetect/scan_detector.hpp>
#include <sipdetect/state_file.hpp>

#include <ipfixcol2.h>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <exception>
#include <limits>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

extern "C" {
IPX_API struct ipx_plugin_info ipx_plugin_info = {
    "sipdetect",
    "SIP scanner (SIPSCAN) and SIP proxy (SIPPROXY) detection on ipfixprobe's and Flowmon's SIP records.",
    IPX_PT_OUTPUT,
    0,
    "0.1.0",
    "2.2.0",
};
}

namespace {

using sipdetect_ipfixcol2::decode_result;
using sipdetect_ipfixcol2::plugin_config;
using scan_type = sipdetect::scan_detector<sipdetect_cli::input_record>;
using proxy_type = sipdetect::proxy_detector<sipdetect_cli::input_record>;
using campaign_type = sipdetect::campaign_detector<sipdetect_cli::input_record>;

void log(ipx_ctx_t* ctx, ipx_verb_level level, const std::string& text) {
    if (ipx_ctx_verb_get(ctx) >= level) ipx_verb_ctx_print(level, ctx, "%s", text.c_str());
}

// What became of the data records, for the summary at shutdown.
struct record_counts {
    std::uint64_t records = 0, sip = 0, not_sip = 0, incomplete = 0, wrong_size = 0, no_status = 0, no_request = 0;

    void count(decode_result r) noexcept {
        ++records;
        switch (r) {
        case decode_result::sip: ++sip; break;
        case decode_result::not_sip: ++not_sip; break;
        case decode_result::incomplete: ++incomplete; break;
        case decode_result::wrong_size: ++wrong_size; break;
        case decode_result::no_status: ++no_status; break;
        case decode_result::no_request: ++no_request; break;
        }
    }
};

class sipdetect_output {
public:
    sipdetect_output(ipx_ctx_t* ctx, plugin_config config)
        : ctx_(ctx), config_(std::move(config)), scans_(config_.scan), proxies_(config_.proxy),
          campaigns_(config_.campaign),
          reorder_(config_.reorder_window, reorder_max_bytes), print_(open_output()), batch_(batch_size) {
        for (const std::string& notice : config_.notices) log(ctx_, IPX_VERB_WARNING, notice);
        load_state();
        // After loading: loading assigns freshly loaded detectors, which carry no link.
        proxies_.refuse_scanners_of(scans_); // a source SIPSCAN holds as a scanner is not a proxy
        late_before_ = {scans_.stats().late_dropped, proxies_.stats().late_dropped};
    }

    void process(ipx_msg_ipfix_t* msg) {
        last_data_ = std::chrono::steady_clock::now();
        idle_ = false;
        const std::uint32_t records = ipx_msg_ipfix_get_drec_cnt(msg);
        for (std::uint32_t i = 0; i < records; ++i) {
            const decode_result result =
                sipdetect_ipfixcol2::decode(ipx_msg_ipfix_get_drec(msg, i)->rec, reorder_.next_slot());
            counts_.count(result);
            if (result != decode_result::sip) continue;
            reorder_.keep();
            while (reorder_.must_release()) release_earliest();
        }
        feed();
    }

    // When traffic stops, the records still held for reordering are analysed
    // and the events due are written: on the collector's periodic messages
    // (every 100 ms) once no data came for `idle_release`. A checkpoint of
    // the state is saved when due.
    void periodic() {
        const auto now = std::chrono::steady_clock::now();
        if (!idle_ && now - last_data_ >= idle_release) {
            idle_ = true;
            while (!reorder_.empty()) release_earliest();
            feed();
            poll();
        }
        if (!config_.state || config_.checkpoint_interval.count() == 0 ||
            now - last_checkpoint_ < config_.checkpoint_interval)
            return;
        last_checkpoint_ = now;
        save_state();
    }

    void session(ipx_msg_session_t* msg) const {
        const ipx_session* s = ipx_msg_session_get_session(msg);
        const bool opened = ipx_msg_session_get_event(msg) == IPX_MSG_SESSION_OPEN;
        log(ctx_, IPX_VERB_INFO,
            fmt::format("session {} {} ({} records so far)", s->ident, opened ? "opened" : "closed", counts_.records));
    }

    // As the program ends: every held record analysed; then, with a state
    // file, what is still open continues in the next run (saved, not polled);
    // without, every active scan ends.
    void shutdown() {
        while (!reorder_.empty()) release_earliest();
        feed();
        if (config_.state) {
            // Not polled here: the next start polls where one uninterrupted run would (as sipdetect --state).
            save_state();
        } else {
            // The proxies first: their verdicts ask SIPSCAN about scans its flush() ends.
            const std::vector<sipdetect::proxy_event> proxy_events = proxies_.flush();
            print_(scans_.flush());
            print_(proxy_events);
            print_(campaigns_.flush());
        }
        summary();
    }

private:
    static constexpr std::size_t batch_size = 1024;
    static constexpr std::size_t reorder_max_bytes = std::size_t{64} << 20;
    static constexpr std::chrono::seconds idle_release{1};

    sipdetect_cli::event_printer open_output() const {
        try {
            return sipdetect_cli::event_printer(config_.output);
        } catch (const sipdetect_cli::output_error& e) {
            throw sipdetect_cli::usage_error{fmt::format("output: {}", e.what())};
        }
    }

    void load_state() {
        if (!config_.state) return;
        try {
            sipdetect::load_report report;
            // A state saved before SIPCAMPAIGN existed holds SIPSCAN and SIPPROXY only: campaigns start fresh.
            if (sipdetect::load_state_file_upgrading(*config_.state, &report, 2, scans_, proxies_, campaigns_) &&
                !report.config_differences.empty())
                log(ctx_, IPX_VERB_WARNING,
                    fmt::format("state {}: saved with other settings for: {}; the <params> apply", *config_.state,
                                fmt::join(report.config_differences, ", ")));
        } catch (const sipdetect::state_error& e) {
            throw sipdetect_cli::usage_error{fmt::format("state: {}", e.what())};
        }
    }

    void save_state() {
        try {
            sipdetect::save_state_file(*config_.state, scans_, proxies_, campaigns_);
        } catch (const sipdetect::state_error& e) {
            log(ctx_, IPX_VERB_ERROR, fmt::format("state: {}", e.what()));
        }
    }

    // The earliest held record into the batch. Events are polled once per
    // second of record time, right after the first record of a new second
    // (its batch fed first), as the sipdetect program polls.
    void release_earliest() {
        sipdetect_cli::input_record& r = batch_[filled_];
        reorder_.release_earliest(r);
        ++filled_;
        const std::int64_t second = sipdetect::micros_of(r.time) / 1'000'000;
        if (second != polled_second_) {
            feed();
            polled_second_ = second;
            poll();
        } else if (filled_ == batch_.size()) {
            feed();
        }
    }

    void feed() {
        sipdetect::feed_all(std::span<const sipdetect_cli::input_record>(batch_.data(), filled_), scans_, proxies_,
                            campaigns_);
        for (std::size_t i = 0; i < filled_; ++i) sipdetect_cli::shed_large_strings(batch_[i]);
        filled_ = 0;
    }

    void poll() {
        print_(scans_.poll());
        print_(proxies_.poll());
        print_(campaigns_.poll());
    }

    void summary() const {
        const sipdetect::scan_stats s = scans_.stats();
        const sipdetect::proxy_stats p = proxies_.stats();
        log(ctx_, IPX_VERB_INFO,
            fmt::format("{} data records: {} SIP messages analysed; skipped: {} without SIP fields, {} without "
                        "addresses, port or flow time, {} with a field of a wrong size, {} responses without a status "
                        "code, {} Flowmon records without a Request-URI",
                        counts_.records, counts_.sip, counts_.not_sip, counts_.incomplete, counts_.wrong_size,
                        counts_.no_status, counts_.no_request));
        log(ctx_, IPX_VERB_INFO,
            fmt::format("sipscan: {} sources tracked, {} scans started, {} ended; sipproxy: {} proxies, {} new-proxy "
                        "events",
                        s.tracked, s.events_started, s.events_ended, p.proxies, p.new_proxy_events));
        const std::uint64_t scan_late = s.late_dropped - late_before_.first;
        const std::uint64_t proxy_late = p.late_dropped - late_before_.second;
        if (scan_late > 0 || proxy_late > 0)
            log(ctx_, IPX_VERB_WARNING,
                fmt::format("records older than the newest record time minus max_lateness were dropped, not "
                            "analysed: {} by sipscan, {} by sipproxy",
                            scan_late, proxy_late));
    }

    ipx_ctx_t* ctx_;
    plugin_config config_;
    scan_type scans_;
    proxy_type proxies_;
    campaign_type campaigns_;
    sipdetect_cli::reorder_buffer reorder_;
    sipdetect_cli::event_printer print_;
    std::vector<sipdetect_cli::input_record> batch_; // reused: the records keep their strings' capacity
    std::size_t filled_ = 0;
    std::int64_t polled_second_ = std::numeric_limits<std::int64_t>::min();
    record_counts counts_;
    std::pair<std::uint64_t, std::uint64_t> late_before_; // late drops of the loaded state (sipscan, sipproxy)
    std::chrono::steady_clock::time_point last_checkpoint_ = std::chrono::steady_clock::now();
    std::chrono::steady_clock::time_point last_data_ = std::chrono::steady_clock::now();
    bool idle_ = true; // no data since the last idle release
};

// No exception crosses into the collector's C code.
template <class Action> int guarded(ipx_ctx_t* ctx, Action&& action) noexcept {
    try {
        action();
        return IPX_OK;
    } catch (const sipdetect_cli::usage_error& e) {
        log(ctx, IPX_VERB_ERROR, e.message);
    } catch (const std::exception& e) {
        log(ctx, IPX_VERB_ERROR, e.what());
    }
    return IPX_ERR_DENIED;
}

} // namespace

extern "C" {

IPX_API int ipx_plugin_init(ipx_ctx_t* ctx, const char* params) {
    return guarded(ctx, [&] {
        auto instance = std::make_unique<sipdetect_output>(ctx, sipdetect_ipfixcol2::parse_plugin_config(params));
        ipx_ctx_private_set(ctx, instance.release());
        const auto mask = static_cast<ipx_msg_mask_t>(IPX_MSG_IPFIX | IPX_MSG_SESSION | IPX_MSG_PERIODIC);
        ipx_ctx_subscribe(ctx, &mask, nullptr);
    });
}

IPX_API int ipx_plugin_process(ipx_ctx_t* ctx, void* cfg, ipx_msg_t* msg) {
    auto& instance = *static_cast<sipdetect_output*>(cfg);
    // A failure (no memory, an unwritable output) is reported, and the collector goes on.
    (void)guarded(ctx, [&] {
        switch (ipx_msg_get_type(msg)) {
        case IPX_MSG_IPFIX: instance.process(ipx_msg_base2ipfix(msg)); break;
        case IPX_MSG_PERIODIC: instance.periodic(); break;
        case IPX_MSG_SESSION: instance.session(ipx_msg_base2session(msg)); break;
        default: break;
        }
    });
    return IPX_OK;
}

IPX_API void ipx_plugin_destroy(ipx_ctx_t* ctx, void* cfg) {
    const std::unique_ptr<sipdetect_output> instance(static_cast<sipdetect_output*>(cfg));
    (void)guarded(ctx, [&] { instance->shutdown(); });
}

} // extern "C"
