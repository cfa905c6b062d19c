// sipdetect command-line program: its options, as the command line gives them.
#pragma once

#include <sipdetect/campaign_detector.hpp>
#include <sipdetect/proxy_detector.hpp>
#include <sipdetect/scan_detector.hpp>

#include <optional>
#include <string>
#include <vector>

namespace sipdetect_cli {

// A command line the program refuses: the message names the option.
struct usage_error {
    std::string message;
};

struct options {
    bool json = false;
    bool stats = false;
    bool learned_proxies = false;
    bool progress = true;
    sipdetect::scan_config scan;
    sipdetect::proxy_config proxy;
    // Follows scan's threshold, submethods, filter and --max-tracked (finish_campaign_config()).
    sipdetect::campaign_config campaign;
    bool campaigns = true;
    std::optional<std::string> state;
    std::optional<std::string> report; // --report FILE.html
    std::vector<std::string> inputs;
    std::optional<std::string> raised_max_distinct; // the notice, when --threshold raised it
};

// Parses the command line. Prints --help or --version and exits; throws
// usage_error for anything it refuses.
options parse_options(int argc, char** argv);

} // namespace sipdetect_cli
