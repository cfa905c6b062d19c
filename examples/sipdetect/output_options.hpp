// sipdetect command-line program: the options that say where events go and in
// which format (--format, --json, --output, --syslog, --syslog-facility, --idea-node).
#pragma once

#include "event_formats.hpp"
#include "syslog_sink.hpp"

#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace sipdetect_cli {

struct output_options {
    event_format format = event_format::text;
    std::optional<std::string> file;          // --output: events appended there instead of standard output
    std::optional<syslog_target> syslog;      // --syslog
    unsigned syslog_facility = 16;            // local0
    std::string idea_node = std::string(default_idea_node);
};

// Applies `arg` when it is one of the output options, taking its value from
// `value()`; false when `arg` is some other option. Throws usage_error (from
// options.hpp) for a value it refuses.
bool parse_output_option(std::string_view arg, const std::function<std::string_view()>& value, output_options& out);

} // namespace sipdetect_cli
