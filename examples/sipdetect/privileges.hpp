// sipdetect command-line program: running live without root.
#pragma once

#include <optional>
#include <stdexcept>
#include <string>

namespace sipdetect_cli {

// Privileges could not be dropped (or not completely): the program must stop.
class privilege_error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// Becomes `user` for good: no supplementary groups, the user's group and
// uid as real, effective and saved ids. Leaving uid 0 clears every
// capability (capabilities(7)); that is then checked in /proc/self/status,
// as is that root cannot be regained. Throws privilege_error, saying why.
void drop_privileges(const std::string& user);

// For a process that is not root but holds capabilities (systemd's
// AmbientCapabilities=CAP_NET_RAW): gives up every capability, ambient,
// permitted, effective and inheritable, once the inputs are open, and checks
// it. Throws privilege_error, saying why.
void drop_capabilities();

// Why a live run that faces the network must not start, or nullopt: as root
// it needs --user (or --allow-root) so that hostile traffic is never parsed
// with root's privileges.
std::optional<std::string> root_refusal(bool has_user, bool allow_root);

} // namespace sipdetect_cli
