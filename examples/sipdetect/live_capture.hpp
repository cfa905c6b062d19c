// sipdetect command-line program: live capture with libpcap (-i IFACE), a
// live_source that never blocks: the capture handle is non-blocking and its
// selectable descriptor is what the live loop waits on.
#pragma once

#include "live_source.hpp"

#include <memory>
#include <optional>
#include <string>

namespace sipdetect_cli {

// SIP over UDP and TCP on ports 5060 and 5061, and ICMP/ICMPv6 errors (the
// reader counts them, they are never analysed); on Ethernet also inside one
// VLAN tag.
std::string default_capture_filter(bool ethernet);

struct capture_settings {
    std::optional<std::string> filter; // BPF expression; default_capture_filter() when unset
    bool promiscuous = false;
};

// Opens and activates the capture on `interface`, sets its filter and makes
// it non-blocking. Needs CAP_NET_RAW (or root); throws input_exception, naming
// the interface, when libpcap refuses any of it.
std::unique_ptr<live_source> open_live_capture(const std::string& interface, const capture_settings& settings);

} // namespace sipdetect_cli
