// sipdetect command-line program: which live inputs the options name, opened.
#pragma once

#include "live_source.hpp"
#include "options.hpp"

#include <memory>
#include <vector>

namespace sipdetect_cli {

// Whether the options name live inputs (the run goes through run_live).
bool live_mode(const options& opt);

// Whether a live input takes traffic from the network (a capture, a
// listener): such a run refuses root without --user or --allow-root.
bool faces_network(const options& opt);

// Opens every live input the options name. Throws input_exception for the
// first that cannot be opened.
std::vector<std::unique_ptr<live_source>> open_live_sources(const options& opt);

} // namespace sipdetect_cli
