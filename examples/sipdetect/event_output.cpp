// sipdetect command-line program: the event printer's outputs (event_output.hpp).
#include "event_output.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <vector>

namespace sipdetect_cli {

event_printer::event_printer(const output_options& options, html_report* report)
    : formatter_(options.format, options.idea_node), report_(report) {
    if (options.file) lines_.emplace(*options.file);
    else if (!options.syslog) lines_.emplace();
    if (options.syslog) syslog_.emplace(*options.syslog, options.syslog_facility);
}

std::optional<std::string> event_printer::reopen() { return lines_ ? lines_->reopen() : std::nullopt; }

std::string event_printer::stats_line() const {
    std::string line = fmt::format("output: {} events", events_);
    if (lines_) line += fmt::format(", {} lost writing to {}", lost_, lines_->path() ? *lines_->path() : "standard output");
    if (syslog_) {
        const syslog_counters& c = syslog_->counters();
        line += fmt::format("; syslog {}: {} sent, {} lost, {} connections, {} failed connection attempts", syslog_->name(),
                            c.sent, c.lost, c.connects, c.connect_failures);
    }
    return line;
}

std::optional<std::string> event_printer::loss_notice() const {
    std::vector<std::string> parts;
    if (lost_ > 0)
        parts.push_back(fmt::format("{} of {} events could not be written to {}", lost_, events_,
                                    lines_ && lines_->path() ? *lines_->path() : "standard output"));
    if (syslog_ && syslog_->counters().lost > 0)
        parts.push_back(
            fmt::format("{} of {} events could not be sent to syslog {}", syslog_->counters().lost, events_, syslog_->name()));
    if (parts.empty()) return std::nullopt;
    return fmt::format("{}", fmt::join(parts, "; "));
}

} // namespace sipdetect_cli
