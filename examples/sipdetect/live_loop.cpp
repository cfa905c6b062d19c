// sipdetect command-line program: the live loop.
#include "live_loop.hpp"

#include "idle_clock.hpp"
#include "privileges.hpp"

#include <sipdetect/fmt.hpp>
#include <sipdetect/state_file.hpp>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <stdexcept>
#include <utility>

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

namespace sipdetect_cli {

namespace {

using wall_clock = idle_clock::wall_clock;
using live_feeder = record_feeder<event_printer>;
using std::chrono::milliseconds;
using std::chrono::seconds;

// Records taken from one source before the others get their turn.
constexpr int records_per_turn = 4096;
// How often sources without a descriptor are asked.
constexpr milliseconds undescribed_source_period{100};

// The signals the loop answers. The handler only writes the signal's number
// into a pipe that the loop waits on with the sources, so that every action
// runs in the loop, and a signal between two waits is not lost.
class signal_pipe {
public:
    signal_pipe() {
        if (::pipe2(fds_.data(), O_CLOEXEC | O_NONBLOCK) != 0)
            throw std::runtime_error(std::string("cannot create the signal pipe: ") + std::strerror(errno));
        write_end_ = fds_[1];
        struct sigaction action {};
        action.sa_handler = &signal_pipe::on_signal;
        ::sigemptyset(&action.sa_mask);
        action.sa_flags = SA_RESTART; // writes to the output are not interrupted
        for (std::size_t i = 0; i < handled_.size(); ++i) ::sigaction(handled_[i], &action, &previous_[i]);
    }
    ~signal_pipe() {
        for (std::size_t i = 0; i < handled_.size(); ++i) ::sigaction(handled_[i], &previous_[i], nullptr);
        write_end_ = -1;
        ::close(fds_[0]);
        ::close(fds_[1]);
    }
    signal_pipe(const signal_pipe&) = delete;
    signal_pipe& operator=(const signal_pipe&) = delete;

    int wait_fd() const noexcept { return fds_[0]; }

    struct received {
        bool stop = false, hangup = false;
    };
    received take() const noexcept {
        received r;
        std::array<unsigned char, 64> numbers{};
        ssize_t n = 0;
        while ((n = ::read(fds_[0], numbers.data(), numbers.size())) > 0)
            for (ssize_t i = 0; i < n; ++i) {
                const int signal = numbers[static_cast<std::size_t>(i)];
                if (signal == SIGHUP) r.hangup = true;
                else r.stop = true;
            }
        return r;
    }

private:
    static void on_signal(int signal) {
        const int saved = errno;
        const auto number = static_cast<unsigned char>(signal);
        // A full pipe already holds signals to act on: losing this one loses nothing.
        [[maybe_unused]] const ssize_t written = ::write(write_end_, &number, 1);
        errno = saved;
    }

    static inline volatile std::sig_atomic_t write_end_ = -1;
    std::array<int, 2> fds_{};
    static constexpr std::array<int, 3> handled_{SIGTERM, SIGINT, SIGHUP};
    std::array<struct sigaction, 3> previous_{};
};

// Counters of the sources, those still open and those that ended.
reader_counters all_counters(const std::vector<std::unique_ptr<live_source>>& sources, const reader_counters& ended) {
    reader_counters total = ended;
    for (const auto& s : sources) total += s->counters();
    return total;
}

class status_line {
public:
    explicit status_line(seconds interval) : interval_(interval), next_(wall_clock::now() + interval) {}

    bool due(wall_clock::time_point now) const noexcept { return interval_ != seconds::zero() && now >= next_; }

    void print(wall_clock::time_point now, std::uint64_t records, const reader_counters& input,
               const detector_set& detectors) {
        const double elapsed = std::chrono::duration<double>(now - last_).count();
        const sipdetect::scan_stats s = detectors.scans.stats();
        const sipdetect::proxy_stats p = detectors.proxies.stats();
        const sipdetect::campaign_stats c = detectors.campaigns.stats();
        fmt::print(stderr,
                   "sipdetect: status: {:.1f} records/s, {} records in all; sipscan: {} sources tracked, {} scans "
                   "started, {} ended; sipproxy: {} candidates, {} proxies, {} new-proxy events; sipcampaign: {} "
                   "groups, {} campaigns started; capture: {} packets, {} dropped; {} records dated beyond the "
                   "clock skew\n",
                   elapsed > 0 ? static_cast<double>(records - last_records_) / elapsed : 0.0, records, s.tracked,
                   s.events_started, s.events_ended, p.candidates, p.proxies, p.new_proxy_events, c.groups,
                   c.events_started, input.packets, input.capture_drops, input.beyond_clock_skew);
        last_ = now;
        last_records_ = records;
        next_ = now + interval_;
    }

private:
    seconds interval_;
    wall_clock::time_point next_;
    wall_clock::time_point last_ = wall_clock::now();
    std::uint64_t last_records_ = 0;
};

class checkpoints {
public:
    explicit checkpoints(const options& opt) : state_(opt.state) {
        const unsigned every = opt.checkpoint.value_or(default_seconds);
        if (state_) interval_ = seconds(every);
        next_ = wall_clock::now() + interval_;
    }

    // Saves the state when due. A failed save is said and retried at the next checkpoint.
    void maybe_save(wall_clock::time_point now, live_feeder& feeder, const detector_set& detectors,
                    html_report* report) {
        if (interval_ == seconds::zero() || now < next_) return;
        feeder.feed_pending();
        try {
            sipdetect::save_state_file(*state_, detectors.scans, detectors.proxies, detectors.campaigns);
        } catch (const sipdetect::state_error& e) {
            fmt::print(stderr, "sipdetect: checkpoint: {}\n", e.what());
        }
        try {
            if (report) report->checkpoint(detectors.proxies);
        } catch (const report_error& e) {
            fmt::print(stderr, "sipdetect: checkpoint: {}\n", e.what());
        }
        next_ = wall_clock::now() + interval_;
    }

private:
    static constexpr unsigned default_seconds = 300;
    const std::optional<std::string>& state_;
    seconds interval_{0}; // zero: no checkpoints
    wall_clock::time_point next_{};
};

} // namespace

live_result run_live(const options& opt, std::vector<std::unique_ptr<live_source>>& sources,
                     detector_set detectors, event_printer& print, const live_hooks& hooks) {
    // The sources are open: what opened them is no longer needed.
    if (opt.user) drop_privileges(*opt.user);
    else if (::geteuid() != 0) drop_capabilities();
    signal_pipe signals;
    live_result result;
    reader_counters ended;
    live_feeder feeder(detectors, print, hooks.report);
    status_line status(seconds(opt.status_interval));
    checkpoints checkpoint(opt);
    idle_clock idle(wall_clock::now());
    {
        std::vector<std::string> names;
        for (const auto& s : sources) names.push_back(s->name());
        fmt::print(stderr, "sipdetect: live: reading {}\n", fmt::join(names, ", "));
    }

    std::uint64_t beyond_clock_skew = 0;
    const auto counted = [&] {
        reader_counters c = all_counters(sources, ended);
        c.beyond_clock_skew += beyond_clock_skew;
        return c;
    };
    std::vector<pollfd> waits;
    bool stop = false;
    bool more_ready = false; // a source gave a full turn: do not wait before asking again
    while (!stop && !sources.empty()) {
        waits.assign(1, pollfd{signals.wait_fd(), POLLIN, 0});
        bool undescribed = false;
        for (const auto& s : sources) {
            if (s->wait_fd() >= 0) waits.push_back(pollfd{s->wait_fd(), POLLIN, 0});
            else undescribed = true;
        }
        const milliseconds wait = more_ready    ? milliseconds(0)
                                  : undescribed ? undescribed_source_period
                                                : milliseconds(1000);
        if (::poll(waits.data(), waits.size(), static_cast<int>(wait.count())) < 0 && errno != EINTR)
            throw std::runtime_error(std::string("poll: ") + std::strerror(errno));

        const signal_pipe::received got = signals.take();
        if (got.hangup) {
            if (hooks.reopen_output) hooks.reopen_output();
            else fmt::print(stderr, "sipdetect: SIGHUP: the events go to standard output, nothing to reopen\n");
        }
        stop = got.stop;

        // The detectors' clock is record time, which cannot tell a record
        // dated years ahead: refused here against the wall clock, as a live
        // clock would be, or it would push the newest record time so far
        // ahead that every real record after it is dropped as late.
        const sipdetect::record_time credible_until =
            std::chrono::time_point_cast<sipdetect::record_duration>(std::chrono::system_clock::now()) +
            opt.scan.max_clock_skew;
        more_ready = false;
        for (auto it = sources.begin(); it != sources.end();) {
            live_source& source = **it;
            bool finished = false;
            try {
                int taken = 0;
                for (; taken < records_per_turn; ++taken) {
                    const live_source::pull got_record = source.next(feeder.slot());
                    if (got_record == live_source::pull::record) {
                        if (feeder.slot().time > credible_until) ++beyond_clock_skew;
                        else feeder.commit();
                        continue;
                    }
                    finished = got_record == live_source::pull::ended;
                    break;
                }
                if (taken > 0) idle.record_arrived(wall_clock::now());
                if (taken == records_per_turn) more_ready = true;
            } catch (const input_exception& e) {
                fmt::print(stderr, "sipdetect: {}\n", e.what());
                if (!result.input_failure) result.input_failure = e.what();
                finished = true;
            }
            if (finished) {
                ended += source.counters();
                it = sources.erase(it);
            } else {
                ++it;
            }
        }

        const wall_clock::time_point now = wall_clock::now();
        const sipdetect::record_time newest = std::max(
            {detectors.scans.watermark(), detectors.proxies.watermark(), detectors.campaigns.watermark()});
        if (const auto advanced = idle.advance(now, newest)) {
            feeder.feed_pending();
            detectors.scans.clock().set(*advanced);
            detectors.proxies.clock().set(*advanced);
            detectors.campaigns.clock().set(*advanced);
            feeder.poll();
        }
        if (status.due(now)) status.print(now, feeder.taken(), counted(), detectors);
        checkpoint.maybe_save(now, feeder, detectors, hooks.report);
    }
    // Stopped: what the sources hold back is analysed too.
    for (const auto& source : sources) {
        source->stop_holding();
        try {
            while (source->next(feeder.slot()) == live_source::pull::record) feeder.commit();
        } catch (const input_exception& e) {
            if (!result.input_failure) result.input_failure = e.what();
        }
    }
    feeder.feed_pending();
    result.analysed = feeder.analysed();
    result.input = counted();
    return result;
}

} // namespace sipdetect_cli
