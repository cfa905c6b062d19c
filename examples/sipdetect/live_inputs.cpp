// sipdetect command-line program: opening the live inputs.
#include "live_inputs.hpp"

#include "ipfix_listener.hpp"
#include "live_capture.hpp"
#include "reorder_source.hpp"
#include "stream_source.hpp"

#include <chrono>

namespace sipdetect_cli {

bool live_mode(const options& opt) { return faces_network(opt) || !opt.follow.empty() || opt.standard_input(); }

bool faces_network(const options& opt) { return !opt.interfaces.empty() || !opt.ipfix_listen.empty(); }

std::vector<std::unique_ptr<live_source>> open_live_sources(const options& opt) {
    std::vector<std::unique_ptr<live_source>> sources;
    const capture_settings capture{opt.bpf, opt.promiscuous};
    for (const std::string& interface : opt.interfaces) sources.push_back(open_live_capture(interface, capture));
    // Exports and logs are not in time order: put back in order as a file run does.
    for (const std::string& where : opt.ipfix_listen)
        sources.push_back(in_record_time(std::make_unique<ipfix_listener>(
            parse_ipfix_listen_address(where), std::chrono::seconds(opt.ipfix_template_timeout))));
    for (const std::string& log : opt.follow) sources.push_back(in_record_time(open_followed_log(log)));
    if (opt.standard_input()) sources.push_back(in_record_time(open_standard_input()));
    return sources;
}

} // namespace sipdetect_cli
