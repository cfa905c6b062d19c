// sipdetect command-line program: parsing the output options.
#include "output_options.hpp"

#include "options.hpp"

#include <fmt/format.h>

namespace sipdetect_cli {

bool parse_output_option(std::string_view arg, const std::function<std::string_view()>& value, output_options& out) {
    if (arg == "--json") {
        out.format = event_format::json;
    } else if (arg == "--format") {
        const std::string_view name = value();
        const auto format = parse_event_format(name);
        if (!format) throw usage_error{fmt::format("--format: \"{}\" is none of json, text, idea, cef", name)};
        out.format = *format;
    } else if (arg == "--output") {
        const std::string_view path = value();
        if (path.empty()) throw usage_error{"--output needs a file name"};
        out.file = std::string(path);
    } else if (arg == "--syslog") {
        const std::string_view text = value();
        out.syslog = parse_syslog_target(text);
        if (!out.syslog)
            throw usage_error{fmt::format(
                "--syslog: \"{}\" is none of unix, unix:PATH, udp:HOST:PORT, tcp:HOST:PORT (an IPv6 HOST in brackets)", text)};
    } else if (arg == "--syslog-facility") {
        const std::string_view text = value();
        const auto facility = parse_syslog_facility(text);
        if (!facility)
            throw usage_error{fmt::format("--syslog-facility: \"{}\" is no facility (local0 ... local7, user, daemon, "
                                          "auth, ... or 0-23)",
                                          text)};
        out.syslog_facility = *facility;
    } else if (arg == "--idea-node") {
        const std::string_view name = value();
        if (!valid_idea_node_name(name))
            throw usage_error{fmt::format("--idea-node: \"{}\" is not a dotted name such as org.example.sipdetect", name)};
        out.idea_node = std::string(name);
    } else {
        return false;
    }
    return true;
}

} // namespace sipdetect_cli
