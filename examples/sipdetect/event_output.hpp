// sipdetect command-line program: how events are written.
//
// The one place the program asks to "write these events": each event is
// formatted once (event_formats.hpp) and goes to the --output file and to
// --syslog, or to standard output when neither is given, and to the HTML
// report (--report) when there is one.
#pragma once

#include "event_formats.hpp"
#include "output_file.hpp"
#include "output_options.hpp"
#include "syslog_sink.hpp"
#include "report.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace sipdetect_cli {

class event_printer {
public:
    // Opens the file and the syslog socket; throws output_error when one
    // cannot be used. `report`, when given, receives every event too.
    explicit event_printer(const output_options& options, html_report* report = nullptr);

    template <class Event> void operator()(const std::vector<Event>& events) {
        if (events.empty()) return;
        std::string lines;
        for (const Event& e : events) {
            const formatted_event f = formatter_(e);
            if (syslog_) syslog_->send(f);
            if (lines_) {
                lines += f.line;
                lines += '\n';
            }
        }
        events_ += events.size();
        if (lines_ && !lines_->write(lines)) lost_ += events.size();
        if (report_) report_->add(events);
    }

    // Reopens the --output file (logrotate; the live loop calls it on SIGHUP).
    // Nothing happens without --output. On failure the old file stays in use
    // and the reason is returned.
    std::optional<std::string> reopen();

    // One line for --stats: events written, lost, and what syslog did.
    std::string stats_line() const;
    // A notice when events were lost, else nullopt.
    std::optional<std::string> loss_notice() const;

private:
    event_formatter formatter_;
    std::optional<line_output> lines_;
    std::optional<syslog_sink> syslog_;
    std::uint64_t events_ = 0, lost_ = 0;
    html_report* report_;
};

} // namespace sipdetect_cli
