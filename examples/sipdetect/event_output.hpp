// sipdetect command-line program: how events are written.
#pragma once

#include "report.hpp"

#include <sipdetect/fmt.hpp>
#include <sipdetect/json.hpp>

#include <fmt/format.h>

#include <cstdio>
#include <vector>

namespace sipdetect_cli {

// Writes each event on its own line to standard output, as text or JSON,
// and hands it to the HTML report when there is one.
class event_printer {
public:
    explicit event_printer(bool json, html_report* report = nullptr) : json_(json), report_(report) {}
    template <class Event> void operator()(const std::vector<Event>& events) {
        for (const Event& e : events) {
            if (json_) fmt::print("{}\n", sipdetect::to_json(e));
            else fmt::print("{}\n", e);
        }
        if (!events.empty()) std::fflush(stdout);
        if (report_) report_->add(events);
    }

private:
    bool json_;
    html_report* report_;
};

} // namespace sipdetect_cli
