// sipdetect command-line program: opening the live inputs.
#include "live_inputs.hpp"

#include "live_capture.hpp"

namespace sipdetect_cli {

bool live_mode(const options& opt) { return faces_network(opt); }

bool faces_network(const options& opt) { return !opt.interfaces.empty(); }

std::vector<std::unique_ptr<live_source>> open_live_sources(const options& opt) {
    std::vector<std::unique_ptr<live_source>> sources;
    const capture_settings capture{opt.bpf, opt.promiscuous};
    for (const std::string& interface : opt.interfaces) sources.push_back(open_live_capture(interface, capture));
    return sources;
}

} // namespace sipdetect_cli
