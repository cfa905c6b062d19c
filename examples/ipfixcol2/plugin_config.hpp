// sipdetect ipfixcol2 output plugin: its <params>, with the sipdetect
// program's defaults and limits (examples/sipdetect/option_values.hpp).
#pragma once

#include "output_options.hpp"

#include <sipdetect/campaign_detector.hpp>
#include <sipdetect/proxy_detector.hpp>
#include <sipdetect/scan_detector.hpp>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace sipdetect_ipfixcol2 {

// The plugin's default output: JSON lines (the program's default is text).
inline sipdetect_cli::output_options json_to_standard_output() {
    sipdetect_cli::output_options o;
    o.format = sipdetect_cli::event_format::json;
    return o;
}

struct plugin_config {
    sipdetect::scan_config scan;
    sipdetect::proxy_config proxy;
    sipdetect::campaign_config campaign; // follows scan (sipdetect_cli::follow_scan_settings)
    std::optional<std::string> state;          // loaded at start, saved at checkpoints and at shutdown
    std::chrono::seconds checkpoint_interval{300}; // 0: saved only at shutdown
    sipdetect_cli::output_options output = json_to_standard_output(); // format, and the file appended to
    std::size_t reorder_window = 65536;          // records held to put them in time order (the program's window)
    std::vector<std::string> notices;          // to log at start (a raised max_distinct)
};

// Parses the XML <params> element. Throws sipdetect_cli::usage_error whose
// message names the parameter it refuses (or the XML defect).
plugin_config parse_plugin_config(const char* params);

} // namespace sipdetect_ipfixcol2
