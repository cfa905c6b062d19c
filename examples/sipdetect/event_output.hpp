// sipdetect command-line program: how events are written.
#pragma once

#include <sipdetect/fmt.hpp>
#include <sipdetect/json.hpp>

#include <fmt/format.h>

#include <cstdio>
#include <vector>

namespace sipdetect_cli {

// Writes each event on its own line, as text or JSON, to standard output or
// another stream (the ipfixcol2 plugin's output file).
class event_printer {
public:
    explicit event_printer(bool json, std::FILE* out = stdout) : json_(json), out_(out) {}
    template <class Event> void operator()(const std::vector<Event>& events) {
        for (const Event& e : events) {
            if (json_) fmt::print(out_, "{}\n", sipdetect::to_json(e));
            else fmt::print(out_, "{}\n", e);
        }
        if (!events.empty()) std::fflush(out_);
    }

private:
    bool json_;
    std::FILE* out_;
};

} // namespace sipdetect_cli
