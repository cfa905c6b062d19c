// sipdetect command-line program: its options, as the command line gives them.
#pragma once

#include "output_options.hpp"

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
    bool stats = false;
    bool learned_proxies = false;
    bool progress = true;
    output_options output; // --format, --json, --output, --syslog, ...
    bool flush = false; // with --state: close and report everything at the end, then save
    sipdetect::scan_config scan;
    sipdetect::proxy_config proxy;
    // Follows scan's threshold, submethods, filter and --max-tracked (follow_scan_settings()).
    sipdetect::campaign_config campaign;
    bool campaigns = true;
    std::optional<std::string> state;
    std::optional<std::string> report; // --report FILE.html
    std::vector<std::string> inputs;
    std::optional<std::string> raised_max_distinct; // the notice, when --threshold raised it

    // Live mode (live_loop.hpp)
    std::vector<std::string> interfaces;     // -i: live capture
    std::optional<std::string> bpf;          // --bpf: replaces the default capture filter
    bool promiscuous = false;                // --promiscuous
    std::optional<unsigned> checkpoint;      // --checkpoint SECONDS; live default 300 with --state
    unsigned status_interval = 60;           // --status-interval SECONDS; 0: no status line
    std::optional<std::string> user;         // --user: drop root for this user once inputs are open
    bool allow_root = false;                 // --allow-root: run live as root without --user

    // Live IPFIX, standard input, followed logs (ipfix_listener.hpp, stream_source.hpp)
    std::vector<std::string> ipfix_listen;          // --ipfix-listen udp:ADDR:PORT / tcp:ADDR:PORT
    unsigned ipfix_template_timeout = 30 * 60;      // --ipfix-template-timeout SECONDS (UDP)
    std::vector<std::string> follow;                // --follow FILE
    bool standard_input() const { return inputs.size() == 1 && inputs.front() == "-"; } // "-"
};

// Parses the command line. Prints --help or --version and exits; throws
// usage_error for anything it refuses.
options parse_options(int argc, char** argv);

} // namespace sipdetect_cli
