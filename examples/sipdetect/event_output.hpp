// sipdetect command-line program: how events are written.
#pragma once

#include <sipdetect/fmt.hpp>
#include <sipdetect/json.hpp>

#include <fmt/format.h>

#include <cstdio>
#include <vector>

namespace sipdetect_cli {

// Writes each event on its own line to standard output, as text or JSON.
class event_printer {
public:
    explicit event_printer(bool json) : json_(json) {}
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

} // namespace sipdetect_cli
